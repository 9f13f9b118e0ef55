"""Selection baselines (prototype selection): random, herding, k-center, EL2N, GraNd and
forgetting events."""

from .base import SelectionStrategy, top_per_class
from .el2n import EL2N, GraNd, el2n, grad_norms
from .forgetting import Forgetting, count_forgetting
from .herding import Herding, KCenter, herding_order, k_center_order
from .random import RandomSelection

__all__ = [
    "EL2N",
    "Forgetting",
    "GraNd",
    "Herding",
    "KCenter",
    "RandomSelection",
    "SelectionStrategy",
    "count_forgetting",
    "el2n",
    "grad_norms",
    "herding_order",
    "k_center_order",
    "top_per_class",
]
