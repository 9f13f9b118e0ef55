"""Selection baselines (prototype selection): random, herding, EL2N and GraNd."""

from .base import SelectionStrategy, top_per_class
from .el2n import EL2N, GraNd, el2n, grad_norms
from .herding import Herding, herding_order
from .random import RandomSelection

__all__ = [
    "EL2N",
    "GraNd",
    "Herding",
    "RandomSelection",
    "SelectionStrategy",
    "el2n",
    "grad_norms",
    "herding_order",
    "top_per_class",
]
