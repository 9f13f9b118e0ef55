"""DD-Ranking-style scores: a condensed set against a random real subset of the same size under
the same protocol, and against the full training set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone

from ..condenser import DatasetCondenser
from .inputs import condensed_parts
from .results import EvaluationResult

if TYPE_CHECKING:  # the evaluator calls this module; it only names its type
    from .evaluator import CondensedEvaluator


@dataclass
class Comparison:
    """A condensed set's accuracy beside a random subset's and the full training set's.

    Attributes
    ----------
    condensed, random : EvaluationResult
        The set, and a random real subset with as many samples of every class, scored by the
        same evaluator under the same protocol (the networks' seeds too).
    full : EvaluationResult or None
        Networks trained on the whole training set under that protocol, when asked for.
    """

    condensed: EvaluationResult
    random: EvaluationResult
    full: EvaluationResult | None = None

    @property
    def improvement_over_random(self) -> float:
        """Mean accuracy of the set minus that of the random subset (DD-Ranking's IOR)."""
        return self.condensed.mean - self.random.mean

    @property
    def gap_to_full(self) -> float | None:
        """Mean accuracy of the full training set minus that of the set (how much the
        condensation loses; DD-Ranking's HLR), None without ``full``."""
        return None if self.full is None else self.full.mean - self.condensed.mean

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return {
            "condensed": self.condensed.to_dict(),
            "random": self.random.to_dict(),
            "full": None if self.full is None else self.full.to_dict(),
            "improvement_over_random": self.improvement_over_random,
            "gap_to_full": self.gap_to_full,
        }

    def __str__(self) -> str:
        gain = 100 * self.improvement_over_random
        text = (
            f"condensed {100 * self.condensed.mean:.2f} %, random subset of the same size "
            f"{100 * self.random.mean:.2f} % (improvement {gain:+.2f})"
        )
        if self.full is not None:
            text += f", full data {100 * self.full.mean:.2f} % (gap {100 * self.gap_to_full:.2f})"
        return text


def compare(
    evaluator: CondensedEvaluator,
    condensed: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    full: bool = False,
    random_state: int | None = 0,
) -> Comparison:
    """Score ``condensed``, a random subset of ``X_train`` with its per-class sizes, and (with
    ``full``) the whole of ``X_train``, all with ``evaluator`` under the protocol it resolves for
    the set; see :meth:`CondensedEvaluator.compare`."""
    result = evaluator.evaluate(condensed, X_test, y_test)
    # the set's resolved protocol ("paper" -> "dsa", say), by name, for the subset and full data
    same = evaluator
    if result.protocol != "default":
        same = clone(evaluator).set_params(protocol=result.protocol)
    _, y_syn, *_ = condensed_parts(condensed, X_test, None)
    labels, counts = np.unique(np.asarray(y_syn), return_counts=True)
    subset = DatasetCondenser(
        "random",
        ipc={label.item(): int(n) for label, n in zip(labels, counts, strict=True)},
        random_state=random_state,
        verbose=0,
    ).fit(X_train, y_train)
    random = same.evaluate(subset, X_test, y_test)
    whole = same.evaluate((X_train, y_train), X_test, y_test) if full else None
    return Comparison(result, random, whole)
