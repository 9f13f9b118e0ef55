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
    from condensekit.evaluation.training import train_network
    from condensekit.models import build_model
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


def test_el2n_keeps_the_highest_scores_balanced_and_reproducibly(digits):
    cond, y = _el2n_fit(digits)
    rows = cond.sample_indices_
    assert len(np.unique(rows)) == 50 and np.bincount(y[rows]).tolist() == [5] * 10
    assert cond.scores_.shape == (len(y),) and (cond.scores_ >= 0).all()
    for c in range(10):
        in_class = np.flatnonzero(y == c)
        top = np.sort(cond.scores_[in_class])[::-1][:5]
        np.testing.assert_allclose(np.sort(cond.scores_[rows[y[rows] == c]])[::-1], top)
    again, _ = _el2n_fit(digits)
    np.testing.assert_array_equal(again.scores_, cond.scores_)


def test_el2n_offset_skips_the_hardest_fraction(digits):
    plain, y = _el2n_fit(digits)
    offset, _ = _el2n_fit(digits, strategy__offset=0.1)
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
    data = SimpleNamespace(y=y, counts=torch.tensor([10, 10]))
    keys = EL2N(offset=0.8).keep_order(scores, SimpleNamespace(data=data, ipc=5))
    kept = top_per_class(keys, y, 2, 5)
    # 8 of 10 cannot be skipped at ipc 5: ranks 5..9 are kept, never the hardest ranks 0..4
    assert sorted(kept.tolist()) == [5, 6, 7, 8, 9, 15, 16, 17, 18, 19]
    assert "slides back" in caplog.text
    caplog.clear()
    keys = EL2N(offset=0.2).keep_order(scores, SimpleNamespace(data=data, ipc=5))
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
    params |= {"strategy__epochs": 20}
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
    from condensekit.evaluation.training import train_network
    from condensekit.models import build_model

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
        ("el2n", {"strategy__n_networks": 1, "strategy__epochs": 1, "strategy__offset": 0.1}),
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
