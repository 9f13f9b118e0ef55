"""Decomposed distribution matching (ddm): style term, diversity term, and ddm == dm when off."""

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser
from condensekit.models import build_model
from condensekit.strategies.decomposed import (
    DecomposedDistributionMatching,
    diversity_kl,
    gram_statistics,
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
        torch.testing.assert_close(std[c], (ref.var((1, 2)) + 1e-5).sqrt())


def _tiny_net():
    """ConvNet-1, 2 channels, on 1x4x4 images, with weights set by hand."""
    net = build_model("convnet", (1, 4, 4), 2, generator=torch.Generator(), width=2, depth=1)
    conv = net.blocks[0][0]
    with torch.no_grad():
        conv.weight.copy_(torch.linspace(-1, 1, conv.weight.numel()).view_as(conv.weight))
        conv.bias.copy_(torch.tensor([0.1, -0.2]))
    return net.requires_grad_(False)


def _by_hand(net, x):
    """The tiny net's normalised and activated maps, with numpy."""
    w = net.blocks[0][0].weight.numpy().astype(np.float64)
    b = net.blocks[0][0].bias.numpy().astype(np.float64)
    xp = np.pad(x.numpy().astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, _, h, wd = x.shape
    conv = np.zeros((n, 2, h, wd))
    for i in range(h):
        for j in range(wd):
            patch = xp[:, :, i : i + 3, j : j + 3]  # (n, 1, 3, 3)
            conv[:, :, i, j] = np.einsum("nkab,ckab->nc", patch, w) + b
    mu = conv.mean((2, 3), keepdims=True)
    var = conv.var((2, 3), keepdims=True)  # instance norm: biased variance, eps 1e-5
    normed = (conv - mu) / np.sqrt(var + 1e-5)
    return normed, np.maximum(normed, 0)


def test_style_statistics_equal_a_hand_computed_reference_on_a_tiny_network():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 4, 4, generator=gen)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    net = _tiny_net()
    normed, active = _by_hand(net, x)
    emb, maps = net.forward_taps(x, "activation")
    np.testing.assert_allclose(maps[0].numpy(), active, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.forward_taps(x, "norm")[1][0].numpy(), normed, atol=1e-4)
    pooled = active.reshape(6, 2, 2, 2, 2, 2).mean((3, 5))
    np.testing.assert_allclose(net.forward_taps(x, "block")[1][0].numpy(), pooled, atol=1e-5)
    np.testing.assert_allclose(emb.numpy(), pooled.reshape(6, -1), atol=1e-5)
    torch.testing.assert_close(emb, net.embed(x))
    # statistics of each class's mean map: spatial mean and sqrt(unbiased variance + 1e-5)
    mean, std = style_statistics(maps[0], labels, 2)
    for c in (0, 1):
        m = active[labels.numpy() == c].mean(0).reshape(2, -1)
        np.testing.assert_allclose(mean[c].numpy(), m.mean(1), rtol=1e-5)
        np.testing.assert_allclose(std[c].numpy(), np.sqrt(m.var(1, ddof=1) + 1e-5), rtol=1e-4)
    # instance statistics: every sample's own, averaged over its class
    mean_s, std_s = style_statistics(maps[0], labels, 2, over="samples")
    for c in (0, 1):
        m = active[labels.numpy() == c].reshape(3, 2, -1)
        np.testing.assert_allclose(mean_s[c].numpy(), m.mean(2).mean(0), rtol=1e-5)
        want_sd = np.sqrt(m.var(2, ddof=1) + 1e-5).mean(0)
        np.testing.assert_allclose(std_s[c].numpy(), want_sd, rtol=1e-4)
    # the loss against a second batch: half the sum over classes of half the two mean squares
    x2 = torch.rand(6, 1, 4, 4, generator=gen)
    active2 = _by_hand(net, x2)[1]
    want = 0.0
    for c in (0, 1):
        a = active[labels.numpy() == c].mean(0).reshape(2, -1)
        s = active2[labels.numpy() == c].mean(0).reshape(2, -1)
        dmu = ((a.mean(1) - s.mean(1)) ** 2).mean()
        dsd = ((np.sqrt(a.var(1, ddof=1) + 1e-5) - np.sqrt(s.var(1, ddof=1) + 1e-5)) ** 2).mean()
        want += 0.5 * (dmu + dsd)
    got = style_loss(maps, labels, net.forward_taps(x2, "activation")[1], labels, 2)
    np.testing.assert_allclose(float(got), 0.5 * want, rtol=1e-4)
    # gram: class mean of F F^T / (C H W), squared differences summed
    gram = gram_statistics(maps[0], labels, 2)
    f = active.reshape(6, 2, -1)
    g = np.einsum("nci,ndi->ncd", f, f) / (2 * 16)
    np.testing.assert_allclose(gram[1].numpy(), g[labels.numpy() == 1].mean(0), rtol=1e-4)
    f2 = active2.reshape(6, 2, -1)
    g2 = np.einsum("nci,ndi->ncd", f2, f2) / (2 * 16)
    want = sum(
        ((g[labels.numpy() == c].mean(0) - g2[labels.numpy() == c].mean(0)) ** 2).sum()
        for c in (0, 1)
    )
    got = style_loss(maps, labels, net.forward_taps(x2, "activation")[1], labels, 2, "gram")
    np.testing.assert_allclose(float(got), 0.5 * want, rtol=1e-4)


def test_taps_are_validated_and_the_mlp_has_no_norm_tap():
    with pytest.raises(ValueError, match="tap must be one of"):
        _tiny_net().forward_taps(torch.zeros(1, 1, 4, 4), "pool")
    mlp = build_model("mlp", (5,), 2, generator=torch.Generator())
    emb, outs = mlp.forward_taps(torch.zeros(3, 5), "activation")
    assert emb.shape == (3, mlp.embed_dim) and len(outs) == 2
    with pytest.raises(ValueError, match="no normalisation"):
        mlp.forward_taps(torch.zeros(3, 5), "norm")


def test_style_statistics_refuse_single_pixel_maps():
    with pytest.raises(ValueError, match="at least 2 pixels"):
        style_statistics(torch.zeros(4, 3, 1, 1), torch.tensor([0, 0, 1, 1]), 2)


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
    assert [ddm.neighbours(i) for i in (1, 2, 3, 10, 50)] == [1, 1, 2, 2, 2]
    assert DecomposedDistributionMatching(diversity_k=4).neighbours(10) == 4


def test_diversity_is_summed_over_classes_and_averaged_within_one():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    both = diversity_kl(torch.cat([a, b]), ipc=4, k=2)
    torch.testing.assert_close(both, diversity_kl(a, 4, 2) + diversity_kl(b, 4, 2))
    # a class of identical samples adds nothing
    torch.testing.assert_close(
        diversity_kl(torch.cat([a, a[:1].expand(4, -1)]), 4, 2), diversity_kl(a, 4, 2)
    )


def test_ddm_with_both_terms_off_is_exactly_dm(digits_small):
    X, y = digits_small
    common = {**FAST, "ipc": 2, "random_state": 3}
    dm = DatasetCondenser("dm", **common).fit(X, y)
    off = DatasetCondenser(
        "ddm", strategy__style_weight=0, strategy__diversity_weight=0, **common
    ).fit(X, y)
    on = DatasetCondenser("ddm", **common).fit(X, y)
    assert np.array_equal(dm.X_syn_, off.X_syn_) and np.array_equal(
        dm.history_["loss"], off.history_["loss"]
    )
    assert not np.array_equal(dm.X_syn_, on.X_syn_)


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy__style_weight": 0},
        {"strategy__diversity_weight": 0},
        {"strategy__style": "gram"},
        {"strategy__style": "sample_moments"},
        {"strategy__style_layer": "norm"},
        {"strategy__style_layer": "block"},
    ],
)
def test_each_term_and_variant_fits(digits_small, settings):
    X, y = digits_small
    cond = DatasetCondenser("ddm", **FAST, ipc=3, random_state=0, **settings).fit(X, y)
    assert cond.X_syn_.shape == (30, 8, 8) and np.isfinite(cond.X_syn_).all()


def test_the_style_variants_give_different_sets(digits_small):
    X, y = digits_small
    common = {**FAST, "ipc": 2, "random_state": 0, "strategy__diversity_weight": 0}
    sets = [
        DatasetCondenser("ddm", **common, **extra).fit(X, y).X_syn_
        for extra in (
            {},
            {"strategy__style": "gram"},
            {"strategy__style_layer": "block"},
        )
    ]
    assert not np.array_equal(sets[0], sets[1]) and not np.array_equal(sets[0], sets[2])


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
    with pytest.raises(ValueError, match=r"strategy__style.*gram"):
        DatasetCondenser("ddm", **FAST, strategy__style="adain").fit(X, y)
    with pytest.raises(ValueError, match="strategy__style_layer"):
        DatasetCondenser("ddm", **FAST, strategy__style_layer="pool").fit(X, y)
    # more neighbours than a class has is refused, not silently reduced
    with pytest.raises(ValueError, match=r"strategy__diversity_k=3 .* ipc=2"):
        DatasetCondenser("ddm", **(FAST | {"ipc": 2}), strategy__diversity_k=3).fit(X, y)


def test_extra_loss_is_style_plus_minus_weighted_diversity():
    from types import SimpleNamespace

    from condensekit.distributed import Ranks

    gen = torch.Generator().manual_seed(0)
    e_syn = torch.randn(6, 5, generator=gen)  # 2 classes x ipc 3, grouped by class
    maps_syn = [torch.randn(6, 4, 3, 3, generator=gen)]
    maps_real = [torch.randn(8, 4, 3, 3, generator=gen)]
    y_syn, y_real = torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0] * 4 + [1] * 4)
    ctx = SimpleNamespace(
        ipc=3, device=torch.device("cpu"), data=SimpleNamespace(n_classes=2), ranks=Ranks()
    )
    ddm = DecomposedDistributionMatching(style_weight=7.0, diversity_weight=3.0, diversity_k=1)
    got = ddm.extra_loss((None, maps_real), y_real, (e_syn, maps_syn), y_syn, ctx)
    style = style_loss(maps_real, y_real, maps_syn, y_syn, 2)
    want = 7.0 * style - 3.0 * diversity_kl(e_syn, ipc=3, k=1)
    torch.testing.assert_close(got, want)
    assert float(diversity_kl(e_syn, ipc=3, k=1)) > 0  # the sign matters: diversity is rewarded
