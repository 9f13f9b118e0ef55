"""A small name -> object registry that refuses duplicate names.

Methods, models and augmentations are looked up by name through registries, so adding a new one
is one module plus one ``register`` call, and the accepted names used in error messages and in
parameter validation are always derived from what is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Map names to objects (usually classes or factories).

    Parameters
    ----------
    kind : str
        What the registry holds ("method", "model", ...); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        Raises
        ------
        ValueError
            If ``name`` is already registered.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"A {self.kind} name must be a non-empty string, got {name!r}.")

        def _add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"A {self.kind} named {name!r} is already registered.")
            self._items[name] = item
            return item

        return _add if obj is None else _add(obj)

    def get(self, name: str) -> T:
        """Return the object registered under ``name``.

        Raises
        ------
        ValueError
            If ``name`` is unknown; the message lists the registered names.
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ValueError(
                f"Unknown {self.kind} {name!r}; expected one of {self.names()}."
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
