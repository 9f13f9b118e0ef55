"""Selection baselines (prototype selection): random and herding."""

from .base import SelectionStrategy, top_per_class
from .herding import Herding, herding_order
from .random import RandomSelection

__all__ = ["Herding", "RandomSelection", "SelectionStrategy", "herding_order", "top_per_class"]
