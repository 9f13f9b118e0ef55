"""Saving and loading condensed sets; pictures."""

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from condensekit import (
    CondensedEvaluator,
    CondensedFileError,
    CondensedSet,
    DatasetCondenser,
    HerdingSelector,
    RandomSelector,
    load_condensed,
    save_condensed,
)
from condensekit.kinds import KINDS
from condensekit.plotting import accuracy_bars, image_grid, loss_curve

from .conftest import FAST


@pytest.fixture(scope="module")
def fitted_dm(digits):
    X_train, _, y_train, _ = digits
    return DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X_train, y_train)


def test_round_trip_keeps_samples_labels_and_metadata(fitted_dm, tmp_path):
    path = tmp_path / "set.npz"
    fitted_dm.save(path)
    loaded = load_condensed(path)
    assert isinstance(loaded, CondensedSet)
    np.testing.assert_array_equal(loaded.X, fitted_dm.X_syn_)
    np.testing.assert_array_equal(loaded.y, fitted_dm.y_syn_)
    np.testing.assert_array_equal(loaded.classes, fitted_dm.classes_)
    np.testing.assert_array_equal(loaded.normalizer.mean, fitted_dm.normalizer_.mean)
    assert loaded.input_layout == fitted_dm.input_layout_
    meta = loaded.metadata
    assert (meta["method"], meta["ipc"], meta["seed"]) == ("dm", 2, fitted_dm.seed_)
    assert meta["params"]["strategy__batch_real"] == 8
    assert meta["condensekit_version"] and meta["format_version"] == 1
    assert loaded.value_range == (0.0, 16.0) and loaded.sample_indices is None
    X, y = loaded  # unpacks like transform()
    assert X.shape == (20, 8, 8) and y.shape == (20,)
    # a plain numpy reader opens it without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert json.loads(str(npz["metadata"]))["method"] == "dm"


def test_loaded_set_scores_like_the_condenser(fitted_dm, digits, tmp_path):
    _, X_test, _, y_test = digits
    save_condensed(tmp_path / "set.npz", fitted_dm)
    loaded = load_condensed(tmp_path / "set.npz")
    evaluator = CondensedEvaluator(n_models=1, epochs=20, random_state=0, model__width=16)
    a = evaluator.evaluate(fitted_dm, X_test, y_test)
    b = evaluator.evaluate(loaded, X_test, y_test)
    assert a.accuracies == b.accuracies


def test_selection_with_string_labels_round_trips(digits, tmp_path):
    X_train, _, y_train, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )[y_train]
    sel = HerdingSelector(ipc=1, features="raw", verbose=0).fit(X_train.reshape(-1, 64), names)
    sel.save(tmp_path / "sel.npz")
    loaded = load_condensed(tmp_path / "sel.npz")
    np.testing.assert_array_equal(loaded.y, sel.y_syn_)
    np.testing.assert_array_equal(loaded.sample_indices, sel.sample_indices_)
    assert loaded.metadata["estimator"] == "HerdingSelector"
    assert loaded.input_layout.internal_shape == (64,)


@pytest.mark.parametrize(
    "encode",
    [
        lambda y: np.array([int(v) for v in y], dtype=object),
        lambda y: np.array([f"digit {v}" for v in y], dtype=object),
        lambda y: y.astype(str).astype(bytes),
    ],
    ids=["object-ints", "object-str", "bytes"],
)
def test_labels_fit_accepts_are_saved_without_pickle(digits, tmp_path, encode):
    X_train, _, y_train, _ = digits
    labels = encode(y_train)
    sel = RandomSelector(ipc=1, random_state=0, verbose=0).fit(X_train, labels)
    loaded = load_condensed(sel.save(tmp_path / "sel"))
    assert loaded.y.dtype != object and loaded.classes.dtype != object
    assert loaded.y.tolist() == sel.y_syn_.tolist()
    assert loaded.classes.tolist() == sel.classes_.tolist()


def test_labels_numpy_cannot_store_plainly_are_refused(digits, tmp_path):
    from fractions import Fraction

    X_train, _, y_train, _ = digits
    labels = np.array([Fraction(int(v), 3) for v in y_train], dtype=object)
    sel = RandomSelector(ipc=1, random_state=0, verbose=0).fit(X_train, labels)
    with pytest.raises(ValueError, match="cannot be stored without pickle"):
        sel.save(tmp_path / "sel")
    assert not (tmp_path / "sel.npz").exists()


def test_a_saved_selection_samples_its_smaller_budgets(digits, tmp_path):
    X_train, X_test, y_train, y_test = digits
    params = {"features": "raw", "verbose": 0, "random_state": 0}
    sel = HerdingSelector(ipc=4, **params).fit(X_train, y_train)
    sel.set_params(ipc=9)  # the file records the fitted budget, not a later parameter
    loaded = load_condensed(sel.save(tmp_path / "sel"))
    assert loaded.ipc == 4
    small = HerdingSelector(ipc=2, **params).fit(X_train, y_train)
    for got, want in zip(loaded.sample(2), small.transform()):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"n_per_class must be an int in \[1, 4\]"):
        loaded.sample(5)
    with pytest.raises(ValueError, match="random_state applies to method='generative'"):
        loaded.sample(2, random_state=0)
    ev = CondensedEvaluator(n_models=1, epochs=20, random_state=0, model__width=16)
    assert (
        ev.evaluate(loaded, X_test, y_test, n_per_class=2).accuracies
        == ev.evaluate(small, X_test, y_test).accuracies
    )


def test_a_saved_file_records_the_parameters_the_fit_ran_with(digits, tmp_path):
    X_train, _, y_train, _ = digits
    cond = DatasetCondenser("herding", ipc=2, random_state=3, verbose=0, strategy__features="raw")
    cond.fit(X_train, y_train)
    cond.set_params(method="random", ipc=7, random_state=5)  # after the fit: not in the file
    meta = load_condensed(cond.save(tmp_path / "c")).metadata
    assert (meta["method"], meta["ipc"], meta["seed"]) == ("herding", 2, 3)
    assert meta["params"]["method"] == "herding"
    assert meta["params"]["ipc"] == 2 and meta["params"]["random_state"] == 3
    assert meta["params"]["strategy__features"] == "raw"
    with pytest.raises(ValueError):  # a failed refit leaves nothing of the old fit behind
        cond.set_params(ipc=10_000).fit(X_train, y_train)
    assert not hasattr(cond, "_fit_params")


def _rewrite(path, out, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(out, **arrays)


def test_bad_files_give_a_clear_error(fitted_dm, tmp_path):
    good = tmp_path / "good.npz"
    fitted_dm.save(good)
    data = good.read_bytes()

    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all" * 10)
    np.savez(tmp_path / "foreign.npz", X=np.zeros((3, 2)), y=np.arange(3))
    np.savez(tmp_path / "pickled.npz", metadata=np.array([{"a": 1}], dtype=object))
    meta = json.loads(str(np.load(good)["metadata"]))
    newer = dict(meta, format_version=99)
    _rewrite(good, tmp_path / "newer.npz", metadata=np.array(json.dumps(newer)))
    _rewrite(good, tmp_path / "wrong_shape.npz", X=np.zeros((20, 9, 9)))
    _rewrite(good, tmp_path / "few_labels.npz", y=np.arange(3))
    _rewrite(good, tmp_path / "no_std.npz", normalizer_std=None)
    _rewrite(good, tmp_path / "bad_json.npz", metadata=np.array("{not json"))
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    flipped = bytearray(data)
    middle = len(flipped) // 3  # inside the compressed X member
    flipped[middle : middle + 60] = bytes(b ^ 0xFF for b in flipped[middle : middle + 60])
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))

    def with_meta(name, **changes):
        _rewrite(good, tmp_path / f"{name}.npz", metadata=np.array(json.dumps(meta | changes)))

    layout = meta["layout"]
    with_meta("empty_layout", layout=dict(layout, internal_shape=[]))
    with_meta("text_ipc", ipc="abc")
    with_meta("wrong_ipc", ipc=3)
    with_meta("bool_version", format_version=True)
    _rewrite(good, tmp_path / "text_X.npz", X=np.full((20, 8, 8), "a"))
    _rewrite(good, tmp_path / "bad_indices.npz", sample_indices=np.array([-1, 2]))
    with_meta("foo_dtype", layout=dict(layout, dtype="foo"))
    with_meta("text_dtype", layout=dict(layout, dtype="str"))
    _rewrite(good, tmp_path / "unsorted.npz", classes=np.arange(10)[::-1].copy())
    cases = {
        "truncated": "not a readable condensed set",
        "garbage": "not a readable condensed set",
        "foreign": "not a condensekit condensed set",
        "pickled": r"holds objects \(pickle\)",
        "newer": "format version 99",
        "wrong_shape": "inconsistent",
        "few_labels": "inconsistent",
        "no_std": "lacks the arrays",
        "bad_json": "unreadable metadata",
        "single": "single .npy array",
        "flipped": "not a readable condensed set",
        "empty_layout": "malformed metadata",
        "text_ipc": "ipc 'abc'",
        "wrong_ipc": "20 samples, not ipc 3 for each of 10 classes",
        "bool_version": "format version True",
        "text_X": "non-numeric",
        "bad_indices": "sample_indices",
        "foo_dtype": "layout dtype 'foo'",
        "text_dtype": "layout dtype 'str'",
        "unsorted": "not sorted and unique",
    }
    for name, message in cases.items():
        with pytest.raises(CondensedFileError, match=message):
            load_condensed(tmp_path / f"{name}.npz")
    with pytest.raises(FileNotFoundError, match="No condensed set"):
        load_condensed(tmp_path / "absent.npz")


def test_save_appends_npz_and_returns_the_path(fitted_dm, tmp_path):
    written = fitted_dm.save(tmp_path / "noext")
    assert written == str(tmp_path / "noext.npz")
    assert load_condensed(written).ipc == 2
    assert save_condensed(tmp_path / "b.npz", fitted_dm) == str(tmp_path / "b.npz")


def test_save_needs_a_fitted_condenser(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_condensed(tmp_path / "x.npz", DatasetCondenser())


def _decode(png: bytes) -> np.ndarray:
    from PIL import Image  # pillow comes with torchvision

    return np.array(Image.open(io.BytesIO(png)))


def test_image_grid_has_one_row_per_class_and_clamps(fitted_dm, tmp_path):
    grid = image_grid(fitted_dm, zoom=1, pad=1, labels=False)
    assert grid.image.shape == (10 * 9 + 1, 2 * 9 + 1)
    np.testing.assert_array_equal(grid.classes, np.arange(10))
    # the first image of class 3 sits in row 3, column 0, scaled from the value range 0..16
    first = fitted_dm.X_syn_[fitted_dm.y_syn_ == 3][0]
    expected = np.round(255 * np.clip(first / 16.0, 0, 1)).astype(np.uint8)
    np.testing.assert_array_equal(grid.image[1 + 3 * 9 : 1 + 3 * 9 + 8, 1:9], expected)
    grid.save(tmp_path / "grid.png")
    np.testing.assert_array_equal(_decode((tmp_path / "grid.png").read_bytes()), grid.image)
    assert grid._repr_png_()[:4] == b"\x89PNG"


def test_image_grid_labels_every_row_in_a_left_margin(fitted_dm, tmp_path):
    plain = image_grid(fitted_dm, zoom=4, labels=False).image
    labelled = image_grid(fitted_dm, zoom=4).image
    margin = labelled.shape[1] - plain.shape[1]
    assert labelled.shape[0] == plain.shape[0] and margin > 0
    np.testing.assert_array_equal(labelled[:, margin:], plain)  # the tiles are untouched
    row = 4 * 8 + 1
    for i in range(10):  # text (dark pixels) beside every row, on white
        strip = labelled[1 + i * row : (i + 1) * row, :margin]
        assert strip.min() < 100 and strip.max() == 255
    labels = image_grid(np.zeros((2, 8, 8)), ["cat", "dog"], zoom=2).image
    assert labels.shape[1] > image_grid(np.zeros((2, 8, 8)), [0, 1], zoom=2).image.shape[1]


def test_image_grid_of_arrays_colour_and_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 5, 5, 3)) * 3  # channels-last colour images, outside [0, 1]
    y = np.array([1, 1, 2, 2, 2, 5])
    grid = image_grid(X, y, value_range=(0.0, 1.0), zoom=2, labels=False)
    assert grid.image.shape == (3 * 11 + 1, 3 * 11 + 1, 3)
    inner = grid.image[1:11, 1:11]
    assert set(np.unique(inner)) <= set(range(256)) and inner.min() == 0 and inner.max() == 255
    with pytest.raises(ValueError, match="rows of features"):
        image_grid(rng.normal(size=(4, 10)), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="labels y"):
        image_grid(X)


def test_image_grid_reads_a_fit_on_rows_as_images_with_input_shape(digits, tmp_path):
    X_train, _, y_train, _ = digits
    rows = X_train.reshape(len(X_train), -1)
    cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(rows, y_train)
    with pytest.raises(ValueError, match="rows of features"):
        image_grid(cond)
    grid = image_grid(cond, input_shape=(8, 8), zoom=1, labels=False)
    assert grid.image.shape == (10 * 9 + 1, 2 * 9 + 1)
    # the same picture as from the images the rows were flattened from
    pictured = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
    np.testing.assert_array_equal(grid.image, image_grid(pictured, zoom=1, labels=False).image)
    loaded = load_condensed(cond.save(tmp_path / "rows"))
    np.testing.assert_array_equal(
        image_grid(loaded, input_shape=(8, 8), zoom=1, labels=False).image, grid.image
    )
    with pytest.raises(ValueError, match="holds 49 values"):
        image_grid(cond, input_shape=(7, 7))


def test_svg_charts_are_valid_and_complete(fitted_dm, tmp_path):
    curve = loss_curve(fitted_dm)
    root = ET.fromstring(curve.svg)
    points = root.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    assert len(points) == len(fitted_dm.history_)
    bars = accuracy_bars(["random", "dm"], [94.1, 97.8], [0.6, 0.4], title="digits ipc 10")
    root = ET.fromstring(bars.svg)
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 1 + 2  # background + one bar per label
    assert "digits ipc 10" in bars._repr_svg_()
    bars.save(tmp_path / "bars.svg")
    assert (tmp_path / "bars.svg").read_text().startswith("<svg")
    with pytest.raises(ValueError, match="as many labels"):
        accuracy_bars(["a"], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite value"):
        loss_curve([])


def test_accuracy_curves_draw_a_line_and_band_per_series_and_dashed_baselines(tmp_path):
    from condensekit.plotting import accuracy_curves

    fig = accuracy_curves(
        {"dc": ([25, 50, 100], [80, 85, 88], [1, 2, 1]), "dcc": ([25, 50], [78, 86], [2, 1])},
        baselines={"random": (60.0, 1.0)},
        title="digits <ipc 1>",
        log_x=True,
    )
    svg = fig.svg
    assert svg.count("<polyline") == 2 and svg.count("<polygon") == 2
    assert svg.count("<circle") == 5 and "stroke-dasharray" in svg
    assert "digits &lt;ipc 1&gt;" in svg and ">random<" in svg and ">dcc<" in svg
    fig.save(tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_text().startswith("<svg")
    with pytest.raises(ValueError, match="equal-length"):
        accuracy_curves({"dc": ([1, 2], [80], [1])})
    with pytest.raises(ValueError, match="log_x"):
        accuracy_curves({"dc": ([0, 2], [80, 81], [1, 1])}, log_x=True)


def test_a_saved_selection_records_its_order_and_helper_cost(digits, tmp_path):
    X_train, _, y_train, _ = digits
    cond = DatasetCondenser(
        "el2n",
        ipc=2,
        random_state=0,
        verbose=0,
        model__width=8,
        strategy__n_networks=1,
        strategy__epochs=1,
    ).fit(X_train, y_train)
    meta = load_condensed(cond.save(tmp_path / "c")).metadata
    # the order was left at its default, and still the file says which one ran
    assert "strategy__order" not in meta["params"]
    assert meta["strategy"]["order"] == cond.method_.order == "spread"
    assert meta["strategy"]["offset"] == 0.0 and meta["strategy"]["lr"] == 0.05
    assert meta["helper_cost"] == pytest.approx(cond.helper_cost_)
    assert (meta["helper_cost"]["networks"], meta["helper_cost"]["epochs"]) == (1, 1)


def test_a_per_class_file_whose_counts_disagree_with_its_labels_is_refused(digits, tmp_path):
    import json

    X_train, _, y_train, _ = digits
    budget = {c: 1 + c % 3 for c in range(10)}
    path = (
        DatasetCondenser("random", ipc=budget, random_state=0, verbose=0)
        .fit(X_train, y_train)
        .save(tmp_path / "good")
    )
    assert load_condensed(path).ipc_per_class == [budget[c] for c in range(10)]
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["metadata"]))
    meta["ipc_per_class"] = meta["ipc_per_class"][::-1]  # same total, wrong classes
    _rewrite(path, tmp_path / "swapped.npz", metadata=np.array(json.dumps(meta)))
    with pytest.raises(CondensedFileError, match="ipc_per_class"):
        load_condensed(tmp_path / "swapped.npz")


@pytest.mark.parametrize(
    ("method", "settings", "kind"),
    [
        ("dm", {"max_iter": 2}, "pixels"),
        ("herding", {"strategy__features": "raw"}, "selection"),
        (
            "generative",
            {"max_iter": 2, "strategy__warmup_iter": 1, "strategy__width": 16},
            "generator",
        ),
    ],
)
def test_a_fitted_set_and_its_saved_file_are_the_same_kind(
    digits_small, tmp_path, method, settings, kind
):
    """The condenser, its file and the evaluator ask the set's kind (condensekit.kinds)."""
    X, y = digits_small
    cond = DatasetCondenser(method, ipc=2, random_state=0, verbose=0, **settings).fit(X, y)
    live = cond.to_condensed_set()
    saved = load_condensed(cond.save(tmp_path / method))
    assert cond.condensed_size_["kind"] == live.kind == saved.kind == kind
    np.testing.assert_array_equal(live.X, saved.X)
    can_sample = KINDS.get(kind).can_sample
    assert hasattr(cond, "sample") == can_sample
    if can_sample:
        for n in (1, 2):
            np.testing.assert_array_equal(live.sample(n)[0], saved.sample(n)[0])
            np.testing.assert_array_equal(cond.sample(n)[0], saved.sample(n)[0])
    else:
        with pytest.raises(AttributeError, match="only a generative set or a selection"):
            saved.sample(1)
