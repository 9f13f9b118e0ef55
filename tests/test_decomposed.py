"""Decomposed distribution matching (ddm): style term, diversity term, and ddm == dm when off."""

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser
from condensekit.models import build_model
from condensekit.strategies.decomposed import (
    DecomposedDistributionMatching,
    diversity_kl,
    style_loss,
    style_statistics,
)

from .conftest import FAST


@pytest.fixture
def images(digits):
    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train, dtype=torch.float32)[:, None] / 16
    return X, torch.as_tensor(y_train)


def _net(seed=0, n_classes=10):
    gen = torch.Generator().manual_seed(seed)
    return build_model("convnet", (1, 8, 8), n_classes, generator=gen, width=16)


def test_style_statistics_match_a_per_class_loop(images):
    X, y = images
    maps = _net().forward_blocks(X[:200])[0]
    mean, std = style_statistics(maps, y[:200], 10)
    for c in (0, 4):
        ref = maps[y[:200] == c].mean(0)
        torch.testing.assert_close(mean[c], ref.mean((1, 2)))
        torch.testing.assert_close(std[c], ref.std((1, 2), correction=0))


def test_style_term_is_zero_for_equal_statistics_and_positive_otherwise(images):
    X, y = images
    net = _net().requires_grad_(False)
    real = net.forward_blocks(X[:300])
    assert float(style_loss(real, y[:300], real, y[:300], 10)) == 0.0
    # the same class-mean maps from a reordered batch: still zero
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    shuffled = net.forward_blocks(X[:300][perm])
    assert float(style_loss(real, y[:300], shuffled, y[:300][perm], 10)) < 1e-10
    other = net.forward_blocks(X[300:600])
    assert float(style_loss(real, y[:300], other, y[300:600], 10)) > 0


def test_style_needs_feature_maps():
    blocks = [torch.randn(10, 4)]
    with pytest.raises(ValueError, match="strategy__style_weight=0"):
        style_loss(blocks, torch.arange(10), blocks, torch.arange(10), 10)


def test_diversity_pushes_two_near_identical_samples_apart(images):
    X, y = images
    net = _net().requires_grad_(False)
    base = X[y == 3][:1]
    noise = 1e-3 * torch.randn(base.shape, generator=torch.Generator().manual_seed(0))
    x = torch.cat([base, base + noise]).requires_grad_(True)
    # identical samples: the divergence is exactly zero
    assert float(diversity_kl(net.embed(torch.cat([base, base])), ipc=2, k=1)) == 0.0
    opt = torch.optim.SGD([x], lr=1.0)
    start = float((net.embed(x[:1]) - net.embed(x[1:])).norm().detach())
    for _ in range(30):
        loss = -diversity_kl(net.embed(x), ipc=2, k=1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = float((net.embed(x[:1]) - net.embed(x[1:])).norm().detach())
    assert end > 10 * start, (start, end)


def test_diversity_uses_the_nearest_same_class_neighbours():
    # class 0: a, b close together and c far away; with k=1, a's neighbour is b (not c)
    e = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    got = diversity_kl(e, ipc=3, k=1)
    log_p = torch.log_softmax(e, -1)
    nb = torch.stack([e[1], e[0], e[1]])  # nearest of a is b, of b is a, of c is b
    log_q = torch.log_softmax(nb, -1)
    torch.testing.assert_close(got, (log_p.exp() * (log_p - log_q)).sum(-1).mean())
    assert float(diversity_kl(e[:1], ipc=1, k=1)) == 0.0


@pytest.mark.parametrize("term", ["style", "diversity"])
def test_gradients_reach_the_pixels_from_each_term(images, term):
    X, y = images
    net = _net().requires_grad_(False)
    x_syn = torch.cat([X[y == c][:3] for c in range(10)]).clone().requires_grad_(True)
    y_syn = torch.arange(10).repeat_interleave(3)
    if term == "style":
        real = net.forward_blocks(X[:300])
        loss = style_loss(real, y[:300], net.forward_blocks(x_syn), y_syn, 10)
    else:
        loss = -diversity_kl(net.embed(x_syn), ipc=3, k=1)
    loss.backward()
    assert x_syn.grad is not None and float(x_syn.grad.abs().sum()) > 0


def test_neighbour_count():
    ddm = DecomposedDistributionMatching()
    assert [ddm.neighbours(i) for i in (1, 2, 3, 10, 50)] == [1, 1, 1, 2, 10]
    assert DecomposedDistributionMatching(diversity_k=4).neighbours(10) == 4


def test_ddm_with_both_terms_off_is_exactly_dm(digits_small):
    X, y = digits_small
    common = {**FAST, "ipc": 2, "random_state": 3}
    dm = DatasetCondenser("dm", **common).fit(X, y)
    off = DatasetCondenser(
        "ddm", strategy__style_weight=0, strategy__diversity_weight=0, **common
    ).fit(X, y)
    on = DatasetCondenser("ddm", **common).fit(X, y)
    assert np.array_equal(dm.X_syn_, off.X_syn_) and np.array_equal(dm.history_, off.history_)
    assert not np.array_equal(dm.X_syn_, on.X_syn_)


@pytest.mark.parametrize(
    "weights", [{"strategy__style_weight": 0}, {"strategy__diversity_weight": 0}]
)
def test_each_term_alone_fits(digits_small, weights):
    X, y = digits_small
    cond = DatasetCondenser("ddm", **FAST, ipc=3, random_state=0, **weights).fit(X, y)
    assert cond.X_syn_.shape == (30, 8, 8) and np.isfinite(cond.X_syn_).all()


def test_style_on_rows_is_a_clear_error_and_leaves_no_state(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("ddm", ipc=1, max_iter=2, verbose=0, strategy__batch_real=4)
    with pytest.raises(ValueError, match="strategy__style_weight=0"):
        cond.fit(X.reshape(len(X), -1), y)
    assert not hasattr(cond, "X_syn_")
    fitted = DatasetCondenser(
        "ddm", ipc=2, max_iter=2, verbose=0, strategy__batch_real=4, strategy__style_weight=0
    ).fit(X.reshape(len(X), -1), y)
    assert fitted.X_syn_.shape == (20, 64)


def test_settings_are_validated(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__style_weight"):
        DatasetCondenser("ddm", **FAST, strategy__style_weight=-1).fit(X, y)
    with pytest.raises(ValueError, match="strategy__diversity_k"):
        DatasetCondenser("ddm", **FAST, strategy__diversity_k=0).fit(X, y)
    # more neighbours than a class has is refused, not silently reduced
    with pytest.raises(ValueError, match=r"strategy__diversity_k=3 .* ipc=2"):
        DatasetCondenser("ddm", **(FAST | {"ipc": 2}), strategy__diversity_k=3).fit(X, y)


def test_extra_loss_is_style_plus_minus_weighted_diversity():
    from types import SimpleNamespace

    gen = torch.Generator().manual_seed(0)
    e_syn = torch.randn(6, 5, generator=gen)  # 2 classes x ipc 3, grouped by class
    maps_syn = [torch.randn(6, 4, 3, 3, generator=gen)]
    maps_real = [torch.randn(8, 4, 3, 3, generator=gen)]
    y_syn, y_real = torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0] * 4 + [1] * 4)
    ctx = SimpleNamespace(ipc=3, device=torch.device("cpu"), data=SimpleNamespace(n_classes=2))
    ddm = DecomposedDistributionMatching(style_weight=7.0, diversity_weight=3.0, diversity_k=1)
    got = ddm.extra_loss((None, maps_real), y_real, (e_syn, maps_syn), y_syn, ctx)
    style = style_loss(maps_real, y_real, maps_syn, y_syn, 2)
    want = 7.0 * style - 3.0 * diversity_kl(e_syn, ipc=3, k=1)
    torch.testing.assert_close(got, want)
    assert float(diversity_kl(e_syn, ipc=3, k=1)) > 0  # the sign matters: diversity is rewarded
