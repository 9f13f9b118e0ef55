"""The estimator contract of DESIGN.md section 2 on real digits."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from condensekit import DatasetCondenser

from .conftest import FAST


def test_init_only_stores(digits_small):
    cond = DatasetCondenser("no-such-method", ipc=-3, device="nowhere", strategy__bogus=1)
    assert cond.method == "no-such-method" and cond.ipc == -3
    assert cond.get_params()["strategy__bogus"] == 1
    with pytest.raises(NotFittedError):
        check_is_fitted(cond)


def test_get_set_params_clone_keep_routed_settings():
    cond = DatasetCondenser("dm", ipc=2, strategy__lr_syn=0.5, model__width=32)
    params = cond.get_params()
    assert params["strategy__lr_syn"] == 0.5 and params["model__width"] == 32
    cond.set_params(strategy__batch_real=64, ipc=3)
    twin = clone(cond)
    assert twin.get_params() == cond.get_params()
    assert twin.strategy__batch_real == 64 and twin.ipc == 3


def test_fit_transform_shapes_labels_and_history(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y)
    X_syn, y_syn = cond.transform()
    assert X_syn.shape == (20, 8, 8) and X_syn.dtype == X.dtype
    assert y_syn.tolist() == [c for c in range(10) for _ in range(2)]
    assert cond.n_iter_ == 3 and len(cond.history_) == 3
    assert np.isfinite(cond.history_["loss"]).all()
    assert cond.history_[:, "iteration"].tolist() == [1, 2, 3]
    assert (cond.history_["seconds"] > 0).all()
    assert cond.n_features_in_ == 64
    assert not hasattr(cond, "sample_indices_")
    np.testing.assert_array_equal(cond.classes_, np.arange(10))


def test_same_random_state_same_set_and_global_rng_untouched(digits_small):
    X, y = digits_small
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()
    a = DatasetCondenser("dm", ipc=2, random_state=7, **FAST).fit(X, y).transform()[0]
    b = DatasetCondenser("dm", ipc=2, random_state=7, **FAST).fit(X, y).transform()[0]
    c = DatasetCondenser("dm", ipc=2, random_state=8, **FAST).fit(X, y).transform()[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])


def test_seed_attribute_reproduces_an_unseeded_fit(digits_small):
    X, y = digits_small
    first = DatasetCondenser("dm", ipc=1, random_state=None, **FAST).fit(X, y)
    again = DatasetCondenser("dm", ipc=1, random_state=first.seed_, **FAST).fit(X, y)
    np.testing.assert_array_equal(first.X_syn_, again.X_syn_)


def test_output_follows_the_callers_value_scale(digits_small):
    # Normalisation makes the method scale-free, so scaling the input scales the output.
    X, y = digits_small
    base = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y).X_syn_
    scaled = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X * 255 / 16, y).X_syn_
    np.testing.assert_allclose(scaled, base * 255 / 16, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize(
    "make, shape_out",
    [
        (lambda X: X, (8, 8)),  # (n, H, W)
        (lambda X: X[:, None], (1, 8, 8)),  # (n, C, H, W)
        (lambda X: np.repeat(X[..., None], 3, axis=3), (8, 8, 3)),  # (n, H, W, C)
        (lambda X: (X * 15).astype(np.uint8), (8, 8)),  # uint8 pixels
        (lambda X: torch.as_tensor(X, dtype=torch.float32), (8, 8)),  # torch tensor
    ],
)
def test_every_image_layout_comes_back_in_the_same_layout(digits_small, make, shape_out):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(make(X), y)
    X_syn, _ = cond.transform()
    assert isinstance(X_syn, np.ndarray) and X_syn.shape == (10, *shape_out)
    assert cond.input_layout_.is_image


def test_channels_last_uint8_output_on_pixel_scale(digits_small):
    X, y = digits_small
    X_hwc = np.repeat((X * 15).astype(np.uint8)[..., None], 3, axis=3)
    cond = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(X_hwc, y)
    X_syn = cond.X_syn_
    assert X_syn.dtype == np.float32 and X_syn.shape == (10, 8, 8, 3)
    assert cond.input_layout_.channels_last
    assert 100 < X_syn.max() < 400  # pixel scale, not normalised units


def test_rows_with_and_without_input_shape(digits_small):
    X, y = digits_small
    rows = X.reshape(len(X), -1)
    tab = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(rows, y)
    assert tab.model_name_ == "mlp" and tab.augment_ is None
    img = DatasetCondenser("dm", ipc=1, random_state=0, input_shape=(8, 8), **FAST).fit(rows, y)
    assert img.model_name_ == "convnet" and img.augment_ is not None
    for cond in (tab, img):
        assert cond.transform()[0].shape == (10, 64)


def test_string_labels_come_back_as_strings(digits_small):
    X, y = digits_small
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )[y]
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X, names)
    assert set(cond.y_syn_) == set(names)
    assert sorted(cond.classes_) == sorted(set(names))


def test_random_selection_keeps_real_rows(digits):
    X, _, y, _ = digits
    cond = DatasetCondenser("random", ipc=5, random_state=0, verbose=0).fit(X, y)
    idx = cond.sample_indices_
    assert len(np.unique(idx)) == len(idx) == 50
    assert idx.min() >= 0 and idx.max() < len(X)
    np.testing.assert_array_equal(np.bincount(y[idx]), np.full(10, 5))
    np.testing.assert_array_equal(cond.X_syn_, X[idx])
    np.testing.assert_array_equal(cond.y_syn_, y[idx])
    other = DatasetCondenser("random", ipc=5, random_state=1, verbose=0).fit(X, y)
    assert set(other.sample_indices_) != set(idx)


def test_fit_resample_equals_fit_then_transform(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=1, random_state=3, **FAST)
    X_res, y_res = cond.fit_resample(X, y)
    X_t, y_t = clone(cond).fit(X, y).transform()
    np.testing.assert_array_equal(X_res, X_t)
    np.testing.assert_array_equal(y_res, y_t)


def test_transform_visibility(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("random", ipc=1, verbose=0)
    assert not hasattr(cond, "transform")
    cond.fit_resample(X, y)
    assert not hasattr(cond, "transform")  # imbalanced-learn pipelines refit this step
    cond.fit(X, y)
    assert hasattr(cond, "transform")
    with pytest.raises(ValueError, match="takes no data"):
        cond.transform(X)


def test_transform_returns_copies(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("random", ipc=1, verbose=0, random_state=0).fit(X, y)
    X_syn, _ = cond.transform()
    X_syn[:] = -1
    assert (cond.transform()[0] != -1).any()


def test_pickle_round_trip(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(X, y)
    back = pickle.loads(pickle.dumps(cond))
    np.testing.assert_array_equal(back.transform()[0], cond.transform()[0])
    assert back.get_params() == cond.get_params()
    np.testing.assert_array_equal(back.history_["loss"], cond.history_["loss"])


def test_dm_set_matches_class_means_better_than_its_real_start(digits):
    # The DM objective on the whole training set, under 8 fixed random networks, must be lower
    # for the learned set than for the real samples it started from (max_iter=1: one step).
    from condensekit.models import build_model
    from condensekit.strategies import class_means

    X, _, y, _ = digits
    kw = {
        "ipc": 1,
        "random_state": 0,
        "verbose": 0,
        "augment": None,
        "strategy__batch_real": 64,
        "model__width": 32,
    }
    start = DatasetCondenser("dm", max_iter=1, **kw).fit(X, y)
    learned = DatasetCondenser("dm", max_iter=300, **kw).fit(X, y)

    def objective(cond):
        norm, layout = cond.normalizer_, cond.input_layout_
        real = norm.normalize(layout.to_internal(X))
        syn = norm.normalize(layout.to_internal(cond.X_syn_))
        y_real, y_syn = torch.as_tensor(y), torch.as_tensor(cond.y_syn_)
        total = 0.0
        for seed in range(8):
            net = build_model(
                "convnet", (1, 8, 8), 10, generator=torch.Generator().manual_seed(seed), width=32
            )
            with torch.no_grad():
                diff = class_means(net.embed(real), y_real, 10) - class_means(
                    net.embed(syn), y_syn, 10
                )
            total += float((diff**2).sum())
        return total

    assert objective(learned) < 0.9 * objective(start)


def test_torch_dataset_input(digits_small):
    X, y = digits_small
    ds = torch.utils.data.TensorDataset(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y))
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(ds)
    assert cond.X_syn_.shape == (20, 8, 8)
    np.testing.assert_allclose(cond.X_syn_, X[cond.sample_indices_].astype(np.float32))


def test_torchvision_mnist_dataset_input(data_root, tmp_path):
    import gzip
    import shutil

    import torchvision

    raw = tmp_path / "MNIST" / "raw"  # torchvision reads the extracted files; nothing downloads
    raw.mkdir(parents=True)
    for gz in (data_root / "MNIST" / "raw").glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    ds = torchvision.datasets.MNIST(str(tmp_path), train=False, download=False)
    rnd = DatasetCondenser("random", ipc=3, random_state=0, verbose=0).fit(ds)
    assert rnd.X_syn_.shape == (30, 28, 28) and rnd.X_syn_.dtype == np.uint8
    np.testing.assert_array_equal(rnd.X_syn_, ds.data.numpy()[rnd.sample_indices_])
    dm = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(ds)
    assert dm.X_syn_.shape == (10, 28, 28) and dm.X_syn_.dtype == np.float32
    # a dataset with a transform is read item by item, in the transform's layout
    ds_t = torchvision.datasets.MNIST(
        str(tmp_path), train=False, transform=torchvision.transforms.ToTensor()
    )
    small = torch.utils.data.Subset(ds_t, range(200))
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(small)
    assert cond.X_syn_.shape == (20, 1, 28, 28) and cond.X_syn_.max() <= 1.0


def test_a_mistyped_keyword_survives_clone_and_is_rejected(digits_small):
    X, y = digits_small
    twin = clone(DatasetCondenser("dm", lr_syn=0.1))
    assert twin.get_params()["lr_syn"] == 0.1
    with pytest.raises(TypeError, match="unexpected keyword argument 'lr_syn'"):
        twin.fit(X, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda X: X,  # (n, H, W)
        lambda X: X[:, None],  # (n, C, H, W)
        lambda X: np.stack([X, X * 2, X * 3], axis=-1),  # (n, H, W, C)
        lambda X: X.reshape(len(X), -1),  # (n, d)
    ],
)
def test_layouts_round_trip_on_non_square_images(digits_small, make):
    from condensekit.data import infer_layout

    X, y = digits_small
    data = make(X[:, :, :6])  # 8 x 6: a height/width mix-up would show
    layout = infer_layout(data.shape[1:], data.dtype)
    np.testing.assert_allclose(layout.to_user(layout.to_internal(data)), data, rtol=1e-6)
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(data, y)
    np.testing.assert_array_equal(cond.X_syn_, data[cond.sample_indices_])


def test_bfloat16_and_grad_tensors_are_read(digits_small):
    X, y = digits_small
    Xt = torch.as_tensor(X, dtype=torch.bfloat16).requires_grad_(True)
    cond = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(Xt, y)
    assert cond.X_syn_.dtype == np.float32 and cond.X_syn_.shape == (10, 8, 8)


def test_unseeded_fit_does_not_read_global_rngs(digits_small):
    X, y = digits_small
    np_state, torch_state = np.random.get_state(), torch.random.get_rng_state()
    DatasetCondenser("dm", ipc=1, random_state=None, **FAST).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_dropout_networks_are_seeded_and_leave_global_rng_alone(digits_small, monkeypatch):
    from condensekit.models import MODELS, ConvNet

    class DropoutConvNet(ConvNet):
        def embed(self, x):
            return torch.nn.functional.dropout(super().embed(x), 0.5, self.training)

    monkeypatch.setattr(MODELS, "_items", {**MODELS._items, "dropnet": DropoutConvNet})
    X, y = digits_small
    state = torch.random.get_rng_state()
    kw = {**FAST, "model": "dropnet", "ipc": 1}
    a = DatasetCondenser("dm", random_state=0, **kw).fit(X, y).X_syn_
    b = DatasetCondenser("dm", random_state=0, **kw).fit(X, y).X_syn_
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_max_iter_none_runs_the_papers_iterations(digits_small, monkeypatch):
    from condensekit.strategies.distribution import DistributionMatching

    X, y = digits_small
    monkeypatch.setattr(DistributionMatching, "paper_max_iter", 4)
    params = {k: v for k, v in FAST.items() if k != "max_iter"}
    cond = DatasetCondenser("dm", ipc=1, max_iter=None, **params).fit(X, y)
    assert cond.n_iter_ == 4 and len(cond.history_) == 4
