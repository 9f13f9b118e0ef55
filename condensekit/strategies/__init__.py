"""Matching strategies: one family per module, registered by name in :mod:`condensekit.methods`."""

from .base import (
    CondensedResult,
    FitContext,
    MatchingStrategy,
    Method,
    RealData,
    SyntheticSet,
    class_means,
)
from .distribution import DistributionMatching

__all__ = [
    "CondensedResult",
    "DistributionMatching",
    "FitContext",
    "MatchingStrategy",
    "Method",
    "RealData",
    "SyntheticSet",
    "class_means",
]
