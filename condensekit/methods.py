"""The registry of method names accepted by ``DatasetCondenser(method=...)``.

Adding a method is one module plus one line here (or a call to :func:`register_method` from
outside the package).
"""

from __future__ import annotations

from ._registry import Registry
from .selection.el2n import EL2N, GraNd
from .selection.forgetting import Forgetting
from .selection.herding import Herding, KCenter
from .selection.random import RandomSelection
from .strategies.base import Method
from .strategies.decomposed import DecomposedDistributionMatching
from .strategies.distribution import DistributionMatching
from .strategies.generative import GenerativeMatching
from .strategies.gradient import DCC, DSA, DSADCC, GradientMatching

METHODS: Registry = Registry("method")
METHODS.register("dc", GradientMatching)
METHODS.register("dsa", DSA)
METHODS.register("dcc", DCC)
METHODS.register("dsa_dcc", DSADCC)
METHODS.register("dm", DistributionMatching)
METHODS.register("ddm", DecomposedDistributionMatching)
METHODS.register("generative", GenerativeMatching)
METHODS.register("random", RandomSelection)
METHODS.register("herding", Herding)
METHODS.register("el2n", EL2N)
METHODS.register("grand", GraNd)
METHODS.register("kcenter", KCenter)
METHODS.register("forgetting", Forgetting)


def list_methods() -> list[str]:
    """Names accepted by ``DatasetCondenser(method=...)``."""
    return METHODS.names()


def register_method(name: str, cls: type[Method]) -> type[Method]:
    """Register a :class:`~condensekit.strategies.Method` subclass under ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(
            f"A method must be a subclass of condensekit.strategies.Method, got {cls!r}."
        )
    return METHODS.register(name, cls)
