"""DD-Ranking-style scores: a set beside a random subset of the same size and the full data."""

from __future__ import annotations

import numpy as np
import pytest

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit.evaluation import Comparison, EvaluationResult

FAST = {"n_models": 1, "epochs": 5, "random_state": 0, "model__width": 8}


def test_the_random_subset_has_the_sets_class_sizes_and_protocol(digits, monkeypatch):
    X, X_test, y, y_test = digits
    cond = DatasetCondenser("dm", ipc=2, max_iter=2, verbose=0, random_state=0).fit(X, y)
    scored = []
    evaluate = CondensedEvaluator.evaluate

    def spy(self, condensed, Xt, yt, **kw):
        result = evaluate(self, condensed, Xt, yt, **kw)
        scored.append((condensed, self.protocol, result))
        return result

    monkeypatch.setattr(CondensedEvaluator, "evaluate", spy)
    comparison = CondensedEvaluator(**FAST).compare(cond, X, y, X_test, y_test, full=True)
    assert isinstance(comparison, Comparison) and len(scored) == 3
    subset = scored[1][0]
    assert subset.method == "random"
    assert sorted(np.unique(subset.y_syn_, return_counts=True)[1]) == [2] * 10
    assert all(row in X for row in subset.X_syn_)  # real rows
    assert scored[2][0][0] is X and len(scored[2][0][1]) == len(y)  # the full training set
    assert comparison.improvement_over_random == pytest.approx(
        comparison.condensed.mean - comparison.random.mean
    )
    assert comparison.gap_to_full == pytest.approx(comparison.full.mean - comparison.condensed.mean)
    assert set(comparison.to_dict()) >= {"improvement_over_random", "gap_to_full", "random"}
    assert "random subset of the same size" in str(comparison)


@pytest.mark.parametrize(
    ("method", "protocol", "resolved"),
    [("dc", "paper", "dc"), ("dm", "paper", "dsa"), ("dm", "plain", "plain")],
)
def test_one_protocol_scores_the_set_its_subset_and_the_full_data(
    digits, monkeypatch, method, protocol, resolved
):
    X, X_test, y, y_test = digits
    cond = DatasetCondenser(method, ipc=1, max_iter=1, verbose=0, random_state=0).fit(X, y)
    used = []

    def fake_run(self, X_train, y_train, X_eval, y_eval, layout, n_classes, device, protocol=None):
        used.append(protocol.name)  # no network trained: only the plumbing is tested here
        return EvaluationResult(0.5, 0.0, [0.5], protocol=protocol.name)

    monkeypatch.setattr(CondensedEvaluator, "_run", fake_run)
    comparison = CondensedEvaluator(protocol=protocol, n_models=1).compare(
        cond, X, y, X_test, y_test, full=True
    )
    # dm's paper protocol is "dsa": the subset (made by random, whose own would be "dc") and
    # the full data are scored under it too
    assert used == [resolved] * 3
    assert comparison.random.protocol == resolved and comparison.gap_to_full == 0.0


def test_soft_labels_train_on_a_teachers_softened_logits(digits):
    X, X_test, y, y_test = digits
    cond = DatasetCondenser("random", ipc=5, random_state=0, verbose=0).fit(X, y)
    ev = CondensedEvaluator(**FAST)
    hard = ev.evaluate(cond, X_test, y_test)
    onehot = np.eye(10)[np.searchsorted(cond.classes_, cond.y_syn_)]
    # a teacher as sure as the labels gives the hard-label networks, bit for bit
    sure = ev.evaluate(cond, X_test, y_test, soft_labels=1e4 * onehot)
    assert sure.labels == "soft" and hard.labels == "hard" and "soft labels" in str(sure)
    assert sure.accuracies == hard.accuracies
    flat = ev.evaluate(cond, X_test, y_test, soft_labels=np.zeros((50, 10)))
    assert flat.accuracies != hard.accuracies  # uniform targets teach nothing of the classes
    with pytest.raises(ValueError, match=r"one row of 10 logits per condensed sample, shape"):
        ev.evaluate(cond, X_test, y_test, soft_labels=np.zeros((49, 10)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        ev.evaluate(cond, X_test, y_test, soft_labels=np.full((50, 10), np.nan))
    with pytest.raises(ValueError, match="temperature"):
        ev.evaluate(cond, X_test, y_test, soft_labels=onehot, temperature=0)
