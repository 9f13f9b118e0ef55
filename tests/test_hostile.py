"""Hostile inputs and faults: each refused early with an error that names the cause (issue 30's
table: run-away learning rates, crafted files, values float32 cannot hold, impossible budgets,
unwritable outputs, networks that cannot take the images)."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

from condensekit import DatasetCondenser, load_condensed
from condensekit import io as condensed_io
from condensekit._validation import InvalidParameterError
from condensekit.cli import main
from condensekit.data.datasets import data_home
from condensekit.io import CondensedFileError

TINY = {"ipc": 1, "random_state": 0, "verbose": 0, "model__width": 8}


@pytest.mark.parametrize("method", ["dm", "ddm", "dc", "dcc"])
def test_a_run_away_learning_rate_stops_the_fit(digits_small, method):
    X, y = digits_small
    cond = DatasetCondenser(
        method, max_iter=3, strategy__lr_syn=1e12, strategy__batch_real=8, **TINY
    )
    with pytest.raises(FloatingPointError, match=r"ran away.*lower strategy__lr_syn"):
        cond.fit(X, y)
    assert not hasattr(cond, "X_syn_")  # no half-fitted state


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -float("inf")])
def test_non_finite_settings_are_refused_by_validation(digits_small, bad):
    X, y = digits_small
    with pytest.raises(InvalidParameterError, match=r"strategy__lr_syn.*finite float"):
        DatasetCondenser("dm", strategy__lr_syn=bad, **TINY).fit(X, y)


def test_values_float32_cannot_hold_are_named(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"X holds values up to .*beyond float32's range"):
        DatasetCondenser("dm", max_iter=1, **TINY).fit(X.astype(np.float64) * 1e298, y)


def test_an_impossible_set_size_is_refused_before_allocation(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", **{**TINY, "ipc": 10**9}, init="noise", max_iter=1)
    with pytest.raises(InvalidParameterError, match=r"ipc=1000000000 asks for .* GiB.*Lower ipc"):
        cond.fit(X, y)


def test_a_network_that_cannot_take_the_images_is_one_line(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"'vit_b_16' cannot take images of shape \(1, 8, 8\)"):
        DatasetCondenser("dm", model="vit_b_16", max_iter=1, ipc=1, verbose=0).fit(X, y)
    with pytest.raises(ValueError, match=r"model 'convnet' refuses its settings \(model__width"):
        DatasetCondenser("dm", max_iter=1, **{**TINY, "model__width": "abc"}).fit(X, y)


# -- files ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory, digits):
    X, _, y, _ = digits
    folder = tmp_path_factory.mktemp("hostile")
    DatasetCondenser("dm", max_iter=2, **TINY).fit(X, y).save(folder / "dm.npz")
    gen = DatasetCondenser(
        "generative", max_iter=2, strategy__warmup_iter=1, strategy__width=8, **TINY
    ).fit(X, y)
    gen.save(folder / "gen.npz")
    return folder


def _arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _with_metadata(src, out, **changes):
    arrays = _arrays(src)
    meta = json.loads(str(arrays["metadata"]))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(out, **arrays)
    return out


def test_a_spec_asking_for_a_huge_generator_is_refused_before_it_is_built(saved, tmp_path):
    meta = json.loads(str(_arrays(saved / "gen.npz")["metadata"]))
    spec = dict(meta["generator"], kwargs=dict(meta["generator"]["kwargs"], width=8000))
    bad = _with_metadata(saved / "gen.npz", tmp_path / "wide.npz", generator=spec)
    start = time.perf_counter()
    with pytest.raises(CondensedFileError, match=r"unusable generator.*floats of shape"):
        load_condensed(bad)
    assert time.perf_counter() - start < 5  # the 8000-wide network (GBs) was never built


def test_only_the_arrays_the_metadata_calls_for_are_read(saved, tmp_path, monkeypatch):
    arrays = _arrays(saved / "dm.npz")
    np.savez_compressed(tmp_path / "extra.npz", **arrays, extra=np.zeros(10**7))
    opened = []
    original = condensed_io._open_member

    def spy(zf, info, path):
        opened.append(info.filename)
        return original(zf, info, path)

    monkeypatch.setattr(condensed_io, "_open_member", spy)
    loaded = load_condensed(tmp_path / "extra.npz")
    assert loaded.X.shape == arrays["X"].shape and "extra.npy" not in opened


def test_an_array_header_declaring_more_than_it_holds_is_refused(saved, tmp_path):
    arrays = _arrays(saved / "dm.npz")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arrays["X"])
    raw = buffer.getvalue()
    shape = repr(arrays["X"].shape).encode()
    forged = raw.replace(shape, b"(1000000000000,)".ljust(len(shape)), 1)
    assert forged != raw
    out = tmp_path / "forged.npz"
    np.savez(out, **{k: v for k, v in arrays.items() if k != "X"})
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("X.npy", forged)
    with pytest.raises(CondensedFileError, match=r"'X' declares shape \(1000000000000,\)"):
        load_condensed(out)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"format_version": 0}, "format version 0"),
        ({"format_version": -3}, "format version -3"),
        ({"normalizer_mean": np.array([np.nan], dtype=np.float32)}, "not finite"),
        ({"normalizer_std": np.array([np.inf], dtype=np.float32)}, "not finite"),
        ({"metadata": np.array("[" * 200_000 + "]" * 200_000)}, "nested too deeply"),
    ],
)
def test_bad_metadata_and_statistics_are_refused(saved, tmp_path, change, match):
    arrays = _arrays(saved / "dm.npz")
    meta = json.loads(str(arrays["metadata"]))
    for key, value in change.items():
        if key in arrays:
            arrays[key] = value
        else:
            meta[key] = value
            arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CondensedFileError, match=match):
        load_condensed(tmp_path / "bad.npz")


# -- the command line -----------------------------------------------------------------------
def test_unwritable_outputs_are_refused_before_any_work(saved, tmp_path, capsys, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(DatasetCondenser, "fit", no_fit)
    missing = tmp_path / "no" / "such" / "folder"
    assert main(["condense", "--data", "digits", "-o", str(missing / "x.npz")]) == 1
    assert "--output" in capsys.readouterr().err
    (tmp_path / "taken.npz").mkdir()
    assert main(["condense", "--data", "digits", "-o", str(tmp_path / "taken.npz")]) == 1
    assert "is a folder" in capsys.readouterr().err
    args = ["evaluate", str(saved / "dm.npz"), "--test", "digits", "--json", str(missing / "r")]
    assert main(args) == 1
    assert "--json" in capsys.readouterr().err
    assert not missing.exists()


def test_bad_settings_on_the_command_line_are_named(tmp_path, capsys):
    out = str(tmp_path / "x.npz")
    common = ["condense", "--data", "digits", "--ipc", "1", "--max-iter", "2", "-o", out]
    assert main([*common, "--quiet", "--set", "model__width=abc"]) == 1
    assert "model__width='abc'" in capsys.readouterr().err
    assert main([*common, "--quiet", "--set", "strategy__lr_syn=1e12", "model__width=8"]) == 1
    assert "ran away" in capsys.readouterr().err


def test_the_data_folder_is_found_from_anywhere_and_a_missing_one_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the working directory plays no part with these
    with pytest.raises(FileNotFoundError, match=r"given by root= \(--data-root on the command"):
        data_home(tmp_path / "missing")
    monkeypatch.setenv("CONDENSEKIT_DATA", str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match=r"given by \$CONDENSEKIT_DATA"):
        data_home()
    monkeypatch.delenv("CONDENSEKIT_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "condensekit_data").mkdir()
    assert data_home() == tmp_path / "condensekit_data"
