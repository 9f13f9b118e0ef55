"""A new method is one class and one registration: a matching strategy and a selection written
here, outside the package, work with fit, transform, save, load, the evaluator, the selector
estimators and the benchmark runner. docs/writing_a_method.md walks through these two classes.
"""

from __future__ import annotations

import json
import logging
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pytest
import torch

from condensekit import (
    SELECTORS,
    CondensedEvaluator,
    DatasetCondenser,
    load_condensed,
    register_method,
)
from condensekit._validation import Interval
from condensekit.benchmark import budget_settings, run_benchmark
from condensekit.methods import METHODS
from condensekit.selection import SelectionStrategy
from condensekit.strategies import MatchingStrategy, class_means


class MeanMatching(MatchingStrategy):
    """Match every class's mean embedding under a fresh random network, without augmentation.

    Parameters
    ----------
    lr_syn : float, default=0.5
        Learning rate of SGD on the synthetic pixels.
    momentum_syn : float, default=0.5
        Momentum of that SGD.
    batch_real : int, default=64
        Real samples per class per iteration.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lr_syn": [Interval(Real, 0, None, closed="neither")],
        "momentum_syn": [Interval(Real, 0, 1, closed="left")],
        "batch_real": [Interval(Integral, 1, None, closed="left")],
    }
    paper_max_iter: ClassVar[int] = 200
    budget_family: ClassVar[str | None] = "distribution"

    def __init__(self, lr_syn: float = 0.5, momentum_syn: float = 0.5, batch_real: int = 64):
        self.lr_syn = lr_syn
        self.momentum_syn = momentum_syn
        self.batch_real = batch_real

    def make_network(self, ctx):
        return ctx.make_network().requires_grad_(False)

    def loss(self, net, syn, ctx, iteration, step):
        rows, y_real = ctx.data.sample_per_class(self.batch_real, ctx.generator)
        X_syn, y_syn = syn.samples()
        n = ctx.data.n_classes
        with torch.no_grad():
            real = class_means(net.embed(ctx.data.gather(rows)), y_real, n)
        fake = class_means(net.embed(X_syn), y_syn, n)
        return ((real - fake) ** 2).sum()


class Farthest(SelectionStrategy):
    """Keep the samples of every class farthest from its mean (in the normalised inputs).

    Parameters
    ----------
    power : float, default=2.0
        Exponent of the distance (any positive value keeps the same rows).
    """

    _parameter_constraints: ClassVar[dict] = {"power": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, power: float = 2.0) -> None:
        self.power = power

    def score(self, ctx):
        X, y = ctx.data.X.flatten(1), ctx.data.y
        means = class_means(X, y, ctx.data.n_classes)
        return (X - means[y]).norm(dim=1) ** self.power


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))  # undone after the test
    register_method("mean_matching", MeanMatching)
    register_method("farthest", Farthest)


FAST = {"verbose": 0, "model__width": 16, "augment__flip": False}


def test_a_new_matching_strategy_works_end_to_end(plugins, digits, tmp_path):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser(
        "mean_matching", ipc=2, max_iter=30, random_state=0, strategy__batch_real=32, **FAST
    ).fit(X_train, y_train)
    X_syn, _ = cond.transform()
    assert X_syn.shape == (20, 8, 8) and cond.n_iter_ == 30
    start = DatasetCondenser("mean_matching", ipc=2, max_iter=1, random_state=0, **FAST)
    assert not np.allclose(start.fit(X_train, y_train).X_syn_, X_syn)  # it learned
    assert cond.history_["loss"][-5:].mean() < cond.history_["loss"][:5].mean()
    with pytest.raises(ValueError, match="strategy__lr_syn"):
        DatasetCondenser("mean_matching", strategy__lr_syn=-1, **FAST).fit(X_train, y_train)
    loaded = load_condensed(cond.save(tmp_path / "mine"))
    np.testing.assert_array_equal(loaded.X, X_syn)
    assert loaded.metadata["method"] == "mean_matching"
    ev = CondensedEvaluator(n_models=1, epochs=30, random_state=0, model__width=16)
    assert ev.evaluate(loaded, X_test, y_test).mean > 0.5
    assert budget_settings("quick", "mean_matching", "digits", 2)["max_iter"] == 1000


def test_a_new_selection_works_end_to_end(plugins, digits, tmp_path):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("farthest", ipc=3, random_state=0, verbose=0).fit(X_train, y_train)
    X = X_train.reshape(len(X_train), -1).astype(float)
    for c in range(10):  # the rows kept are the farthest from their class mean
        rows = np.flatnonzero(y_train == c)
        dist = np.linalg.norm(X[rows] - X[rows].mean(0), axis=1)
        kept = cond.sample_indices_[y_train[cond.sample_indices_] == c]
        assert dist[np.searchsorted(rows, kept)].min() >= np.sort(dist)[-3] - 1e-6
    selector = SELECTORS["farthest"](ipc=3, power=1.0, random_state=0, verbose=0)
    np.testing.assert_array_equal(
        selector.fit(X_train, y_train).sample_indices_, cond.sample_indices_
    )
    loaded = load_condensed(cond.save(tmp_path / "kept"))
    np.testing.assert_array_equal(loaded.sample_indices, cond.sample_indices_)
    ev = CondensedEvaluator(n_models=1, epochs=30, random_state=0, model__width=16)
    assert ev.evaluate(cond, X_test, y_test).mean > 0.3


def test_the_benchmark_runner_runs_both(plugins, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="condensekit"):
        rows = run_benchmark(
            ["digits"],
            ["farthest", "mean_matching"],
            [1],
            n_models=1,
            epochs=10,
            overrides={"*": {"model__width": 16}, "mean_matching": {"max_iter": 5}},
            out_dir=tmp_path,
            verbose=0,
        )
    assert [r["method"] for r in rows] == ["farthest", "mean_matching"]
    assert all(0 < r["acc_mean"] <= 1 for r in rows)
    cells = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert cells[1]["settings"]["strategy__lr_syn"] == 1.0  # the distribution family's


class NoFamily(MeanMatching):
    """A strategy that declares no budget family."""

    budget_family: ClassVar[str | None] = None


def test_budgets_come_from_the_declared_family(plugins, monkeypatch, caplog):
    register_method("no_family", NoFamily)
    with caplog.at_level(logging.INFO, logger="condensekit"):
        assert budget_settings("quick", "no_family", "digits", 1) == {}
    assert "declares no budget family" in caplog.text
    monkeypatch.setattr(NoFamily, "budget_family", "astrology")
    with pytest.raises(ValueError, match="astrology"):
        budget_settings("quick", "no_family", "digits", 1)
