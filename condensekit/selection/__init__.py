"""Selection baselines (prototype selection): random, herding, k-center, EL2N and GraNd."""

from .base import SelectionStrategy, top_per_class
from .el2n import EL2N, GraNd, el2n, grad_norms
from .herding import Herding, KCenter, herding_order, k_center_order
from .random import RandomSelection

__all__ = [
    "EL2N",
    "GraNd",
    "Herding",
    "KCenter",
    "RandomSelection",
    "SelectionStrategy",
    "el2n",
    "grad_norms",
    "herding_order",
    "k_center_order",
    "top_per_class",
]
