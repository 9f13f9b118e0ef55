"""Callbacks of the outer loop: history, early stopping, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser
from condensekit._validation import InvalidParameterError
from condensekit.callbacks import Callback, Checkpoint, EarlyStopping, History

from .conftest import FAST

GEN = {"strategy__warmup_iter": 2, "strategy__width": 16, "strategy__latent_dim": 8}
#: A short contrastive loop whose class-wise warm-up ends mid-run (after iteration 3).
DCC = {"strategy__outer_loop": 2, "strategy__inner_loop": 1, "strategy__outer_warmup": 3}


class Interrupt(Checkpoint):
    """A checkpoint that stops the fit (as a crash or Ctrl-C would) after ``at`` iterations."""

    def __init__(self, path, every, at):
        super().__init__(path, every=every)
        self.at = at

    def on_iteration_end(self, state):
        super().on_iteration_end(state)
        if state.iteration + 1 == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("method", "extra"), [("dm", {}), ("dcc", DCC), ("ddm", {}), ("generative", GEN)]
)
def test_a_resumed_fit_gives_the_set_of_an_uninterrupted_one(digits_small, tmp_path, method, extra):
    X, y = digits_small
    settings = {**FAST, "max_iter": 6, "random_state": 4, **extra}
    whole = DatasetCondenser(method, ipc=2, **settings).fit(X, y)
    path = tmp_path / "fit.ckpt"
    stopped = DatasetCondenser(method, ipc=2, callbacks=[Interrupt(path, 2, at=5)], **settings)
    with pytest.raises(KeyboardInterrupt):  # saved after 2 and 4, stopped after 5
        stopped.fit(X, y)
    assert not hasattr(stopped, "X_syn_")  # an interrupted fit leaves no half-fitted state
    assert torch.load(path, weights_only=True)["iteration"] == 4
    resumed = DatasetCondenser(method, ipc=2, callbacks=[Checkpoint(path, every=2)], **settings)
    resumed.fit(X, y)
    np.testing.assert_array_equal(resumed.X_syn_, whole.X_syn_)
    np.testing.assert_array_equal(resumed.history_["loss"], whole.history_["loss"])
    assert resumed.history_[:, "iteration"].tolist() == list(range(1, 7))
    assert torch.load(path, weights_only=True)["iteration"] == 6  # the last one is saved


def test_a_resumed_generative_fit_skips_its_warm_up(digits_small, tmp_path, monkeypatch):
    from condensekit.strategies.generative import GenerativeMatching

    X, y = digits_small
    settings = {**FAST, "max_iter": 4, "random_state": 1, **GEN}
    warmups = []
    real_warmup = GenerativeMatching.reconstruction_warmup

    def counting(self, net, codes, ctx):
        warmups.append(ctx.resuming)
        return real_warmup(self, net, codes, ctx)

    monkeypatch.setattr(GenerativeMatching, "reconstruction_warmup", counting)
    whole = DatasetCondenser("generative", ipc=2, **settings).fit(X, y)
    path = tmp_path / "gen.ckpt"
    cond = DatasetCondenser(
        "generative", ipc=2, callbacks=[Interrupt(path, every=1, at=2)], **settings
    )
    with pytest.raises(KeyboardInterrupt):
        cond.fit(X, y)
    assert warmups == [False, False]  # the uninterrupted fit's and the interrupted fit's
    cond.set_params(callbacks=[Checkpoint(path, every=1)]).fit(X, y)
    assert warmups == [False, False]  # resumed: the checkpoint holds the warmed-up generator
    np.testing.assert_array_equal(cond.transform()[0], whole.transform()[0])


def test_a_checkpoint_of_another_fit_is_refused(digits_small, tmp_path):
    X, y = digits_small
    path = tmp_path / "fit.ckpt"
    settings = {**FAST, "max_iter": 4}
    DatasetCondenser("dm", ipc=2, random_state=0, callbacks=[Checkpoint(path, 2)], **settings).fit(
        X, y
    )
    for other in (
        {"random_state": 1},
        {"random_state": 0, "strategy__lr_syn": 0.5},
        {"random_state": 0, "ipc": 3},
    ):
        cond = DatasetCondenser(
            "dm", **{"ipc": 2, **other}, callbacks=[Checkpoint(path)], **settings
        )
        with pytest.raises(ValueError, match="written by another fit"):
            cond.fit(X, y)
        assert not hasattr(cond, "X_syn_")
    with pytest.raises(ValueError, match="another fit"):  # other data
        DatasetCondenser("dm", ipc=2, random_state=0, callbacks=[Checkpoint(path)], **settings).fit(
            X[::-1].copy(), y[::-1].copy()
        )
    overwrite = Checkpoint(path, every=2, resume=False)
    DatasetCondenser("dm", ipc=2, random_state=1, callbacks=[overwrite], **settings).fit(X, y)


def test_early_stopping_ends_the_fit_and_records_window_means(digits_small):
    X, y = digits_small
    # a threshold no window can beat: the first window sets the best, the next two fail
    stop = EarlyStopping(patience=2, window=2, threshold=1.0)
    cond = DatasetCondenser("dm", ipc=1, callbacks=[stop], **{**FAST, "max_iter": 20}).fit(X, y)
    assert cond.n_iter_ == len(cond.history_) == 6
    means = cond.history_["window_loss"]
    assert np.isnan(means[0]) and np.isfinite(means[1::2]).all()
    losses = cond.history_["loss"]
    np.testing.assert_allclose(means[1::2], losses.reshape(3, 2).mean(1), rtol=1e-5)


class Recorder(Callback):
    """Records the norm of the synthetic pixels after every iteration."""

    def __init__(self):
        self.calls = []

    def on_fit_begin(self, state):
        self.calls.append("begin")

    def on_iteration_end(self, state):
        state.record["pixel_norm"] = float(state.syn.X.detach().norm())

    def on_fit_end(self, state):
        self.calls.append("end")


def test_a_callback_records_into_the_history(digits_small):
    X, y = digits_small
    rec = Recorder()
    cond = DatasetCondenser("dm", ipc=1, callbacks=[rec], **FAST).fit(X, y)
    assert cond.callbacks[0].calls == ["begin", "end"]  # clone-free: the object given is used
    assert cond.history_.keys() == ["iteration", "seconds", "pixel_norm", "loss"]
    assert (cond.history_["pixel_norm"] > 0).all()


def test_history_columns():
    h = History([{"iteration": 1, "loss": 2.0}, {"iteration": 2, "loss": 1.0, "extra": 5}])
    np.testing.assert_array_equal(h[:, "loss"], [2.0, 1.0])
    np.testing.assert_array_equal(h[1:, "extra"], [5.0])
    assert np.isnan(h["extra"][0]) and h[0] == {"iteration": 1, "loss": 2.0}
    with pytest.raises(KeyError, match="nothing"):
        h["nothing"]


def test_callbacks_are_validated_and_selections_refuse_them(digits_small):
    X, y = digits_small
    with pytest.raises(InvalidParameterError, match="callbacks"):
        DatasetCondenser("dm", callbacks=[print], **FAST).fit(X, y)
    with pytest.raises(InvalidParameterError, match="selection method 'random' has none"):
        DatasetCondenser("random", ipc=1, callbacks=[EarlyStopping()], verbose=0).fit(X, y)
    for bad in ({"patience": 0}, {"window": 1.5}, {"threshold": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            EarlyStopping(**bad)
    with pytest.raises(ValueError, match="every"):
        Checkpoint("x", every=0)


class FirstSet(Callback):
    """Keeps the synthetic set the loop starts from."""

    def on_fit_begin(self, state):
        self.start = state.syn.X.detach().clone()


def test_warm_start_continues_from_the_previous_set(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y)
    previous = cond.X_syn_.copy()
    first = FirstSet()
    cond.set_params(warm_start=True, callbacks=[first], max_iter=2).fit(X, y)
    expected = cond.normalizer_.normalize(cond.input_layout_.to_internal(previous))
    torch.testing.assert_close(first.start, expected)
    assert not np.allclose(cond.X_syn_, previous)  # and it moved on from there
    # without a previous fit, warm_start is an ordinary fit
    fresh = DatasetCondenser("dm", ipc=2, random_state=0, warm_start=True, **FAST).fit(X, y)
    plain = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(fresh.X_syn_, plain.X_syn_)


def test_warm_start_is_refused_where_it_cannot_apply(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y)
    cond.set_params(ipc=3, warm_start=True)
    with pytest.raises(InvalidParameterError, match=r"warm_start=True needs .* not \[3"):
        cond.fit(X, y)
    assert not hasattr(cond, "X_syn_")  # a failed fit leaves nothing half-fitted
    for method in ("random", "generative"):
        with pytest.raises(InvalidParameterError, match="warm_start=True: method"):
            DatasetCondenser(method, ipc=1, warm_start=True, verbose=0).fit(X, y)
