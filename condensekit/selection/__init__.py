"""Selection baselines (prototype selection): random, herding, k-center, EL2N, GraNd and
forgetting events."""

from .base import ORDERS, ScoreSelection, SelectionStrategy, order_keys, top_per_class
from .el2n import EL2N, GraNd, el2n, grad_norms
from .forgetting import Forgetting, count_forgetting
from .helpers import HelperCost, train_helper
from .herding import Herding, KCenter, herding_order, k_center_order
from .random import RandomSelection

__all__ = [
    "EL2N",
    "ORDERS",
    "Forgetting",
    "GraNd",
    "HelperCost",
    "Herding",
    "KCenter",
    "RandomSelection",
    "ScoreSelection",
    "SelectionStrategy",
    "count_forgetting",
    "el2n",
    "grad_norms",
    "herding_order",
    "k_center_order",
    "order_keys",
    "top_per_class",
    "train_helper",
]
