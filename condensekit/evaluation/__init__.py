"""Evaluation protocol: CondensedEvaluator and the papers' protocols (the training loop it uses
lives beside the models, :mod:`condensekit.models.training`)."""

from .compare import Comparison
from .evaluator import CondensedEvaluator
from .results import EvaluationResult

__all__ = ["Comparison", "CondensedEvaluator", "EvaluationResult"]
