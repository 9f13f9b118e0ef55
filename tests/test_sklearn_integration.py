"""The condenser inside scikit-learn and imbalanced-learn tools, and their common checks."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler
from sklearn.utils.estimator_checks import check_estimator

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit.methods import METHODS

from .conftest import FAST
from .test_golden import SETTINGS as GOLDEN_SETTINGS

#: A quick evaluator: same protocol, smaller network and fewer epochs.
QUICK_EVAL = {"n_models": 1, "epochs": 100, "random_state": 0, "model__width": 16}


def test_imblearn_pipeline_can_be_fitted_twice(digits):
    from imblearn.pipeline import make_pipeline

    X_train, X_test, y_train, y_test = digits
    rows_train, rows_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    pipe = make_pipeline(
        DatasetCondenser("dm", ipc=5, random_state=0, **FAST),
        KNeighborsClassifier(n_neighbors=1),
    )
    pipe.fit(rows_train, y_train)
    first = pipe.score(rows_test, y_test)
    pipe.fit(rows_train, y_train)  # fails if the fitted step now shows transform
    assert pipe.score(rows_test, y_test) == first
    assert pipe[-1].n_samples_fit_ == 50  # the classifier saw the condensed set
    assert first > 0.5


def test_grid_search_with_condensed_evaluator(digits_small):
    X, y = digits_small  # sorted by label
    search = GridSearchCV(
        DatasetCondenser("dm", ipc=1, random_state=0, **FAST),
        {"ipc": [1, 2], "strategy__lr_syn": [0.5, 1.0]},
        scoring=CondensedEvaluator(**QUICK_EVAL),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert (search.cv_results_["mean_test_score"] > 0.3).all()  # chance is 0.1
    assert search.best_score_ == search.cv_results_["mean_test_score"].max()
    assert search.best_estimator_.X_syn_.shape[0] == 10 * search.best_params_["ipc"]


def test_cross_val_score_needs_stratified_folds_on_sorted_labels(digits_small):
    X, y = digits_small  # sorted by label

    def scores(cv):
        return cross_val_score(
            DatasetCondenser("random", ipc=2, random_state=0, verbose=0),
            X,
            y,
            scoring=CondensedEvaluator(**QUICK_EVAL),
            cv=cv,
        )

    stratified = scores(StratifiedKFold(3, shuffle=True, random_state=0))
    assert stratified.shape == (3,) and (stratified > 0.3).all()
    # an integer cv is plain KFold for a condenser (not a classifier): folds miss whole
    # classes, as the user guide warns
    plain = scores(3)
    np.testing.assert_array_equal(plain, scores(KFold(3)))
    assert plain.mean() < stratified.mean() - 0.2


def test_sklearn_pipeline_with_condenser_last(digits):
    X_train, X_test, y_train, y_test = digits
    rows_train, rows_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("images", FunctionTransformer(lambda a: a.reshape(len(a), 8, 8))),
            ("condense", DatasetCondenser("random", ipc=10, random_state=0, verbose=0)),
        ]
    )
    pipe.fit(rows_train, y_train)
    X_syn, _ = pipe[-1].transform()
    assert X_syn.shape == (100, 8, 8) and X_syn.max() <= 1.0  # scaled by the first step
    score = CondensedEvaluator(**QUICK_EVAL)(pipe, rows_test, y_test)
    assert 0.3 < score <= 1.0


#: Checks that cannot pass by design, each with its reason.
_TRANSFORM_TAKES_NO_DATA = (
    "transform() takes no data: the condensed set does not depend on new samples "
    "(DESIGN.md section 2); the check calls transform(X)."
)
SKLEARN_EXPECTED_FAILURES = {
    "check_n_features_in_after_fitting": _TRANSFORM_TAKES_NO_DATA,
    "check_estimators_dtypes": _TRANSFORM_TAKES_NO_DATA,
    "check_dtype_object": _TRANSFORM_TAKES_NO_DATA,
    "check_estimators_nan_inf": _TRANSFORM_TAKES_NO_DATA,
    "check_estimators_pickle": _TRANSFORM_TAKES_NO_DATA,
    "check_f_contiguous_array_estimator": _TRANSFORM_TAKES_NO_DATA,
    "check_methods_sample_order_invariance": _TRANSFORM_TAKES_NO_DATA,
    "check_methods_subset_invariance": _TRANSFORM_TAKES_NO_DATA,
    "check_dict_unchanged": _TRANSFORM_TAKES_NO_DATA,
    "check_fit_idempotent": _TRANSFORM_TAKES_NO_DATA,
    "check_fit2d_predict1d": _TRANSFORM_TAKES_NO_DATA,
}


#: Routed settings are stored as attributes of their own name, as skorch stores them, so that
#: get_params, set_params, clone and grid searches carry them (tested in test_contract.py); the
#: check counts them as attributes set in __init__ that the signature does not name.
_ROUTED_ARE_ATTRIBUTES = (
    "routed settings (strategy__*, model__*) are keyword arguments stored as attributes"
)
#: The checks' data are rows of features: decomposed DM's style term needs image feature maps
#: (its documented limit), so it runs with the style term off there.
ROWS_SETTINGS = {"ddm": {"strategy__style_weight": 0.0}}


@pytest.mark.parametrize("method", sorted(GOLDEN_SETTINGS))
def test_sklearn_check_estimator(method):
    """scikit-learn's estimator checks for every registered method (the golden sets' small
    settings), with the expected failures above, each explained."""
    settings = {"max_iter": 2, **GOLDEN_SETTINGS[method], **ROWS_SETTINGS.get(method, {})}
    if not METHODS.get(method).learns_samples:
        settings.pop("max_iter")
    est = DatasetCondenser(method, ipc=1, verbose=0, random_state=0, **settings)
    expected = dict(SKLEARN_EXPECTED_FAILURES)
    if any("__" in k for k in settings):
        expected["check_no_attributes_set_in_init"] = _ROUTED_ARE_ATTRIBUTES
    results = check_estimator(est, expected_failed_checks=expected, on_fail=None, on_skip=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    # every listed failure is still real: a check that starts passing must leave the list
    assert xfailed == set(expected)
    assert sum(r["status"] == "passed" for r in results) >= 25


#: imbalanced-learn sampler checks; the ones a condenser fails on purpose give the reason, the
#: error they raise and its message, so a failure for any other cause is not mistaken for it.
IMBLEARN_CHECKS = {
    "check_target_type": None,
    "check_samplers_one_label": None,
    "check_samplers_fit_resample": None,
    "check_samplers_sampling_strategy_fit_resample": None,
    "check_samplers_preserve_dtype": None,
    "check_samplers_2d_target": None,
    "check_samplers_fit": (
        "imbalanced-learn samplers expose sampling_strategy_; the budget of a condenser is ipc, "
        "so there is no sampling_strategy_",
        AssertionError,
        "No fitted attribute sampling_strategy_",
    ),
    "check_samplers_list": (
        "list input gives numpy arrays back (DESIGN.md: transform returns numpy arrays), not "
        "lists; the check's bare assert has no message (the arrays are tested below)",
        AssertionError,
        "^$",
    ),
    "check_samplers_multiclass_ova": (
        "one-hot (one-vs-all) targets are not class labels; y must be one-dimensional",
        ValueError,
        "y must be a one-dimensional array of labels",
    ),
    "check_sampler_get_feature_names_out": (
        "condensed samples are not features of the input, so there are no output feature names",
        AttributeError,
        "no attribute 'get_feature_names_out'",
    ),
}


@pytest.mark.parametrize("check_name", sorted(IMBLEARN_CHECKS))
def test_imblearn_sampler_checks(check_name):
    # imbalanced-learn 0.14's check generator reads a scikit-learn tag that scikit-learn 1.9
    # removed (input_tags.dataframe), so its sampler checks are called one by one here.
    import imblearn.utils.estimator_checks as checks

    est = DatasetCondenser("dm", ipc=1, max_iter=2, verbose=0, random_state=0)
    check = getattr(checks, check_name)
    expected = IMBLEARN_CHECKS[check_name]
    if expected is None:
        check("DatasetCondenser", est)
    else:
        _, error, match = expected
        with pytest.raises(error, match=match):
            check("DatasetCondenser", est)


def test_list_input_is_resampled_to_numpy_arrays():
    rows = np.random.default_rng(0).normal(size=(40, 3))
    labels = [0, 1] * 20
    X_res, y_res = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit_resample(
        rows.tolist(), labels
    )
    assert isinstance(X_res, np.ndarray) and isinstance(y_res, np.ndarray)
    assert X_res.shape == (4, 3) and sorted(y_res.tolist()) == [0, 0, 1, 1]
