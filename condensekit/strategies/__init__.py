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
from .decomposed import DecomposedDistributionMatching
from .distribution import DistributionMatching
from .generative import GenerativeMatching, GeneratorSet
from .gradient import DCC, DSA, DSADCC, GradientMatching

__all__ = [
    "DCC",
    "DSA",
    "DSADCC",
    "CondensedResult",
    "DecomposedDistributionMatching",
    "DistributionMatching",
    "FitContext",
    "GenerativeMatching",
    "GeneratorSet",
    "GradientMatching",
    "MatchingStrategy",
    "Method",
    "RealData",
    "SyntheticSet",
    "class_means",
]
