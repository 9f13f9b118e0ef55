"""Augmentations usable while matching and while training networks on condensed sets."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone

from .._registry import Registry
from .dc import DCAugment
from .dsa import FAMILIES, AugmentParams, SiameseAugment

AUGMENTATIONS: Registry = Registry("augmentation")
AUGMENTATIONS.register("dsa", SiameseAugment)
AUGMENTATIONS.register("dc", DCAugment)


def build_augment(spec: Any, **kwargs: Any) -> SiameseAugment | None:
    """Turn an ``augment`` parameter into an augmentation object.

    Parameters
    ----------
    spec : None, str or object
        ``None`` for no augmentation, a registered name (``"dsa"``, ``"dc"``), or an object
        with ``draw`` and ``__call__`` (returned as is, after ``set_params(**kwargs)`` on a copy
        if given).
    **kwargs
        Constructor arguments (``flip=False``...), e.g. routed from ``augment__flip``.
    """
    if spec is None:
        if kwargs:
            raise ValueError(f"augment__ options {sorted(kwargs)} were given but augment=None.")
        return None
    if isinstance(spec, str):
        cls = AUGMENTATIONS.get(spec)
        unknown = sorted(set(kwargs) - set(cls._get_param_names()))
        if unknown:
            raise ValueError(
                f"Augmentation {spec!r} has no setting {unknown[0]!r} (given as "
                f"augment__{unknown[0]}); its settings are {cls._get_param_names()}."
            )
        aug = cls(**kwargs)
    elif kwargs:
        aug = clone(spec).set_params(**kwargs)
    else:
        aug = spec
    validate = getattr(aug, "validate", None)
    return validate() if callable(validate) else aug


__all__ = [
    "AUGMENTATIONS",
    "FAMILIES",
    "AugmentParams",
    "DCAugment",
    "SiameseAugment",
    "build_augment",
]
