"""The batched building blocks of the methods agree with plain per-class references."""

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser, register_method
from condensekit.augment import SiameseAugment
from condensekit.methods import METHODS
from condensekit.models import build_model
from condensekit.selection import SelectionStrategy, top_per_class
from condensekit.strategies import (
    DistributionMatching,
    FitContext,
    RealData,
    SyntheticSet,
    class_means,
)


@pytest.fixture
def real(digits):
    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train, dtype=torch.float32)[:, None] / 16
    return RealData(X, torch.as_tensor(y_train), 10)


def test_sample_per_class_draws_distinct_rows_of_each_class(real):
    gen = torch.Generator().manual_seed(0)
    rows, labels = real.sample_per_class(20, gen)
    assert len(rows) == 200 and len(torch.unique(rows)) == 200
    assert torch.equal(real.y[rows], labels)
    assert torch.equal(torch.bincount(labels), torch.full((10,), 20))
    # more than a class holds: every row of every class, once
    rows, labels = real.sample_per_class(10_000, gen)
    assert torch.equal(torch.sort(rows).values, torch.arange(len(real.y)))
    again = real.sample_per_class(20, torch.Generator().manual_seed(0))[0]
    assert torch.equal(again, real.sample_per_class(20, torch.Generator().manual_seed(0))[0])


def test_sample_per_class_is_uniform_within_a_class(real):
    # Chi-square of the hit counts of every row against the uniform expectation: close to 1 per
    # degree of freedom for a uniform sampler, far above for any biased one.
    gen = torch.Generator().manual_seed(1)
    draws, k = 300, 5
    hits = torch.zeros(len(real.y))
    for _ in range(draws):
        hits[real.sample_per_class(k, gen)[0]] += 1
    expected = draws * k / real.counts[real.y].double()
    chi2_per_dof = float(((hits - expected) ** 2 / expected).sum()) / (len(real.y) - 10)
    assert 0.8 < chi2_per_dof < 1.25
    # a sampler biased towards early rows of each class is caught by the same statistic
    biased = torch.zeros(len(real.y))
    for _ in range(draws):
        first = torch.cat([torch.nonzero(real.y == c).flatten()[: 2 * k] for c in range(10)])
        biased[first[torch.randperm(len(first), generator=gen)[: 10 * k]]] += 1
    assert float(((biased - expected) ** 2 / expected).sum()) / (len(real.y) - 10) > 5


def test_top_per_class_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(300, generator=gen)
    labels = torch.randint(0, 4, (300,), generator=gen)
    rows = top_per_class(scores, labels, 4, 7)
    expected = torch.cat(
        [
            torch.nonzero(labels == c).flatten()[
                torch.argsort(scores[labels == c], descending=True)[:7]
            ]
            for c in range(4)
        ]
    )
    assert torch.equal(rows, expected)


def test_class_means_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(50, 6, generator=gen)
    labels = torch.randint(0, 3, (50,), generator=gen)
    means = class_means(feats, labels, 3)
    for c in range(3):
        torch.testing.assert_close(means[c], feats[labels == c].mean(0))


def test_batched_dm_loss_equals_the_per_class_loop(real):
    # The DM paper's loss, written the slow way: one class at a time with its own augmentation
    # parameters, applied identically to the real and the synthetic batch.
    aug = SiameseAugment(flip=False)
    gen = torch.Generator().manual_seed(0)
    net = build_model("convnet", (1, 8, 8), 10, generator=gen, width=16).requires_grad_(False)
    syn = SyntheticSet(real.X[:30].clone(), torch.arange(10).repeat_interleave(3))
    ctx = FitContext(
        real, 3, 1, "real", torch.device("cpu"), torch.Generator().manual_seed(5), lambda: net, aug
    )
    loss = DistributionMatching(batch_real=12).loss(net, syn, ctx, 0, 0)

    replay = torch.Generator().manual_seed(5)  # the same draws, in the same order
    rows, y_real = real.sample_per_class(12, replay)
    params = aug.draw(10, replay, (8, 8))
    expected = 0.0
    for c in range(10):
        xr = real.X[rows[y_real == c]]
        xs = syn.X[syn.y == c]
        xr = aug(xr, params, torch.full((len(xr),), c))
        xs = aug(xs, params, torch.full((len(xs),), c))
        expected += ((net.embed(xr).mean(0) - net.embed(xs).mean(0)) ** 2).sum()
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-6)


class FirstRows(SelectionStrategy):
    """Keep the first rows of every class (a toy method registered from outside)."""

    def score(self, ctx):
        return -torch.arange(len(ctx.data.y), dtype=torch.float32, device=ctx.device)


def test_a_new_method_is_one_class_and_one_registration(digits_small, monkeypatch):
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))  # undone after the test
    register_method("first_rows", FirstRows)
    X, y = digits_small
    cond = DatasetCondenser("first_rows", ipc=2, verbose=0).fit(X, y)
    expected = np.concatenate([np.flatnonzero(y == c)[:2] for c in range(10)])
    np.testing.assert_array_equal(cond.sample_indices_, expected)
    with pytest.raises(ValueError, match="already registered"):
        register_method("first_rows", FirstRows)
    with pytest.raises(TypeError, match="subclass"):
        register_method("bad", object)
