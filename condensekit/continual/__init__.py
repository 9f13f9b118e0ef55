"""Continual learning with condensed sets as replay memory: :class:`ClassIncrementalBenchmark`
runs the class-incremental protocol with any registered method and gives a
:class:`ContinualResult` (per-step tables, JSON and a plot)."""

from .benchmark import ClassIncrementalBenchmark
from .result import ContinualResult

__all__ = ["ClassIncrementalBenchmark", "ContinualResult"]
