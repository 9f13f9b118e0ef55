"""Selection baselines (prototype selection): random, and more to come."""

from .base import SelectionStrategy, top_per_class
from .random import RandomSelection

__all__ = ["RandomSelection", "SelectionStrategy", "top_per_class"]
