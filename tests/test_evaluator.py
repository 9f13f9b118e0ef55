"""CondensedEvaluator and the single training loop."""

import joblib
import numpy as np
import pytest
import torch

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit.models import build_model
from condensekit.models.training import accuracy, train_network

QUICK = {"n_models": 2, "epochs": 150, "random_state": 0, "model__width": 16}


def test_evaluate_returns_the_protocol_figures(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=10, random_state=0, verbose=0).fit(X_train, y_train)
    res = CondensedEvaluator(**QUICK).evaluate(cond, X_test, y_test)
    assert len(res.accuracies) == 2 and res.n_models == 2 and res.epochs == 150
    assert res.mean == pytest.approx(np.mean(res.accuracies))
    assert res.std == pytest.approx(np.std(res.accuracies))
    assert res.time > 0 and res.model == "convnet"
    assert 0.5 < res.mean <= 1.0
    assert set(res.to_dict()) >= {"mean", "std", "accuracies", "time"}
    assert "±" in str(res)


def test_scorer_is_deterministic_and_in_unit_range(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=3, random_state=0, verbose=0).fit(X_train, y_train)
    a = CondensedEvaluator(**QUICK)(cond, X_test, y_test)
    b = CondensedEvaluator(**QUICK)(cond, X_test, y_test)
    assert isinstance(a, float) and 0.3 < a <= 1 and a == b  # chance is 0.1


def test_pair_and_condenser_give_the_same_protocol(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=5, random_state=0, verbose=0).fit(X_train, y_train)
    ev = CondensedEvaluator(**QUICK)
    from_pair = ev.evaluate(cond.transform(), X_test, y_test)
    from_cond = ev.evaluate(cond, X_test, y_test)
    # only the normalisation statistics differ (condensed set vs real training data)
    assert abs(from_pair.mean - from_cond.mean) < 0.1


def test_unknown_test_labels_count_as_errors(digits):
    X_train, X_test, y_train, y_test = digits
    keep = y_train < 5
    cond = DatasetCondenser("random", ipc=5, random_state=0, verbose=0).fit(
        X_train[keep], y_train[keep]
    )
    res = CondensedEvaluator(**QUICK).evaluate(cond, X_test, y_test)
    assert res.mean <= (y_test < 5).mean() + 1e-9


def test_evaluator_reads_string_labels(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(list("abcdefghij"))
    cond = DatasetCondenser("random", ipc=5, random_state=0, verbose=0).fit(X_train, names[y_train])
    assert CondensedEvaluator(**QUICK)(cond, X_test, names[y_test]) > 0.5


def test_training_loop_fits_separable_data():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=gen)
    y = (X[:, 0] > 0).long()
    net = build_model("mlp", (5,), 2, generator=gen, hidden=(16,))
    train_network(net, X, y, epochs=200, generator=gen, lr=0.1, batch_size=16)
    assert accuracy(net, X, y) == 1.0


@pytest.mark.parametrize("augment", [None, "dsa"])
def test_accuracy_is_measured_once_after_the_last_epoch(digits, monkeypatch, augment):
    # Final-epoch protocol: every network is trained to the end, then tested exactly once, so
    # there is no per-epoch test accuracy a best epoch could be picked from. With augment="dsa"
    # the training loop gets the augmentation.
    import condensekit.evaluation.networks as ev_mod
    from condensekit.augment import SiameseAugment

    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    events = []
    real_accuracy, real_train = ev_mod.accuracy, ev_mod.train_network

    def spy_accuracy(net, X, y, batch_size=1024):
        value = real_accuracy(net, X, y, batch_size)
        events.append(("test", value))
        return value

    def spy_train(net, X, y, **kw):
        events.append(("train", kw["epochs"], type(kw["augment"])))
        return real_train(net, X, y, **kw)

    monkeypatch.setattr(ev_mod, "accuracy", spy_accuracy)
    monkeypatch.setattr(ev_mod, "train_network", spy_train)
    settings = {"augment": augment, "augment__flip": False} if augment else {}
    res = CondensedEvaluator(
        n_models=2, epochs=15, random_state=0, model__width=8, **settings
    ).evaluate(cond, X_test, y_test)
    kind = SiameseAugment if augment else type(None)
    assert [e[0] for e in events] == ["train", "test", "train", "test"]
    assert events[0][1:] == events[2][1:] == (15, kind)
    assert [events[1][1], events[3][1]] == res.accuracies


def test_bad_evaluator_parameters(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=1, random_state=0, verbose=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match="'n_models' parameter"):
        CondensedEvaluator(n_models=0).evaluate(cond, X_test, y_test)
    with pytest.raises(TypeError, match="fitted condenser"):
        CondensedEvaluator().evaluate("nope", X_test, y_test)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        CondensedEvaluator(**QUICK).evaluate(cond, X_test, y_test[:-1])


def _parallel_set(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    settings = {"n_models": 3, "epochs": 20, "random_state": 1, "model__width": 8}
    return cond, X_test, y_test, settings


def test_networks_trained_in_parallel_score_as_in_a_serial_run(digits):
    cond, X_test, y_test, settings = _parallel_set(digits)
    serial = CondensedEvaluator(**settings).evaluate(cond, X_test, y_test)
    parallel = CondensedEvaluator(**settings, n_jobs=2).evaluate(cond, X_test, y_test)
    assert parallel.accuracies == serial.accuracies  # each network from its own seed
    threads = torch.get_num_threads()
    with joblib.parallel_config(backend="threading", n_jobs=2):
        threaded = CondensedEvaluator(**settings).evaluate(cond, X_test, y_test)
    assert threaded.accuracies == serial.accuracies
    assert torch.get_num_threads() == threads  # workers in this process leave it alone
    for bad in (0, 1.5, "two"):
        with pytest.raises(ValueError, match="'n_jobs' parameter"):
            CondensedEvaluator(n_jobs=bad).evaluate(cond, X_test, y_test)


def test_networks_trained_on_a_dask_cluster_score_as_in_a_serial_run(digits):
    distributed = pytest.importorskip("dask.distributed")
    cond, X_test, y_test, settings = _parallel_set(digits)
    serial = CondensedEvaluator(**settings).evaluate(cond, X_test, y_test)
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=True) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_config(backend="dask"):
            on_dask = CondensedEvaluator(**settings).evaluate(cond, X_test, y_test)
    assert on_dask.accuracies == serial.accuracies


def test_bad_evaluation_inputs_name_the_argument(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    X_syn, y_syn = cond.transform()
    ev = CondensedEvaluator(**QUICK)
    # a pair whose parts differ in length is refused before any training, whichever is longer
    for pair in [(X_syn, y_syn[:-3]), (X_syn[:-3], y_syn)]:
        with pytest.raises(ValueError, match="X_syn and y_syn have inconsistent numbers"):
            ev.evaluate(pair, X_test, y_test)
    with pytest.raises(ValueError, match="X_test holds 0 samples"):
        ev.evaluate(cond, X_test[:0], y_test[:0])
    with pytest.raises(ValueError, match=r"X_test has samples of shape \(10,\)"):
        ev.evaluate(cond, X_test.reshape(len(X_test), -1)[:, :10], y_test)
    # a pair sets the layout, so it is the test set that does not fit
    with pytest.raises(ValueError, match=r"X_test has samples of shape \(8, 8\)"):
        ev.evaluate((X_syn.reshape(len(X_syn), -1)[:, :10], y_syn), X_test, y_test)


def test_protocol_settings_and_halfway_decay(monkeypatch):
    # Record the optimiser settings at every step of the one training loop.
    import condensekit.models.training as training

    seen = []

    class SpySGD(torch.optim.SGD):
        def step(self, closure=None):
            group = self.param_groups[0]
            seen.append((group["lr"], group["momentum"], group["weight_decay"]))
            return super().step(closure)

    monkeypatch.setattr(training.torch.optim, "SGD", SpySGD)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(20, 5, generator=gen), torch.randint(0, 2, (20,), generator=gen)
    net = build_model("mlp", (5,), 2, generator=gen, width=8)
    train_network(net, X, y, epochs=10, generator=gen, batch_size=256)
    assert len(seen) == 10  # one full batch per epoch
    assert all(s == (0.01, 0.9, 5e-4) for s in seen[:5])
    assert all(s[0] == pytest.approx(0.001) and s[1:] == (0.9, 5e-4) for s in seen[5:])


def test_epochs_auto_follows_augmentation(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=1, random_state=0, verbose=0).fit(X_train, y_train)
    plain = CondensedEvaluator(n_models=1, random_state=0, model__width=8)
    assert plain.evaluate(cond, X_test[:50], y_test[:50]).epochs == 300
    dsa = CondensedEvaluator(
        n_models=1, random_state=0, model__width=8, augment="dsa", augment__flip=False
    )
    assert dsa.evaluate(cond, X_test[:50], y_test[:50]).epochs == 1000


# -- named protocols ---------------------------------------------------------------------------
PAPER = {
    "dc": "dc",
    "dcc": "dc",
    "dsa": "dsa",
    "dsa_dcc": "dsa",
    "dm": "dsa",
    "ddm": "dsa",
    "generative": "dsa",
    "random": "dc",
    "herding": "dc",
    "kcenter": "dc",
    "el2n": "dc",
    "grand": "dc",
    "forgetting": "dc",
}


def test_every_method_has_a_paper_protocol_in_the_table():
    from condensekit import list_methods
    from condensekit.evaluation.protocols import PROTOCOLS, paper_protocol_name

    assert set(PAPER) == set(list_methods())
    for method, name in PAPER.items():
        assert paper_protocol_name(method) == name and name in PROTOCOLS


@pytest.mark.parametrize("method", sorted(PAPER))
def test_paper_protocol_resolves_per_method_and_data(method):
    from condensekit.evaluation.protocols import resolve_protocol

    gray, colour, rows = (resolve_protocol("paper", method, c) for c in (1, 3, None))
    assert gray.name == colour.name == rows.name == PAPER[method]
    assert (rows.augment, rows.epochs) == (None, 300)
    if PAPER[method] == "dc":  # DC augments the MNIST family only
        assert (gray.augment, gray.epochs) == ("dc", 1000)
        assert (colour.augment, colour.epochs) == (None, 300)
    else:
        assert (gray.augment, gray.epochs, gray.augment_params) == ("dsa", 1000, {"flip": False})
        assert (colour.augment, colour.epochs, colour.augment_params) == ("dsa", 1000, {})


def test_evaluator_scores_under_the_paper_protocol_of_the_fitted_method(digits):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    quick = {"n_models": 1, "random_state": 0, "model__width": 8}
    res = CondensedEvaluator(protocol="paper", **quick).evaluate(cond, X_test, y_test)
    assert (res.protocol, res.augment, res.epochs) == ("dc", "dc", 1000)
    assert "protocol dc" in str(res) and res.to_dict()["protocol"] == "dc"
    res = CondensedEvaluator(protocol="dsa", **quick).evaluate(cond, X_test, y_test)
    assert (res.protocol, res.augment, res.epochs) == ("dsa", "dsa", 1000)
    res = CondensedEvaluator(protocol="plain", **quick).evaluate(cond, X_test, y_test)
    default = CondensedEvaluator(**quick).evaluate(cond, X_test, y_test)
    assert (res.protocol, res.augment, res.epochs) == ("plain", None, 300)
    assert res.accuracies == default.accuracies and default.protocol == "default"


def test_protocol_uses_the_method_recorded_in_a_saved_set(digits, tmp_path):
    from condensekit import load_condensed

    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("dm", ipc=1, random_state=0, max_iter=2, verbose=0)
    cond.set_params(augment__flip=False, strategy__batch_real=8).fit(X_train, y_train)
    loaded = load_condensed(cond.save(tmp_path / "dm"))
    ev = CondensedEvaluator(protocol="paper", n_models=1, random_state=0, model__width=8)
    assert ev.evaluate(loaded, X_test, y_test).protocol == "dsa"


def test_protocol_errors_name_the_parameters(digits):
    from condensekit._validation import InvalidParameterError

    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"protocol='paper'.*augment='dsa'.*protocol='default'"):
        CondensedEvaluator(protocol="paper", augment="dsa").evaluate(cond, X_test, y_test)
    with pytest.raises(ValueError, match=r"epochs=10"):
        CondensedEvaluator(protocol="dsa", epochs=10).evaluate(cond, X_test, y_test)
    with pytest.raises(ValueError, match=r"needs the method that made the set"):
        CondensedEvaluator(protocol="paper").evaluate(cond.transform(), X_test, y_test)
    with pytest.raises(InvalidParameterError, match=r"protocol.*'dsa'"):
        CondensedEvaluator(protocol="papers").evaluate(cond, X_test, y_test)


def test_dc_augmentation_draws_one_of_its_transforms_per_image():
    from condensekit.augment import AUGMENTATIONS, DCAugment

    aug = AUGMENTATIONS.get("dc")()
    assert isinstance(aug, DCAugment) and not aug.family_per_batch
    assert aug.families_ == ("crop", "scale", "rotate") and aug.rotate_degrees == 45
    gen = torch.Generator().manual_seed(0)
    params = aug.draw(256, gen, (28, 28), one_family=aug.family_per_batch)
    assert len(set(params.family.tolist())) == 3  # per image, not one per mini-batch
    x = torch.randn(256, 1, 28, 28)
    assert aug(x, params).shape == x.shape and not torch.equal(aug(x, params), x)


def test_paper_protocol_follows_the_fitted_method_and_rows_train_plainly(digits, caplog):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    cond.set_params(method="dm")  # changes nothing fitted
    quick = {"n_models": 1, "random_state": 0, "model__width": 8}
    res = CondensedEvaluator(protocol="paper", **quick).evaluate(cond, X_test, y_test)
    assert res.protocol == "dc"
    rows = cond.transform()[0].reshape(20, -1), cond.transform()[1]
    ev = CondensedEvaluator(protocol="paper", augment__flip=False, n_models=1, random_state=0)
    with caplog.at_level("WARNING", logger="condensekit"):
        res = ev.evaluate(rows, X_test.reshape(len(X_test), -1), y_test)
    assert (res.protocol, res.augment, res.epochs, res.model) == ("plain", None, 300, "mlp")
    assert "augment__flip" in caplog.text
