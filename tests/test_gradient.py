"""Gradient matching (DC, DSA, DCC, DSA+DCC): distances, batched gradients, warm-up, loop."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from condensekit import DatasetCondenser
from condensekit.models import build_model
from condensekit.strategies import FitContext, RealData, SyntheticSet
from condensekit.strategies.gradient import (
    CONTRASTIVE_LOOPS_BY_IPC,
    DCC,
    DSA,
    DSADCC,
    LOOPS_BY_IPC,
    GradientMatching,
    gradient_distance,
    paper_loops,
)

from .conftest import FAST


def _grads(seed, shapes=((8, 4, 3, 3), (8,), (3, 8))):
    gen = torch.Generator().manual_seed(seed)
    return {f"p{i}": torch.randn(s, generator=gen) for i, s in enumerate(shapes)}


@pytest.mark.parametrize("metric", ["layerwise", "mse", "cos"])
def test_distance_is_zero_for_identical_gradients_and_positive_otherwise(metric):
    a, b = _grads(0), _grads(1)
    assert float(gradient_distance(a, a, metric, batched=False)) == pytest.approx(0, abs=1e-5)
    assert float(gradient_distance(a, b, metric, batched=False)) > 0.1
    batched = {k: torch.stack([v, v * 2]) for k, v in a.items()}
    # the cosine-based distances ignore scale; every class is summed
    if metric != "mse":
        assert float(gradient_distance(batched, batched, metric, True)) == pytest.approx(
            0, abs=1e-5
        )


def test_layerwise_distance_skips_biases_and_sums_rows():
    a, b = _grads(0), _grads(1)
    b_bias_changed = {**a, "p1": a["p1"] + 5}
    assert float(gradient_distance(a, b_bias_changed, "layerwise", False)) == pytest.approx(
        0, abs=1e-5
    )
    rows = a["p0"].flatten(1), b["p0"].flatten(1)
    expected = (1 - F.cosine_similarity(*rows, dim=1, eps=1e-12)).sum()
    rows = a["p2"], b["p2"]
    expected += (1 - F.cosine_similarity(*rows, dim=1, eps=1e-12)).sum()
    got = gradient_distance(a, b, "layerwise", False)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_paper_loop_table():
    assert paper_loops(1) == (1, 1) and paper_loops(10) == (10, 50)
    assert paper_loops(50) == (50, 10) and paper_loops(15) == (10, 50)
    assert GradientMatching(outer_loop=3, inner_loop=0).loops(10) == (3, 0)


def test_contrastive_variants_take_the_dcc_authors_loop_table():
    # Saehyung-Lee/DCC utils.get_loops: ipc 1 -> (10, 5); DC's VICO code: ipc 1 -> (1, 1)
    assert DCC().loops(1) == DSADCC().loops(1) == (10, 5)
    assert GradientMatching().loops(1) == DSA().loops(1) == (1, 1)
    for ipc in (10, 15, 20, 30, 40, 50, 100):  # from ipc 10 up, DC's table
        assert DCC().loops(ipc) == GradientMatching().loops(ipc)
    assert paper_loops(5, CONTRASTIVE_LOOPS_BY_IPC) == (10, 5)
    assert {k: v for k, v in CONTRASTIVE_LOOPS_BY_IPC.items() if k != 1} == {
        k: v for k, v in LOOPS_BY_IPC.items() if k != 1
    }
    assert DCC(outer_loop=2, inner_loop=3).loops(1) == (2, 3)  # explicit settings win


def test_warmup_follows_the_reference_condition_at_paper_scale():
    """The DCC code's condition: contrastive once ``ol >= outer_warmup or il >= inner_warmup``."""
    ctx = FitContext(None, 50, 1000, "real", torch.device("cpu"), None, None, None)
    dcc = DCC()
    outer, _ = dcc.loops(50)
    for it in (0, 249, 250, 999):
        for step in range(outer):
            expected = it < 250 and step < 10
            assert dcc.is_classwise(ctx, it, step) is expected, (it, step)
    short = FitContext(None, 1, 40, "real", torch.device("cpu"), None, None, None)
    assert dcc.warmup_iterations(40) == 10  # a quarter of a shorter run
    assert dcc.is_classwise(short, 9, 9) and not dcc.is_classwise(short, 10, 0)


def test_dcc_fit_runs_its_table_and_switches_after_the_warmup(digits_small, monkeypatch):
    """A real fit at ipc 1: 10 synthetic steps on every network, class-wise on the first
    quarter of the iterations, contrastive after."""
    calls = []
    original = GradientMatching.is_classwise

    def spy(self, ctx, iteration, step):
        out = original(self, ctx, iteration, step)
        calls.append((iteration, step, out))
        return out

    monkeypatch.setattr(GradientMatching, "is_classwise", spy)
    X, y = digits_small
    settings = {**FAST, "max_iter": 4, "model__width": 8}
    DatasetCondenser("dcc", ipc=1, random_state=0, **settings).fit(X, y)
    assert [(it, s) for it, s, _ in calls] == [(it, s) for it in range(4) for s in range(10)]
    assert all(c for it, _, c in calls if it == 0) and not any(c for it, _, c in calls if it)
    calls.clear()
    DatasetCondenser("dc", ipc=1, random_state=0, **settings).fit(X, y)
    assert [(it, s) for it, s, _ in calls] == [(it, 0) for it in range(4)]  # DC: 1 step


def test_warmup_switches_at_the_right_steps():
    ctx = FitContext(None, 1, 8, "real", torch.device("cpu"), None, None, None)
    dcc = DCC(inner_warmup=2)
    assert dcc.warmup_iterations(8) == 2 and dcc.warmup_iterations(1000) == 250
    steps = [(it, s) for it in range(4) for s in range(4)]
    # the authors' code: class-wise only inside both warm-ups
    table = {(it, s): dcc.is_classwise(ctx, it, s) for it, s in steps}
    assert {k for k, v in table.items() if v} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    # DESIGN.md's reading: the whole outer warm-up, then the first steps of every network
    every = DCC(inner_warmup=2, inner_warmup_scope="every_network")
    table = {(it, s): every.is_classwise(ctx, it, s) for it, s in steps}
    assert all(table[(it, s)] for it in (0, 1) for s in range(4))  # outer warm-up
    assert all(table[(it, s)] for it in (2, 3) for s in (0, 1))  # inner warm-up
    assert not any(table[(it, s)] for it in (2, 3) for s in (2, 3))
    assert all(GradientMatching().is_classwise(ctx, it, s) for it in range(4) for s in range(4))
    assert DCC(outer_warmup=0, inner_warmup=0).is_classwise(ctx, 0, 0) is False


@pytest.fixture
def small_problem(digits):
    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train, dtype=torch.float32)[:, None] / 16
    return X, torch.as_tensor(y_train)


def _ctx(data, ipc, seed, net, augment=None):
    return FitContext(
        data,
        ipc,
        4,
        "real",
        torch.device("cpu"),
        torch.Generator().manual_seed(seed),
        lambda: net,
        augment,
    )


@pytest.mark.parametrize("use_vmap", [True, False])
def test_per_class_gradients_equal_a_per_class_reference(small_problem, use_vmap):
    X, y = small_problem
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    x = torch.stack([X[y == c][:4] for c in range(10)])
    labels = torch.arange(10)[:, None].expand(10, 4)
    w = torch.full((10, 4), 0.25)
    batched = GradientMatching._gradients(net, x, labels, w, per_class=True, use_vmap=use_vmap)
    for c in (0, 7):
        loss = F.cross_entropy(net(x[c]), labels[c])
        ref = torch.autograd.grad(loss, list(net.parameters()))
        for (name, _), g in zip(net.named_parameters(), ref):
            torch.testing.assert_close(batched[name][c], g, rtol=1e-4, atol=1e-6)


def test_dcc_loss_equals_classwise_loss_with_one_class(small_problem):
    X, y = small_problem
    X1, y1 = X[y == 3], torch.zeros(int((y == 3).sum()), dtype=torch.long)
    data = RealData(X1, y1, 1)
    net = build_model("convnet", (1, 8, 8), 1, generator=torch.Generator().manual_seed(0), width=8)
    syn = SyntheticSet(X1[:3], torch.zeros(3, dtype=torch.long))
    contrastive = DCC(outer_warmup=0, inner_warmup=0, batch_real=16)
    classwise = GradientMatching(batch_real=16)
    assert not contrastive.is_classwise(_ctx(data, 3, 0, net), 1, 1)
    a = contrastive.loss(net, syn, _ctx(data, 3, 0, net), 1, 1)
    b = classwise.loss(net, syn, _ctx(data, 3, 0, net), 1, 1)
    torch.testing.assert_close(a, b)
    assert float(a.detach()) > 0


def test_dcc_loss_with_many_classes_matches_a_direct_computation(small_problem):
    X, y = small_problem
    data = RealData(X, y, 10)
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    x_syn = torch.cat([X[y == c][5:8] for c in range(10)])
    y_syn = torch.arange(10).repeat_interleave(3)
    got = DCC(outer_warmup=0, inner_warmup=0, batch_real=6).loss(
        net, SyntheticSet(x_syn, y_syn), _ctx(data, 3, 4, net), 1, 1
    )
    # by hand: the same real rows (same seed), the mean over classes of each class's mean
    # real gradient, against the gradient of the mean loss over the whole synthetic set
    rows, _ = data.sample_per_class_dense(6, torch.Generator().manual_seed(4))
    params = list(net.parameters())
    per_class = [torch.autograd.grad(F.cross_entropy(net(X[r]), y[r]), params) for r in rows]
    g_real = [torch.stack(gs).mean(0) for gs in zip(*per_class)]
    g_syn = torch.autograd.grad(F.cross_entropy(net(x_syn), y_syn), params)
    names = [name for name, _ in net.named_parameters()]
    want = gradient_distance(
        dict(zip(names, g_syn)), dict(zip(names, g_real)), "layerwise", batched=False
    )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    classwise = GradientMatching(batch_real=6).loss(
        net, SyntheticSet(x_syn, y_syn), _ctx(data, 3, 4, net), 1, 1
    )
    assert not torch.allclose(got, classwise)  # with many classes the two losses differ


def test_inner_loop_trains_the_network_except_after_the_last_step(small_problem):
    X, y = small_problem
    data = RealData(X, y, 10)
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    syn = SyntheticSet(
        torch.cat([X[y == c][:2] for c in range(10)]), torch.arange(10).repeat_interleave(2)
    )
    strategy = GradientMatching(outer_loop=3, inner_loop=5, lr_net=0.05)
    ctx = _ctx(data, 2, 0, net)

    def state():
        return [p.detach().clone() for p in net.parameters()]

    def syn_loss():
        with torch.no_grad():
            return float(F.cross_entropy(net(syn.X), syn.y))

    before, loss_before = state(), syn_loss()
    strategy.after_step(net, syn, ctx, 0, 0)
    trained = state()
    assert any(not torch.equal(a, b) for a, b in zip(before, trained))
    assert syn_loss() < loss_before  # trained on the synthetic set
    strategy.after_step(net, syn, ctx, 0, 2)  # the last step of this network: no training
    assert all(torch.equal(a, b) for a, b in zip(trained, state()))


def test_class_batching_choice():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not GradientMatching().uses_vmap(cpu) and GradientMatching().uses_vmap(cuda)
    assert GradientMatching(class_batching="vmap").uses_vmap(cpu)
    assert not GradientMatching(class_batching="loop").uses_vmap(cuda)


def test_vmap_and_loop_give_the_same_matching_loss(small_problem):
    X, y = small_problem
    data = RealData(X, y, 10)
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    X0, y0 = torch.cat([X[y == c][:2] for c in range(10)]), torch.arange(10).repeat_interleave(2)
    losses = []
    for mode in ("vmap", "loop"):
        syn = SyntheticSet(X0, y0)
        loss = GradientMatching(batch_real=8, class_batching=mode).loss(
            net, syn, _ctx(data, 2, 0, net), 0, 0
        )
        loss.backward()
        assert syn.X.grad is not None and float(syn.X.grad.abs().sum()) > 0
        losses.append((loss.detach(), syn.X.grad))
    torch.testing.assert_close(losses[0][0], losses[1][0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(losses[0][1], losses[1][1], rtol=1e-3, atol=1e-5)


def test_loss_gradient_reaches_the_synthetic_pixels(small_problem):
    X, y = small_problem
    data = RealData(X, y, 10)
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    for strategy in (
        GradientMatching(batch_real=8),
        DCC(outer_warmup=0, inner_warmup=0, batch_real=8),
    ):
        syn = SyntheticSet(
            torch.cat([X[y == c][:2] for c in range(10)]), torch.arange(10).repeat_interleave(2)
        )
        strategy.loss(net, syn, _ctx(data, 2, 0, net), 1, 1).backward()
        assert syn.X.grad is not None and syn.X.grad.abs().sum() > 0


def test_batchnorm_statistics_are_frozen_from_the_real_batch(small_problem):
    X, _ = small_problem
    net = build_model(
        "convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8, norm="batch"
    )
    batch = X[:64]
    GradientMatching._freeze_batchnorm(net, batch)
    bn = net.blocks[0][1]
    assert not bn.training
    first = net.blocks[0][0](batch)
    torch.testing.assert_close(bn.running_mean, first.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ["dc", "dsa", "dcc", "dsa_dcc"])
def test_every_variant_fits_through_the_shared_loop(digits_small, method):
    X, y = digits_small
    kw = {**FAST, "max_iter": 2, "strategy__outer_loop": 2, "strategy__inner_loop": 1}
    cond = DatasetCondenser(method, ipc=2, random_state=0, **kw).fit(X, y)
    again = DatasetCondenser(method, ipc=2, random_state=0, **kw).fit(X, y)
    assert cond.X_syn_.shape == (20, 8, 8) and cond.n_iter_ == 2
    assert np.isfinite(cond.history_["loss"]).all()
    np.testing.assert_array_equal(cond.X_syn_, again.X_syn_)
    assert (cond.augment_ is not None) == method.startswith("dsa")


def test_gradient_settings_are_validated(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__distance"):
        DatasetCondenser("dc", ipc=1, strategy__distance="l1", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="no setting 'outer'"):
        DatasetCondenser("dcc", ipc=1, strategy__outer=3, **FAST).fit(X, y)
