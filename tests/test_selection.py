"""Selection baselines: herding, and what every selection exposes."""

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser
from condensekit.selection import herding_order
from condensekit.selection.base import top_per_class


def _class_rows(digits, c):
    X_train, _, y_train, _ = digits
    return torch.as_tensor(X_train[y_train == c].reshape(-1, 64), dtype=torch.float32)


def test_first_herding_pick_is_the_sample_nearest_the_class_mean(digits):
    for c in (0, 3, 8):
        feats = _class_rows(digits, c)
        nearest = int(torch.argmin((feats - feats.mean(0)).norm(dim=1)))
        assert int(herding_order(feats, 5)[0]) == nearest


def test_herding_mean_is_closer_to_the_class_mean_than_random_picks(digits):
    gen = torch.Generator().manual_seed(0)
    for c in range(10):
        feats = _class_rows(digits, c)
        mean = feats.mean(0)
        for k in (1, 5, 10):
            order = herding_order(feats, k)
            assert len(set(order.tolist())) == k
            herd_gap = float((feats[order].mean(0) - mean).norm())
            random_gaps = [
                float((feats[torch.randperm(len(feats), generator=gen)[:k]].mean(0) - mean).norm())
                for _ in range(50)
            ]
            assert herd_gap <= min(random_gaps)


@pytest.mark.parametrize("features", ["raw", "network"])
def test_herding_selection_contract(digits, features):
    X_train, _, y_train, _ = digits
    params = {
        "ipc": 5,
        "random_state": 0,
        "verbose": 0,
        "model__width": 16,
        "strategy__features": features,
        "strategy__epochs": 2,
    }
    cond = DatasetCondenser("herding", **params).fit(X_train, y_train)
    rows = cond.sample_indices_
    assert len(np.unique(rows)) == len(rows) == 50
    assert rows.min() >= 0 and rows.max() < len(y_train)
    assert np.bincount(y_train[rows]).tolist() == [5] * 10
    np.testing.assert_array_equal(cond.X_syn_, X_train[rows])
    assert cond.scores_.shape == (len(y_train),)
    for c in range(10):
        in_class = np.flatnonzero(y_train == c)
        picked = rows[y_train[rows] == c]
        # the picks are the class's top scores, in herding order 5, 4, 3, 2, 1
        assert sorted(cond.scores_[picked].tolist(), reverse=True) == [5, 4, 3, 2, 1]
        assert (
            np.delete(cond.scores_, picked)[
                y_train[np.delete(np.arange(len(y_train)), picked)] == c
            ]
            == 0
        ).all()
        assert len(in_class) > 5
    again = DatasetCondenser("herding", **params).fit(X_train, y_train)
    np.testing.assert_array_equal(again.scores_, cond.scores_)
    np.testing.assert_array_equal(again.sample_indices_, rows)


def test_raw_herding_picks_the_sample_nearest_each_class_mean(digits):
    X_train, _, y_train, _ = digits
    cond = DatasetCondenser(
        "herding", ipc=1, verbose=0, strategy__features="raw", random_state=0
    ).fit(X_train, y_train)
    flat = X_train.reshape(len(X_train), -1).astype(np.float64)
    for c in range(10):
        rows = np.flatnonzero(y_train == c)
        # normalisation is one affine map per channel, so nearness to the mean is preserved
        nearest = rows[np.argmin(np.linalg.norm(flat[rows] - flat[rows].mean(0), axis=1))]
        assert cond.sample_indices_[c] == nearest


def test_random_exposes_its_scores(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X, y)
    assert cond.scores_.shape == (len(y),)
    for c in range(10):
        in_class = np.flatnonzero(y == c)
        top = in_class[np.argsort(-cond.scores_[in_class], kind="stable")[:2]]
        assert sorted(top) == sorted(cond.sample_indices_[y[cond.sample_indices_] == c])


def test_herding_settings_are_validated(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__features"):
        DatasetCondenser("herding", ipc=1, verbose=0, strategy__features="pixels").fit(X, y)
    with pytest.raises(ValueError, match="strategy__epochs"):
        DatasetCondenser("herding", ipc=1, verbose=0, strategy__epochs=0).fit(X, y)


def test_el2n_of_a_confident_correct_output_is_near_zero():
    from condensekit.selection import el2n

    logits = torch.tensor([[30.0, 0.0, 0.0], [0.0, 0.0, 30.0], [0.0, 30.0, 0.0]])
    scores = el2n(logits, torch.tensor([0, 2, 0]))
    assert float(scores[0]) < 1e-6 and float(scores[1]) < 1e-6
    assert float(scores[2]) == pytest.approx(2**0.5, abs=1e-6)  # confidently wrong
    uniform = el2n(torch.zeros(1, 4), torch.tensor([1]))
    assert float(uniform[0]) == pytest.approx((0.75**2 + 3 * 0.25**2) ** 0.5)


def test_el2n_of_well_learned_digits_is_small(digits):
    from condensekit.models import build_model
    from condensekit.models.training import train_network
    from condensekit.selection import el2n

    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train[:200], dtype=torch.float32)[:, None] / 16
    y = torch.as_tensor(y_train[:200])
    gen = torch.Generator().manual_seed(0)
    net = build_model("convnet", (1, 8, 8), 10, generator=gen, width=32)
    train_network(net, X, y, epochs=150, generator=gen, lr=0.05)
    net.eval()
    with torch.no_grad():
        scores = el2n(net(X), y)
    assert float(scores.median()) < 0.05  # training samples it fits perfectly score near zero


def _el2n_fit(digits, **kw):
    X_train, _, y_train, _ = digits
    params = {"ipc": 5, "random_state": 0, "verbose": 0, "model__width": 16}
    params |= {"strategy__n_networks": 2, "strategy__epochs": 2, **kw}
    return DatasetCondenser("el2n", **params).fit(X_train, y_train), y_train


def _window(ranked, order, k):
    """The k samples of a class that ``order`` keeps, from its rows ranked hardest first."""
    n = len(ranked)
    if order == "spread":
        from condensekit.selection.base import spread_ranks

        return ranked[spread_ranks(n)[:k]]
    start = {"hard": 0, "easy": n - k, "middle": (n - k) // 2}[order]
    return ranked[start : start + k]


@pytest.mark.parametrize("order", ["hard", "easy", "middle", "spread"])
def test_el2n_keeps_the_scores_its_order_names_balanced_and_reproducibly(digits, order):
    cond, y = _el2n_fit(digits, strategy__order=order)
    rows = cond.sample_indices_
    assert len(np.unique(rows)) == 50 and np.bincount(y[rows]).tolist() == [5] * 10
    assert cond.scores_.shape == (len(y),) and (cond.scores_ >= 0).all()
    for c in range(10):
        in_class = np.flatnonzero(y == c)
        ranked = np.sort(cond.scores_[in_class])[::-1]
        np.testing.assert_allclose(
            np.sort(cond.scores_[rows[y[rows] == c]])[::-1],
            np.sort(_window(ranked, order, 5))[::-1],
        )
    again, _ = _el2n_fit(digits, strategy__order=order)
    np.testing.assert_array_equal(again.scores_, cond.scores_)
    np.testing.assert_array_equal(again.sample_indices_, rows)


def test_order_keys_keep_the_named_window_for_every_budget():
    from condensekit.selection import order_keys

    # class 0: 10 samples, class 1: 7 samples, interleaved rows, distinct scores
    y = torch.tensor([0, 1] * 7 + [0, 0, 0])
    scores = torch.randperm(17, generator=torch.Generator().manual_seed(0)).float()
    ranked = {
        c: np.flatnonzero(y.numpy() == c)[np.argsort(-scores[y == c].numpy())] for c in (0, 1)
    }
    for order in ("hard", "easy", "middle", "spread"):
        keys = order_keys(scores, y, 2, order)
        for k in range(1, 8):
            kept = top_per_class(keys, y, 2, k).numpy()
            for c in (0, 1):
                got = kept[y[kept].numpy() == c]
                assert sorted(got) == sorted(_window(ranked[c], order, k)), (order, k, c)
    # offsets skip from the order's own end: ranks 2.. of class 0 (floor(0.25 * 10) = 2),
    # ranks 1.. of class 1 (floor(0.25 * 7) = 1); easy counts from the easy end
    keys = order_keys(scores, y, 2, "hard", 0.25)
    kept = top_per_class(keys, y, 2, 3).numpy()
    assert sorted(kept[y[kept] == 0]) == sorted(ranked[0][2:5])
    assert sorted(kept[y[kept] == 1]) == sorted(ranked[1][1:4])
    keys = order_keys(scores, y, 2, "easy", 0.25)
    kept = top_per_class(keys, y, 2, 3).numpy()
    assert sorted(kept[y[kept] == 0]) == sorted(ranked[0][::-1][2:5])
    with pytest.raises(ValueError, match="offset"):
        order_keys(scores, y, 2, "middle", 0.1)
    with pytest.raises(ValueError, match="offset"):
        order_keys(scores, y, 2, "spread", 0.1)
    with pytest.raises(ValueError, match="order must be one of"):
        order_keys(scores, y, 2, "median")


def test_spread_ranks_reach_every_rank_with_every_prefix_spread_out():
    from condensekit.selection.base import spread_ranks

    # van der Corput: 1/2, 1/4, 3/4, 1/8, 5/8, 3/8, 7/8, 1/16 of 8 ranks
    assert spread_ranks(8).tolist() == [4, 2, 6, 1, 5, 3, 7, 0]
    assert spread_ranks(1).tolist() == [0] and spread_ranks(0).tolist() == []
    for n in (2, 3, 7, 10, 125, 1000):
        order = spread_ranks(n)
        assert sorted(order.tolist()) == list(range(n))
        for k in (2, 4, 8):  # every prefix leaves no gap wider than about 2 n / k ranks
            if k <= n:
                edges = np.sort(np.r_[-1, order[:k], n])
                assert np.diff(edges).max() <= 2 * n / k + 1, (n, k)


def test_middle_order_with_an_offset_is_refused_before_training(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"strategy__offset.*order='middle'"):
        DatasetCondenser(
            "el2n", ipc=1, verbose=0, strategy__order="middle", strategy__offset=0.2
        ).fit(X, y)
    with pytest.raises(ValueError, match="strategy__order"):
        DatasetCondenser("forgetting", ipc=1, verbose=0, strategy__order="median").fit(X, y)


@pytest.mark.parametrize(
    "method, settings, networks, epochs",
    [
        ("random", {}, 0, 0),
        ("herding", {"strategy__features": "raw"}, 0, 0),
        ("herding", {"strategy__epochs": 2}, 1, 2),
        ("el2n", {"strategy__n_networks": 2, "strategy__epochs": 3}, 2, 6),
        ("grand", {"strategy__n_networks": 3}, 3, 0),  # at initialisation by default
        ("forgetting", {"strategy__epochs": 2}, 1, 2),
    ],
)
def test_helper_cost_counts_networks_and_epochs(digits_small, method, settings, networks, epochs):
    X, y = digits_small
    cond = DatasetCondenser(
        method, ipc=2, random_state=0, verbose=0, model__width=8, **settings
    ).fit(X, y)
    cost = cond.helper_cost_
    assert (cost["networks"], cost["epochs"]) == (networks, epochs)
    assert 0 < cost["seconds"] <= cond.fit_time_  # the whole scoring, within the fit


def test_helpers_train_with_dsa_without_flips_on_single_channel_images():
    from types import SimpleNamespace

    from condensekit.augment import SiameseAugment
    from condensekit.selection import EL2N

    def ctx(shape):
        return SimpleNamespace(data=SimpleNamespace(is_image=len(shape) == 3, sample_shape=shape))

    gray = EL2N().resolve_helper_augment(ctx((1, 8, 8)))
    colour = EL2N().resolve_helper_augment(ctx((3, 32, 32)))
    assert isinstance(gray, SiameseAugment) and gray.flip is False
    assert isinstance(colour, SiameseAugment) and colour.flip is True
    assert EL2N().resolve_helper_augment(ctx((64,))) is None
    assert EL2N(helper_augment=None).resolve_helper_augment(ctx((1, 8, 8))) is None
    assert type(EL2N(helper_augment="dc").resolve_helper_augment(ctx((1, 8, 8)))).__name__ == (
        "DCAugment"
    )


def test_el2n_offset_skips_the_hardest_fraction(digits):
    plain, y = _el2n_fit(digits, strategy__order="hard")
    offset, _ = _el2n_fit(digits, strategy__order="hard", strategy__offset=0.1)
    np.testing.assert_array_equal(offset.scores_, plain.scores_)  # same scores
    for c in range(10):
        in_class = np.flatnonzero(y == c)
        ranked = in_class[np.argsort(-plain.scores_[in_class], kind="stable")]
        skip = int(np.floor(0.1 * len(in_class)))
        kept = offset.sample_indices_[y[offset.sample_indices_] == c]
        assert sorted(kept) == sorted(ranked[skip : skip + 5])


def test_el2n_offset_window_slides_back_instead_of_taking_the_hardest(caplog):
    from types import SimpleNamespace

    from condensekit.selection import EL2N

    # two classes of 10 samples; scores descending within each class (rank 0 = hardest)
    y = torch.tensor([0] * 10 + [1] * 10)
    scores = torch.cat([torch.arange(10, 0, -1), torch.arange(20, 10, -1)]).float()
    data = SimpleNamespace(y=y, counts=torch.tensor([10, 10]), n_classes=2)
    ctx = SimpleNamespace(data=data, ipc=5, budget=torch.tensor([5, 5]))
    keys = EL2N(order="hard", offset=0.8).keep_order(scores, ctx)
    kept = top_per_class(keys, y, 2, 5)
    # 8 of 10 cannot be skipped at ipc 5: ranks 5..9 are kept, never the hardest ranks 0..4
    assert sorted(kept.tolist()) == [5, 6, 7, 8, 9, 15, 16, 17, 18, 19]
    assert "slides back" in caplog.text
    caplog.clear()
    keys = EL2N(order="hard", offset=0.2).keep_order(scores, ctx)
    assert sorted(top_per_class(keys, y, 2, 5).tolist()) == [2, 3, 4, 5, 6, 12, 13, 14, 15, 16]
    assert "slides back" not in caplog.text


def test_grad_norms_equal_a_per_sample_autograd_loop(digits):
    from condensekit.models import build_model
    from condensekit.selection import grad_norms

    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train[:12], dtype=torch.float32)[:, None] / 16
    y = torch.as_tensor(y_train[:12])
    net = build_model("convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(0), width=8)
    fast = grad_norms(net, X, y, batch_size=5)
    for i in range(12):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(X[i : i + 1]), y[i : i + 1]).backward()
        ref = torch.sqrt(sum((p.grad**2).sum() for p in net.parameters()))
        torch.testing.assert_close(fast[i], ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("epochs", [0, 2])
def test_grand_selection_contract(digits, epochs):
    X_train, _, y_train, _ = digits
    params = {"ipc": 3, "random_state": 0, "verbose": 0, "model__width": 8}
    params |= {"strategy__n_networks": 2, "strategy__epochs": epochs}
    cond = DatasetCondenser("grand", **params).fit(X_train, y_train)
    rows = cond.sample_indices_
    assert len(np.unique(rows)) == 30 and np.bincount(y_train[rows]).tolist() == [3] * 10
    assert (cond.scores_ > 0).all()
    again = DatasetCondenser("grand", **params).fit(X_train, y_train)
    np.testing.assert_array_equal(again.scores_, cond.scores_)


def test_el2n_needs_training_but_grand_may_score_at_init(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__epochs"):
        DatasetCondenser("el2n", ipc=1, verbose=0, strategy__epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="strategy__offset"):
        DatasetCondenser("grand", ipc=1, verbose=0, strategy__offset=1.0).fit(X, y)


def test_k_center_covers_a_class_better_than_random_picks(digits):
    from condensekit.selection import k_center_order

    gen = torch.Generator().manual_seed(0)
    for c in (0, 5, 9):
        feats = _class_rows(digits, c)
        order = k_center_order(feats, 8)
        assert len(set(order.tolist())) == 8
        assert int(order[0]) == int(torch.argmin((feats - feats.mean(0)).norm(dim=1)))

        def radius(rows, feats=feats):  # largest distance from a sample to its nearest pick
            return float(torch.cdist(feats, feats[rows]).min(1).values.max())

        random_radii = [radius(torch.randperm(len(feats), generator=gen)[:8]) for _ in range(30)]
        assert radius(order) < np.median(random_radii)


def test_k_center_second_pick_is_the_farthest_sample():
    from condensekit.selection import k_center_order

    feats = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [-1.0, 0.0], [0.0, 0.2]])
    order = k_center_order(feats, 3)
    assert order[:2].tolist() == [4, 2]  # nearest the mean (0.82, 1.04), then the farthest


def _k_center_by_definition(feats, k):
    """k-center greedy written from its definition: start nearest the mean, then add the row
    whose distance to its nearest chosen row is largest, recomputed from scratch every step."""
    chosen = [int(torch.argmin((feats - feats.mean(0)).norm(dim=1)))]
    while len(chosen) < k:
        gaps = torch.cdist(feats, feats[chosen]).min(1).values
        chosen.append(int(torch.argmax(gaps)))
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_k_center_order_is_the_greedy_rule(seed):
    from condensekit.selection import k_center_order

    gen = torch.Generator().manual_seed(seed)
    # continuous features with unequal spreads: no ties, and rules that only look at the mean
    # (or at the last pick) choose differently
    feats = torch.randn(60, 5, generator=gen, dtype=torch.float64)
    feats *= torch.rand(60, 1, generator=gen, dtype=torch.float64) * 3
    assert k_center_order(feats, 12).tolist() == _k_center_by_definition(feats, 12)


def test_kcenter_selection_contract(digits):
    X_train, _, y_train, _ = digits
    params = {"ipc": 4, "random_state": 0, "verbose": 0, "strategy__features": "raw"}
    cond = DatasetCondenser("kcenter", **params).fit(X_train, y_train)
    rows = cond.sample_indices_
    assert len(np.unique(rows)) == 40 and np.bincount(y_train[rows]).tolist() == [4] * 10
    assert sorted(set(cond.scores_.tolist())) == [0, 1, 2, 3, 4]


def test_count_forgetting_on_a_known_record():
    from condensekit.selection import count_forgetting

    record = torch.tensor(
        [
            # s0: learned, forgotten, relearned, forgotten; s1: always right; s2: never right;
            # s3: learned late and kept
            [True, True, False, False],
            [False, True, False, False],
            [True, True, False, True],
            [False, True, False, True],
        ]
    )
    assert count_forgetting(record).tolist() == [2.0, 0.0, 4.0, 0.0]


def test_forgetting_selection_contract(digits):
    X_train, _, y_train, _ = digits
    params = {"ipc": 3, "random_state": 0, "verbose": 0, "model__width": 16}
    params |= {"strategy__epochs": 20, "strategy__order": "hard", "strategy__lr": 0.01}
    params |= {"strategy__helper_augment": None}
    cond = DatasetCondenser("forgetting", **params).fit(X_train, y_train)
    rows, scores = cond.sample_indices_, cond.scores_
    assert len(np.unique(rows)) == 30 and np.bincount(y_train[rows]).tolist() == [3] * 10
    # the fixture must tell rules apart: samples never learned (scored 20), learned and
    # forgotten (between), and learned for good (0)
    assert scores.max() == 20 and scores.min() == 0
    assert ((scores > 0) & (scores < 20)).sum() >= 20
    cut_between_unequal = 0
    for c in range(10):
        in_class = np.sort(scores[y_train == c])[::-1]
        kept = np.sort(scores[rows[y_train[rows] == c]])[::-1]
        np.testing.assert_array_equal(kept, in_class[:3])  # the most forgotten of the class
        cut_between_unequal += kept[0] > kept[-1]
    assert cut_between_unequal >= 1
    again = DatasetCondenser("forgetting", **params).fit(X_train, y_train)
    np.testing.assert_array_equal(again.scores_, scores)


def test_training_loop_calls_back_after_every_epoch(digits):
    from condensekit.models import build_model
    from condensekit.models.training import train_network

    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train[:64], dtype=torch.float32)[:, None] / 16
    gen = torch.Generator().manual_seed(0)
    net = build_model("convnet", (1, 8, 8), 10, generator=gen, width=8)
    seen = []
    train_network(
        net,
        X,
        torch.as_tensor(y_train[:64]),
        epochs=3,
        generator=gen,
        on_epoch_end=lambda n, e: seen.append((e, n.training)),
    )
    assert [e for e, _ in seen] == [0, 1, 2] and net.training


@pytest.mark.parametrize(
    "method, settings",
    [
        ("random", {}),
        ("herding", {"strategy__epochs": 1}),
        ("kcenter", {"strategy__features": "raw"}),
        (
            "el2n",
            {
                "strategy__n_networks": 1,
                "strategy__epochs": 1,
                "strategy__order": "hard",
                "strategy__offset": 0.1,
            },
        ),
        ("el2n", {"strategy__n_networks": 1, "strategy__epochs": 1, "strategy__order": "easy"}),
        ("el2n", {"strategy__n_networks": 1, "strategy__epochs": 1, "strategy__order": "middle"}),
        ("el2n", {"strategy__n_networks": 1, "strategy__epochs": 1, "strategy__order": "spread"}),
        ("grand", {"strategy__n_networks": 1, "strategy__epochs": 0}),
        ("forgetting", {"strategy__epochs": 2}),
    ],
)
def test_sample_of_a_selection_is_the_fit_at_that_ipc(digits_small, method, settings):
    X, y = digits_small
    params = {"random_state": 3, "verbose": 0, "model__width": 8, **settings}
    big = DatasetCondenser(method, ipc=6, **params).fit(X, y)
    X_all, y_all = big.sample()
    np.testing.assert_array_equal(X_all, big.X_syn_)
    np.testing.assert_array_equal(y_all, big.y_syn_)
    for n in (1, 4):
        small = DatasetCondenser(method, ipc=n, **params).fit(X, y)
        X_n, y_n = big.sample(n)
        np.testing.assert_array_equal(X_n, small.X_syn_)
        np.testing.assert_array_equal(y_n, small.y_syn_)
        assert np.bincount(y_n).tolist() == [n] * 10


def test_sample_of_a_selection_rejects_what_it_cannot_give(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("random", ipc=3, random_state=0, verbose=0).fit(X, y)
    for bad in (0, 4, 2.5, True, "2"):
        with pytest.raises(ValueError, match=r"n_per_class must be an int in \[1, 3\]"):
            cond.sample(bad)
    with pytest.raises(ValueError, match="random_state applies to method='generative'"):
        cond.sample(2, random_state=0)
    cond.set_params(ipc=10)  # sample() serves the fitted set, not the new parameter
    assert cond.sample()[0].shape == (30, *X.shape[1:])


def test_evaluating_a_smaller_budget_of_a_selection_equals_evaluating_its_fit(digits):
    from condensekit import CondensedEvaluator

    X_train, X_test, y_train, y_test = digits
    params = {"random_state": 0, "verbose": 0, "strategy__features": "raw"}
    big = DatasetCondenser("herding", ipc=5, **params).fit(X_train, y_train)
    small = DatasetCondenser("herding", ipc=2, **params).fit(X_train, y_train)
    ev = CondensedEvaluator(n_models=2, epochs=40, random_state=0, model__width=16)
    cut = ev.evaluate(big, X_test, y_test, n_per_class=2)
    assert cut.accuracies == ev.evaluate(small, X_test, y_test).accuracies
    assert cut.accuracies != ev.evaluate(big, X_test, y_test).accuracies


BUDGET = {0: 1, 1: 3, 2: 2, 3: 5, 4: 1, 5: 4, 6: 2, 7: 3, 8: 1, 9: 6}


@pytest.mark.parametrize(
    "method, settings",
    [
        ("random", {}),
        ("herding", {"strategy__features": "raw"}),
        ("el2n", {"strategy__n_networks": 1, "strategy__epochs": 1, "strategy__order": "middle"}),
        ("forgetting", {"strategy__epochs": 2, "strategy__order": "hard"}),
    ],
)
def test_a_dict_budget_keeps_each_class_its_own_count(digits_small, method, settings):
    X, y = digits_small
    params = {"random_state": 0, "verbose": 0, "model__width": 8, **settings}
    cond = DatasetCondenser(method, ipc=BUDGET, **params).fit(X, y)
    assert np.bincount(cond.y_syn_).tolist() == [BUDGET[c] for c in range(10)]
    assert cond.ipc_per_class_.tolist() == [BUDGET[c] for c in range(10)]
    assert (np.diff(cond.y_syn_) >= 0).all()  # grouped by class
    np.testing.assert_array_equal(cond.X_syn_, X[cond.sample_indices_])
    # every class keeps the head of the ranking a uniform fit at the largest budget keeps
    full = DatasetCondenser(method, ipc=6, **params).fit(X, y)
    for c in range(10):
        kept = cond.sample_indices_[cond.y_syn_ == c]
        np.testing.assert_array_equal(kept, full.sample_indices_[full.y_syn_ == c][: BUDGET[c]])
    # sample() serves up to the smallest budget; None is the whole set
    X_1, y_1 = cond.sample(1)
    assert np.bincount(y_1).tolist() == [1] * 10
    np.testing.assert_array_equal(X_1, full.sample(1)[0])
    assert len(cond.sample()[1]) == sum(BUDGET.values())
    with pytest.raises(ValueError, match=r"\[1, 1\] \(the smallest class's budget\)"):
        cond.sample(2)


def test_a_fraction_budget_keeps_that_share_of_every_class_rounded_down(digits):
    X_train, _, y_train, _ = digits
    cond = DatasetCondenser("random", ipc=0.05, random_state=0, verbose=0).fit(X_train, y_train)
    counts = np.bincount(y_train)
    assert np.bincount(cond.y_syn_).tolist() == np.floor(0.05 * counts).astype(int).tolist()
    whole = DatasetCondenser("random", ipc=1.0, random_state=0, verbose=0).fit(X_train, y_train)
    assert np.bincount(whole.y_syn_).tolist() == counts.tolist()
    assert cond.condensed_size_["pixel_values"] == len(cond.y_syn_) * 64
    # rounded down exactly: 0.29 of 100 keeps 29, though 0.29 * 100 < 29 in floating point
    rows = np.random.default_rng(0).normal(size=(200, 4))
    exact = DatasetCondenser("random", ipc=0.29, random_state=0, verbose=0)
    assert exact.fit(rows, np.repeat([0, 1], 100)).ipc_per_class_.tolist() == [29, 29]


def test_string_labels_take_a_dict_budget_in_their_own_label_space(digits_small):
    X, y = digits_small
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    budget = {"zero": 2, "one": 1, "two": 3, "three": 1, "four": 2}
    cond = DatasetCondenser("random", ipc=budget, random_state=0, verbose=0).fit(X, names)
    got = dict(zip(*np.unique(cond.y_syn_, return_counts=True)))
    assert got == budget


@pytest.mark.parametrize(
    "method, ipc, match",
    [
        ("random", {0: 1}, r"missing \[1, 2, 3, 4, 5, 6, 7, 8, 9\]"),
        ("random", {**BUDGET, 11: 1}, r"unknown \[11\]"),
        ("random", {**BUDGET, 3: 0}, r"int >= 1 for every class; got \{3: 0\}"),
        ("random", {**BUDGET, 3: 2.0}, "int >= 1"),
        ("random", {**BUDGET, 3: 11}, "asks for 11 samples of class 3, which holds 10"),
        ("random", 0.05, r"ipc=0.05 keeps no sample of class 0 \(10 samples"),
        ("random", 1.5, "'ipc' parameter"),
        ("random", 0.0, "'ipc' parameter"),
        ("dm", BUDGET, "per-class budgets, which only the selection methods"),
        ("dm", 0.5, "per-class budgets"),
    ],
)
def test_bad_per_class_budgets_are_refused_before_any_work(digits_small, method, ipc, match):
    X, y = digits_small
    cond = DatasetCondenser(method, ipc=ipc, verbose=0)
    with pytest.raises(ValueError, match=match):
        cond.fit(X, y)
    assert not hasattr(cond, "X_syn_")


def test_a_saved_selection_with_per_class_budgets_loads_and_samples(digits_small, tmp_path):
    from condensekit import load_condensed

    X, y = digits_small
    cond = DatasetCondenser("herding", ipc=BUDGET, verbose=0, strategy__features="raw")
    loaded = load_condensed(cond.fit(X, y).save(tmp_path / "budget"))
    assert loaded.ipc is None and loaded.ipc_per_class == [BUDGET[c] for c in range(10)]
    np.testing.assert_array_equal(loaded.X, cond.X_syn_)
    for got, want in zip(loaded.sample(1), cond.sample(1)):
        np.testing.assert_array_equal(got, want)
    uniform = load_condensed(cond.set_params(ipc=2).fit(X, y).save(tmp_path / "uniform"))
    assert uniform.ipc == 2 and uniform.ipc_per_class == [2] * 10
