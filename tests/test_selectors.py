"""The selection baselines as estimators of their own (condensekit.selectors)."""

import inspect
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

import condensekit
from condensekit import (
    SELECTORS,
    DatasetCondenser,
    HerdingSelector,
    RandomSelector,
    register_method,
)
from condensekit._validation import InvalidParameterError
from condensekit.methods import METHODS, list_methods
from condensekit.selection import SelectionStrategy
from condensekit.selectors import make_selector

from .test_sklearn_integration import SKLEARN_EXPECTED_FAILURES

#: Cheap settings of every selector (real behaviour, small helper networks).
CHEAP = {
    "random": {},
    "herding": {"features": "raw"},
    "kcenter": {"features": "raw"},
    "el2n": {"n_networks": 1, "epochs": 1, "order": "hard", "offset": 0.1},
    "grand": {"n_networks": 1, "epochs": 0},
    "forgetting": {"epochs": 2},
}
COMMON = {"random_state": 0, "verbose": 0, "model__width": 16}


def test_every_registered_selection_has_an_estimator():
    selections = {m for m in list_methods() if not METHODS.get(m).learns_samples}
    assert set(SELECTORS) == selections == set(CHEAP)


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_selector_keeps_the_rows_the_named_method_keeps(digits, name):
    X_train, _, y_train, _ = digits
    cls = SELECTORS[name]
    sel = cls(ipc=3, **CHEAP[name], **COMMON).fit(X_train, y_train)
    routed = {f"strategy__{k}": v for k, v in CHEAP[name].items()}
    named = DatasetCondenser(name, ipc=3, **routed, **COMMON).fit(X_train, y_train)
    np.testing.assert_array_equal(sel.sample_indices_, named.sample_indices_)
    np.testing.assert_array_equal(sel.scores_, named.scores_)

    rows = sel.sample_indices_
    assert len(np.unique(rows)) == len(rows) == 30
    assert rows.min() >= 0 and rows.max() < len(y_train)
    np.testing.assert_array_equal(np.bincount(y_train[rows]), np.full(10, 3))
    assert sel.scores_.shape == (len(y_train),)
    X_kept, y_kept = sel.transform()
    np.testing.assert_array_equal(X_kept, X_train[rows])
    np.testing.assert_array_equal(y_kept, y_train[rows])
    assert sel.condensed_size_["kind"] == "selection"


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_selector_parameters_are_its_signature_and_survive_clone(name):
    cls = SELECTORS[name]
    sel = cls(ipc=4, **CHEAP[name], **COMMON)
    signature = [p for p in inspect.signature(cls).parameters if p != "kwargs"]
    params = sel.get_params()
    assert set(params) == {*signature, "model__width"}
    assert "method" not in params and "max_iter" not in params
    twin = clone(sel)
    assert twin.get_params() == params
    assert type(twin) is cls
    twin.set_params(ipc=2, model__depth=2)
    assert twin.ipc == 2 and twin.get_params()["model__depth"] == 2


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_selector_is_derived_from_its_strategy(name):
    """Parameters, defaults and their documentation are the strategy's, written once."""
    cls, strategy = SELECTORS[name], METHODS.get(name)
    own = {
        k: p.default
        for k, p in inspect.signature(strategy).parameters.items()
        if p.kind is p.POSITIONAL_OR_KEYWORD
    }
    derived = inspect.signature(cls).parameters
    assert list(derived)[: len(own) + 1] == ["ipc", *own]
    assert {k: derived[k].default for k in own} == own
    assert cls().get_params(deep=False) == {**cls().get_params(), **own}
    for key in own:  # every parameter of the strategy documented in the estimator
        assert f"\n    {key} : " in cls.__doc__
    assert cls.__doc__.startswith(strategy.__doc__.splitlines()[0])
    assert cls.__name__.endswith("Selector") and getattr(condensekit, cls.__name__) is cls


class EveryOther(SelectionStrategy):
    """Keep the first rows of every class (a selection written outside the package).

    Parameters
    ----------
    start : int, default=0
        A setting of the plugin's own, to show that its estimator takes it.
    """

    def __init__(self, start: int = 0) -> None:
        self.start = start

    def score(self, ctx):
        return -torch.arange(len(ctx.data.y), dtype=torch.float32, device=ctx.device)


def test_a_registered_selection_gets_its_estimator(digits_small, monkeypatch):
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))  # undone after the test
    register_method("every_other", EveryOther)
    assert "every_other" in SELECTORS and "every_other" in set(SELECTORS)
    cls = SELECTORS["every_other"]
    assert cls.__name__ == "EveryOtherSelector" and cls is make_selector("every_other")
    assert list(inspect.signature(cls).parameters)[:2] == ["ipc", "start"]
    assert "start : int, default=0" in cls.__doc__
    X, y = digits_small
    sel = cls(ipc=2, start=1, verbose=0).fit(X, y)
    again = pickle.loads(pickle.dumps(sel))  # found again through the registry
    assert type(again) is cls and again.start == 1
    np.testing.assert_array_equal(again.sample_indices_, sel.sample_indices_)
    assert clone(sel).get_params() == sel.get_params()
    with pytest.raises(KeyError):
        SELECTORS["dm"]
    with pytest.raises(ValueError, match="learns its samples"):
        make_selector("dm")


def test_selector_is_reproducible_and_follows_random_state(digits):
    X_train, _, y_train, _ = digits
    a = RandomSelector(ipc=5, random_state=1, verbose=0).fit(X_train, y_train)
    b = RandomSelector(ipc=5, random_state=1, verbose=0).fit(X_train, y_train)
    c = RandomSelector(ipc=5, random_state=2, verbose=0).fit(X_train, y_train)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert not np.array_equal(a.sample_indices_, c.sample_indices_)


def test_selector_fit_resample_and_pickle(digits):
    X_train, _, y_train, _ = digits
    sel = HerdingSelector(ipc=2, features="raw", verbose=0)
    X_kept, y_kept = sel.fit_resample(X_train, y_train)
    assert X_kept.shape == (20, 8, 8) and len(y_kept) == 20 and not hasattr(sel, "transform")
    again = pickle.loads(pickle.dumps(sel))
    np.testing.assert_array_equal(again.sample_indices_, sel.sample_indices_)


def test_selector_in_an_imblearn_pipeline(digits):
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression

    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(
        HerdingSelector(ipc=10, features="raw", verbose=0, random_state=0),
        LogisticRegression(max_iter=2000),
    )
    flat = X_train.reshape(len(X_train), -1)
    pipe.fit(flat, y_train)
    assert pipe.score(X_test.reshape(len(X_test), -1), y_test) > 0.8


@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (HerdingSelector, {"features": "pixels"}, "features"),
        (HerdingSelector, {"epochs": 0}, "epochs"),
        (SELECTORS["el2n"], {"offset": 1.0}, "offset"),
        (SELECTORS["grand"], {"n_networks": 0}, "n_networks"),
        (SELECTORS["forgetting"], {"epochs": 1}, "epochs"),
        (RandomSelector, {"ipc": 0}, "ipc"),
    ],
)
def test_bad_selector_settings_name_the_parameter_and_leave_no_state(digits, cls, params, name):
    X_train, _, y_train, _ = digits
    sel = cls(verbose=0, **params)
    with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter of {cls.__name__}"):
        sel.fit(X_train, y_train)
    assert not [k for k in vars(sel) if k.endswith("_") and not k.startswith("_")]


def test_selector_rejects_settings_of_other_kinds():
    with pytest.raises(TypeError, match="strategy__epochs"):
        HerdingSelector(strategy__epochs=3).fit(np.zeros((4, 2)), [0, 0, 1, 1])
    with pytest.raises(TypeError, match="method"):
        HerdingSelector(method="dm").fit(np.zeros((4, 2)), [0, 0, 1, 1])


@pytest.mark.parametrize(
    "est",
    [
        RandomSelector(ipc=1, verbose=0, random_state=0),
        HerdingSelector(ipc=1, features="raw", verbose=0, random_state=0),
        SELECTORS["el2n"](ipc=1, n_networks=1, epochs=1, verbose=0, random_state=0),
    ],
    ids=["random", "herding", "el2n"],
)
def test_selector_passes_sklearn_check_estimator(est):
    results = check_estimator(
        est, expected_failed_checks=SKLEARN_EXPECTED_FAILURES, on_fail=None, on_skip=None
    )
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed


@pytest.mark.parametrize(
    ("name", "params", "label"),
    [
        ("el2n", {"n_networks": 2, "epochs": 1}, "network 2/2"),
        ("forgetting", {"epochs": 2}, "network 1/1"),
        ("herding", {"features": "network", "epochs": 1}, "feature network"),
    ],
)
def test_helper_training_shows_progress_only_when_verbose(digits_small, capfd, name, params, label):
    X, y = digits_small
    common = {**COMMON, "ipc": 1}
    SELECTORS.get(name)(**params, **{**common, "verbose": 1}).fit(X, y)
    assert label in capfd.readouterr().err
    SELECTORS.get(name)(**params, **common).fit(X, y)
    assert capfd.readouterr().err == ""
