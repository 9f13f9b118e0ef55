"""Evaluation protocol: the one training loop and CondensedEvaluator."""

from .evaluator import CondensedEvaluator, EvaluationResult
from .training import accuracy, train_network

__all__ = ["CondensedEvaluator", "EvaluationResult", "accuracy", "train_network"]
