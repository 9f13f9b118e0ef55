"""Selection baselines (prototype selection): random, herding and EL2N."""

from .base import SelectionStrategy, top_per_class
from .el2n import EL2N, el2n
from .herding import Herding, herding_order
from .random import RandomSelection

__all__ = [
    "EL2N",
    "Herding",
    "RandomSelection",
    "SelectionStrategy",
    "el2n",
    "herding_order",
    "top_per_class",
]
