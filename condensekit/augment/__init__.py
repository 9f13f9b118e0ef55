"""Augmentations usable while matching and while training networks on condensed sets."""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .dsa import FAMILIES, AugmentParams, SiameseAugment

AUGMENTATIONS: Registry = Registry("augmentation")
AUGMENTATIONS.register("dsa", SiameseAugment)


def build_augment(spec: Any, **kwargs: Any) -> SiameseAugment | None:
    """Turn an ``augment`` parameter into an augmentation object.

    Parameters
    ----------
    spec : None, str or object
        ``None`` for no augmentation, a registered name (``"dsa"``), or an object with ``draw``
        and ``__call__`` (returned as is, after ``set_params(**kwargs)`` on a copy if given).
    **kwargs
        Constructor arguments (``flip=False``...), e.g. routed from ``augment__flip``.
    """
    if spec is None:
        if kwargs:
            raise ValueError(f"augment__ options {sorted(kwargs)} were given but augment=None.")
        return None
    if isinstance(spec, str):
        return AUGMENTATIONS.get(spec)(**kwargs)
    if kwargs:
        from sklearn.base import clone

        return clone(spec).set_params(**kwargs)
    return spec


__all__ = ["AUGMENTATIONS", "FAMILIES", "AugmentParams", "SiameseAugment", "build_augment"]
