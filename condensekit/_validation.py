"""Declarative parameter validation.

Every public estimator and strategy declares its allowed parameter values as data in a
``_parameter_constraints`` table (the scikit-learn pattern); :func:`validate_params` checks a
parameter dictionary against it and raises :class:`InvalidParameterError`, whose message names
the parameter, the accepted values and the value received.  Only public APIs are used, so this
does not depend on scikit-learn's private validation helpers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value outside its declared constraints.

    Subclasses both ``ValueError`` and ``TypeError`` (like scikit-learn's error of the same name),
    so callers may catch either.
    """


class Constraint:
    """Base class of a constraint: ``is_satisfied_by`` and a readable ``__str__``."""

    def is_satisfied_by(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of ``type`` in ``[left, right]`` (``None`` means unbounded).

    ``closed`` is one of "both", "left", "right", "neither".
    """

    type: type
    left: float | None
    right: float | None
    closed: str = "both"

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.type is Integral and not isinstance(value, Integral):
            return False
        if self.type is Real and not isinstance(value, Real):
            return False
        if value != value or value in (math.inf, -math.inf):  # no setting is NaN or infinite
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        kind = "an int" if self.type is Integral else "a finite float"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        left = "-inf" if self.left is None else self.left
        right = "inf" if self.right is None else self.right
        return f"{kind} in the range {lb}{left}, {right}{rb}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (typically strings)."""

    values: tuple

    def __init__(self, values: Iterable) -> None:
        object.__setattr__(self, "values", tuple(values))

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(value in self.values)
        except (TypeError, ValueError):  # unhashable, or an array's ambiguous truth value
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Dynamic(Constraint):
    """Options computed when validating (for instance the names in a registry)."""

    values: Callable[[], Iterable]
    description: str = ""

    def is_satisfied_by(self, value: Any) -> bool:
        return Options(self.values()).is_satisfied_by(value)

    def __str__(self) -> str:
        return self.description or str(Options(self.values()))


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of one of ``types``."""

    types: tuple
    description: str = ""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def __str__(self) -> str:
        if self.description:
            return self.description
        return "an instance of " + " or ".join(t.__name__ for t in self.types)


@dataclass(frozen=True)
class Check(Constraint):
    """Any value for which ``predicate`` returns True."""

    predicate: Callable[[Any], bool]
    description: str

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # a predicate that cannot handle the value rejects it
            return False

    def __str__(self) -> str:
        return self.description


NONE = Options([None])
BOOLEAN = InstanceOf((bool,), "a bool")


def _is_random_state(value: Any) -> bool:

    if value is None or isinstance(value, np.random.RandomState):
        return True
    # ints up to 2**63 - 1: every seed_ a fit reports (63 bits) can be passed back
    return isinstance(value, Integral) and not isinstance(value, bool) and 0 <= value < 2**63


RANDOM_STATE = Check(
    _is_random_state, "None, an int in [0, 2**63 - 1] or a numpy.random.RandomState"
)


def validate_params(
    owner: str,
    params: Mapping[str, Any],
    constraints: Mapping[str, list[Constraint]],
    prefix: str = "",
) -> None:
    """Check every parameter in ``params`` that has constraints.

    Parameters
    ----------
    owner : str
        Name used in the message, e.g. ``"DatasetCondenser"``.
    params : mapping
        Parameter names and values.
    constraints : mapping
        Parameter name -> list of constraints; a value passes if any constraint accepts it.
    prefix : str, default=""
        Put before the parameter name in the message (``"strategy__"`` for routed settings).

    Raises
    ------
    InvalidParameterError
        For the first parameter that satisfies none of its constraints.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(c.is_satisfied_by(value) for c in allowed):
            continue
        accepted = " or ".join(str(c) for c in allowed)
        raise InvalidParameterError(
            f"The {prefix + name!r} parameter of {owner} must be {accepted}. Got {value!r} instead."
        )


def is_shape(value: Any) -> bool:
    """A tuple or list ``(H, W)`` or ``(C, H, W)`` of positive ints."""
    return (
        isinstance(value, (tuple, list))
        and len(value) in (2, 3)
        and all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in value)
    )


def is_fraction(value: Any) -> bool:
    """A float (not an int) in (0, 1]: a budget as a fraction of every class."""
    return isinstance(value, Real) and not isinstance(value, Integral) and 0 < value <= 1


def is_augment(value: Any) -> bool:
    """An augmentation object: callable, with ``draw()``."""
    return callable(value) and hasattr(value, "draw")
