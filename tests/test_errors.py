"""Every error case of DESIGN.md section 2: clear messages, and nothing half-fitted left behind."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from condensekit import DatasetCondenser
from condensekit._validation import InvalidParameterError

from .conftest import FAST


def _fit(X, y, **kw):
    params = {**FAST, **kw}
    return DatasetCondenser(**{"method": "dm", "ipc": 1, **params}).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "nope"}, r"'method' parameter .* 'dm'.*'random'"),
        ({"ipc": 0}, r"'ipc' parameter .* range \[1, inf\)"),
        ({"ipc": 2.5}, r"'ipc' parameter .* an int"),
        ({"max_iter": 0}, r"'max_iter' parameter"),
        ({"init": "zeros"}, r"'init' parameter .* 'real'"),
        ({"augment": "mixup"}, r"'augment' parameter"),
        ({"input_shape": (8, -8)}, r"'input_shape' parameter"),
        ({"verbose": -1}, r"'verbose' parameter"),
        ({"random_state": "zero"}, r"'random_state' parameter"),
        ({"random_state": -1}, r"'random_state' parameter .* \[0, 2\*\*63 - 1\]"),
        ({"random_state": 2**63}, r"'random_state' parameter .* \[0, 2\*\*63 - 1\]"),
        ({"strategy__lr_syn": -1.0}, r"'strategy__lr_syn' parameter of DistributionMatching"),
        ({"strategy__nonsense": 1}, r"no setting 'nonsense'.*lr_syn"),
        ({"device": "tpu"}, r"'device' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(digits_small, params, match):
    X, y = digits_small
    with pytest.raises(InvalidParameterError, match=match):
        _fit(X, y, **params)


def test_unprefixed_keyword_is_reported_at_fit(digits_small):
    X, y = digits_small
    cond = DatasetCondenser(lr_syn=0.1)  # constructing never raises
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'lr_syn'.*strategy__"):
        cond.fit(X, y)


def test_ipc_larger_than_a_class(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"ipc=11 is larger than class 0 holds \(10 samples\)"):
        _fit(X, y, ipc=11)
    with pytest.raises(ValueError, match="ipc=11") as info:
        DatasetCondenser("random", ipc=11, verbose=0).fit(X, y)
    # a selection cannot start from noise, so the message does not suggest it
    assert "selection method 'random'" in str(info.value) and "noise" not in str(info.value)
    # learned sets that start from noise need no real samples per slot
    cond = _fit(X, y, ipc=11, init="noise")
    assert cond.X_syn_.shape == (110, 8, 8)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(digits_small, bad):
    X, y = digits_small
    X = X.copy()
    X[3, 2, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        _fit(X, y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        _fit(torch.as_tensor(X), y)


def test_length_mismatch(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="inconsistent numbers of samples: 100 and 99"):
        _fit(X, y[:-1])


def test_single_class(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="at least two classes"):
        _fit(X[y == 3], y[y == 3])


def test_missing_y_and_dataset_with_y(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="requires y"):
        DatasetCondenser(**FAST).fit(X)
    ds = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    with pytest.raises(ValueError, match="pass y=None"):
        DatasetCondenser(**FAST).fit(ds, y)


@pytest.mark.parametrize(
    "shape, match",
    [
        ((100,), "X must hold images"),
        ((100, 2, 2, 2, 2), "X must hold images"),
        ((100, 0), "0 feature"),
    ],
)
def test_unusable_shapes(digits_small, shape, match):
    _, y = digits_small
    with pytest.raises(ValueError, match=match):
        _fit(np.ones(shape), y)


def test_images_too_small_for_the_network(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"depth 3 .* at least 8x8.*model__depth"):
        _fit(X[:, :4, :4], y, model__depth=3)
    assert _fit(X[:, :4, :4], y, model__depth=2).X_syn_.shape == (10, 4, 4)
    assert _fit(X[:, :4, :4], y).X_syn_.shape == (10, 4, 4)  # "auto" depth fits small images


def test_input_shape_that_does_not_fit(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"input_shape=\(7, 7\) holds 49 values"):
        _fit(X.reshape(100, -1), y, input_shape=(7, 7))


def test_augmentation_on_rows_is_refused(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="augment='dsa' needs images"):
        _fit(X.reshape(100, -1), y, augment="dsa")


def test_augment_settings_of_a_method_that_does_not_augment(digits_small, caplog):
    X, y = digits_small
    # a typo is an error even where the settings are not used (dc does not augment)...
    with pytest.raises(ValueError, match="bogus"):
        DatasetCondenser("dc", ipc=1, max_iter=1, verbose=0, augment__bogus=3).fit(X, y)
    # ...and a valid setting that is not used is said, not silently dropped
    with caplog.at_level("INFO", logger="condensekit"):
        cond = DatasetCondenser("random", ipc=1, verbose=0, augment__flip=False).fit(X, y)
    assert cond.augment_ is None and "augment__flip" in caplog.text
    with pytest.raises(ValueError, match="augment='dsa' has no effect on the selection"):
        DatasetCondenser("random", ipc=1, verbose=0, augment="dsa").fit(X, y)


def test_unknown_model(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="Unknown model 'resnet-9000'"):
        _fit(X, y, model="resnet-9000")


@pytest.mark.parametrize(
    "params",
    [
        {"method": "dm"},
        {"method": "random"},
        {"method": "herding", "strategy__features": "raw"},
        {"method": "kcenter", "strategy__features": "raw"},
    ],
)
def test_bad_model_settings_are_reported_even_when_no_network_is_built(digits_small, params):
    X, y = digits_small
    rows = X.reshape(len(X), -1)

    def fit(X, **kw):  # every error comes before any training
        return DatasetCondenser(ipc=1, verbose=0, **params, **kw).fit(X, y)

    with pytest.raises(ValueError, match="Unknown model 'foo'"):
        fit(X, model="foo")
    with pytest.raises(ValueError, match=r"no parameter widht; its parameters are \['width'"):
        fit(X, model__widht=64)
    with pytest.raises(ValueError, match=r"'mlp' has no parameter foo.*'hidden'"):
        fit(rows, model__foo=1)
    cond = DatasetCondenser(ipc=1, verbose=0, model="foo", **params)
    with pytest.raises(ValueError):
        cond.fit(X, y)
    assert not hasattr(cond, "X_syn_")


def test_a_reported_seed_reproduces_the_fit(digits_small):
    X, y = digits_small
    first = DatasetCondenser("random", ipc=2, verbose=0).fit(X, y)
    again = DatasetCondenser("random", ipc=2, verbose=0, random_state=first.seed_).fit(X, y)
    np.testing.assert_array_equal(first.sample_indices_, again.sample_indices_)
    # distinct ints are distinct seeds (no masking folds 2**63 + k onto k: it is refused)
    a = DatasetCondenser("random", ipc=2, verbose=0, random_state=0).fit(X, y)
    b = DatasetCondenser("random", ipc=2, verbose=0, random_state=1).fit(X, y)
    assert not np.array_equal(a.sample_indices_, b.sample_indices_)


def test_complex_and_string_data(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="Complex data not supported"):
        _fit(X.astype(np.complex64), y)
    with pytest.raises(ValueError, match="could not be converted"):
        _fit(np.full(X.shape, "a"), y)


def test_continuous_target_is_refused(digits_small):
    X, _ = digits_small
    with pytest.raises(ValueError, match="Unknown label type"):
        _fit(X, np.linspace(0, 1, len(X)))


def test_cuda_without_gpu(digits_small, monkeypatch):
    X, y = digits_small
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'cuda'.*no CUDA GPU is available"):
        _fit(X, y, device="cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        _fit(X, y, device="cuda:1")


def test_failed_fit_leaves_nothing_half_fitted(digits_small):
    X, y = digits_small
    cond = _fit(X, y)
    assert hasattr(cond, "transform")
    with pytest.raises(ValueError):
        cond.set_params(ipc=50).fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(cond)
    assert not hasattr(cond, "X_syn_") and not hasattr(cond, "transform")


def test_divergence_is_an_error_not_a_nan_set(digits_small):
    X, y = digits_small
    cond = DatasetCondenser(
        "dm",
        ipc=1,
        max_iter=10,
        verbose=0,
        init="noise",
        augment=None,
        strategy__lr_syn=1e30,
        strategy__momentum_syn=0.9,
    )
    with pytest.raises(FloatingPointError, match="lower strategy__lr_syn"):
        cond.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(cond)


def test_array_where_a_name_is_expected(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="'init' parameter"):
        DatasetCondenser("dm", init=np.array(["real", "noise"]), verbose=0).fit(X, y)
