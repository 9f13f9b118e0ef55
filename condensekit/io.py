"""Save and load condensed sets as plain ``.npz`` files with their metadata.

A file holds only numeric or text arrays and one JSON document, and is read with
``numpy.load(..., allow_pickle=False)``: opening a file from someone else runs no code, and it
loads without the original data or the condenser object.

>>> import tempfile, os
>>> from condensekit import DatasetCondenser, load_condensed
>>> from condensekit.data import load_digits_split
>>> X_train, X_test, y_train, y_test = load_digits_split()
>>> cond = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X_train, y_train)
>>> path = os.path.join(tempfile.mkdtemp(), "digits_random.npz")
>>> written = cond.save(path)  # returns the path written
>>> loaded = load_condensed(path)
>>> loaded.X.shape, loaded.method, loaded.ipc
((20, 8, 8), 'random', 2)
"""

from __future__ import annotations

import datetime
import json
import math
import os
import zipfile
import zlib
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._version import __version__
from .data.adapters import InputLayout, Normalizer
from .kinds import KINDS, WEIGHT_PREFIX
from .sets import CondensedSet

#: Written into every file; a file without it is not a condensed set.
FORMAT = "condensekit.condensed-set"
#: Version of the layout below; files of a newer version are refused with a clear message.
FORMAT_VERSION = 1

#: Largest metadata member read (its JSON: method, parameters, versions, generator spec).
METADATA_LIMIT = 16 * 2**20

_REQUIRED = ("metadata", "X", "y", "classes", "normalizer_mean", "normalizer_std")


class CondensedFileError(ValueError):
    """A file is not a readable condensed set (corrupt, truncated, foreign or too new)."""


def _jsonable(value: Any) -> Any:
    """``value`` if it survives a JSON round trip unchanged, else its ``repr``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _storable_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Labels as an array numpy can save without pickle (numbers, booleans, text or bytes).

    An object array is stored in the plain dtype numpy infers for its items (``[1, 2]`` as
    integers, ``["a", "b"]`` as text) when every item compares equal to its stored value.
    """
    arr = np.asarray(labels)
    if arr.dtype.kind in "biufUS":
        return arr
    if arr.dtype.kind == "O":
        try:
            plain = np.array(arr.tolist())
        except (TypeError, ValueError):
            plain = arr
        same = plain.shape == arr.shape and bool(np.all(plain.astype(object) == arr))
        if plain.dtype.kind in "biufUS" and same:
            return plain
    raise ValueError(
        f"{name} of dtype {arr.dtype} cannot be stored without pickle; condensed sets are saved "
        "with numeric, boolean, string or bytes labels only."
    )


def save_condensed(path: str | os.PathLike, condenser: Any) -> str:
    """Write a fitted condenser's condensed set and metadata to ``path`` (``.npz``).

    Parameters
    ----------
    path : str or path-like
        Output file; ``.npz`` is appended when the name lacks it.
    condenser : fitted DatasetCondenser or selector
        Its ``X_syn_``, ``y_syn_``, ``classes_``, normalisation and layout are stored, with the
        method, ipc, seed, parameters, condensed size and package versions as JSON. Method,
        ipc and parameters are those the fit ran with, even after a later ``set_params``.

    Returns
    -------
    str
        The path written (with ``.npz``).
    """

    check_is_fitted(condenser)
    layout = condenser.input_layout_
    fitted = getattr(condenser, "_fit_params", None) or condenser.get_params(deep=False)
    budget = np.unique(np.asarray(condenser.y_syn_), return_counts=True)[1]
    if hasattr(condenser, "ipc_per_class_"):  # in classes_ order
        budget = np.asarray(condenser.ipc_per_class_)
    params = {k: _jsonable(v) for k, v in fitted.items()}  # as fit, not a later set_params
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "condensekit_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "estimator": type(condenser).__name__,
        "method": fitted.get("method", condenser.method),  # selectors fix it as a class attribute
        # fitted, not a later set_params; None where classes have budgets of their own
        "ipc": int(budget[0]) if (budget == budget[0]).all() else None,
        "ipc_per_class": [int(b) for b in budget],
        "n_classes": len(condenser.classes_),
        "seed": int(condenser.seed_),
        "params": params,
        # every setting of the method as fitted, defaults included (a selection's order...)
        "strategy": _jsonable(condenser.method_.get_params(deep=False)),
        "helper_cost": _jsonable(getattr(condenser, "helper_cost_", None)),
        "model": condenser.model_name_,
        "n_iter": int(condenser.n_iter_),
        "fit_time_s": float(condenser.fit_time_),
        "condensed_size": _jsonable(getattr(condenser, "condensed_size_", None)),
        "value_range": _jsonable(getattr(condenser, "value_range_", None)),
        "layout": {
            "sample_shape": list(layout.sample_shape),
            "internal_shape": list(layout.internal_shape),
            "channels_last": bool(layout.channels_last),
            "dtype": layout.dtype,
        },
    }
    arrays = {
        "metadata": np.array(json.dumps(metadata)),
        "X": np.asarray(condenser.X_syn_),
        "y": _storable_labels(condenser.y_syn_, "y_syn_"),
        "classes": _storable_labels(condenser.classes_, "classes_"),
        "normalizer_mean": np.asarray(condenser.normalizer_.mean, dtype=np.float32),
        "normalizer_std": np.asarray(condenser.normalizer_.std, dtype=np.float32),
    }
    KINDS.get(condenser.condensed_size_["kind"]).write(condenser, metadata, arrays)
    arrays["metadata"] = np.array(json.dumps(_jsonable(metadata)))
    if arrays["X"].dtype.kind not in "biuf":
        raise ValueError(f"X_syn_ of dtype {arrays['X'].dtype} cannot be stored.")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    np.savez_compressed(path, **arrays)
    return path


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> np.ndarray:
    """One ``.npy`` member, its header checked before anything is read: no objects (pickle),
    and as many data bytes declared (shape times item size) as the member holds, so that a
    header declaring a huge array is refused instead of allocated."""
    name = info.filename[: -len(".npy")]
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        readers = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        if version not in readers:
            raise CondensedFileError(f"{path!r}: array {name!r} has .npy version {version}.")
        shape, _, dtype = readers[version](fh)
        if dtype.hasobject:
            raise CondensedFileError(f"{path!r}: array {name!r} holds objects (pickle).")
        declared, held = math.prod(shape) * dtype.itemsize, info.file_size - fh.tell()
        if declared != held:
            raise CondensedFileError(
                f"{path!r}: array {name!r} declares shape {shape} of {dtype} ({declared} "
                f"bytes) but holds {held} bytes."
            )
    with zf.open(info) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _read_arrays(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """The metadata (format marker and version checked) and the arrays it calls for, read
    without pickle; any other member of the archive is never read. CondensedFileError else."""
    try:
        with open(path, "rb") as fh:
            if fh.read(6) == b"\x93NUMPY":
                raise CondensedFileError(
                    f"{path!r} is not a condensekit condensed set (it holds a single .npy "
                    "array, not an .npz archive)."
                )
        with zipfile.ZipFile(path) as zf:
            members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            if "metadata" not in members:
                raise CondensedFileError(
                    f"{path!r} is not a condensekit condensed set (it has no metadata; arrays: "
                    f"{sorted(members)[:8]})."
                )
            if members["metadata"].file_size > METADATA_LIMIT:
                raise CondensedFileError(
                    f"{path!r} has {members['metadata'].file_size} bytes of metadata; a "
                    f"condensed set's metadata is a small JSON document (at most "
                    f"{METADATA_LIMIT} bytes)."
                )
            metadata = _read_metadata(path, _open_member(zf, members["metadata"], path))
            wanted = [*_REQUIRED[1:], "sample_indices", "latent_codes"]
            spec = metadata.get("generator")
            if isinstance(spec, dict) and isinstance(spec.get("weights"), list):
                wanted += [WEIGHT_PREFIX + str(w) for w in spec["weights"]]
            missing = [k for k in _REQUIRED[1:] if k not in members]
            if missing:
                raise CondensedFileError(f"{path!r} lacks the arrays {missing}.")
            arrays = {k: _open_member(zf, members[k], path) for k in wanted if k in members}
            return arrays, metadata
    except CondensedFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        if "pickle" in reason:  # numpy's advice to unpickle is not ours to give
            reason = "it is neither an .npz archive nor pickle-free"
        raise CondensedFileError(
            f"{path!r} is not a readable condensed set (corrupt, truncated or not an .npz "
            f"file): {reason}"
        ) from None


def _read_metadata(path: str, document: np.ndarray) -> dict:
    """The JSON document of a file, with its format marker and version checked."""
    try:
        metadata = json.loads(str(document))
    except (json.JSONDecodeError, TypeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CondensedFileError(f"{path!r} has unreadable metadata: {reason}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CondensedFileError(f"{path!r} is not a condensekit condensed set (format marker).")
    version = metadata.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise CondensedFileError(
            f"{path!r} has format version {version!r}; this condensekit reads integer versions "
            f"1 to {FORMAT_VERSION} (a newer file needs a newer condensekit)."
        )
    return metadata


def _read_layout(spec: Any) -> InputLayout:
    """The stored :class:`InputLayout`; ValueError, TypeError or KeyError when malformed."""
    sample_shape = tuple(int(v) for v in spec["sample_shape"])
    internal_shape = tuple(int(v) for v in spec["internal_shape"])
    if len(internal_shape) not in (1, 3) or not sample_shape:
        raise ValueError(f"an unusable layout {sample_shape} -> {internal_shape}")
    if min(sample_shape + internal_shape) < 1:
        raise ValueError(f"an empty sample shape {sample_shape} -> {internal_shape}")
    return InputLayout(
        sample_shape, internal_shape, bool(spec["channels_last"]), str(spec["dtype"])
    )


def _problems(arrays: dict[str, np.ndarray], metadata: dict, layout: InputLayout) -> list[str]:
    """Ways in which the arrays disagree with each other or with the metadata."""
    X, y, classes = arrays["X"], arrays["y"], arrays["classes"]
    problems = []
    if X.dtype.kind not in "biuf":
        problems.append(f"samples of the non-numeric dtype {X.dtype}")
    if X.ndim < 2 or tuple(X.shape[1:]) != layout.sample_shape:
        problems.append(f"X has shape {X.shape}, samples of {list(layout.sample_shape)} expected")
    if y.ndim != 1 or len(y) != len(X):
        problems.append(f"{len(X)} samples but labels of shape {y.shape}")
    elif not np.isin(y, classes).all():
        problems.append("labels that are not among its classes")
    if int(np.prod(layout.internal_shape)) != int(np.prod(layout.sample_shape)):
        problems.append("an inconsistent layout")
    try:
        numeric_layout = np.dtype(layout.dtype).kind in "biuf"
    except TypeError:
        numeric_layout = False
    if not numeric_layout:
        problems.append(f"a layout dtype {layout.dtype!r}, a numeric dtype name expected")
    if classes.ndim != 1 or len(classes) == 0:
        problems.append(f"classes of shape {classes.shape}, a non-empty list expected")
    elif len(classes) > 1 and not bool(np.all(classes[1:] > classes[:-1])):
        problems.append("classes that are not sorted and unique")
    channels = layout.internal_shape[0]
    for name in ("normalizer_mean", "normalizer_std"):
        stat = arrays[name]
        if stat.shape != (channels,) or stat.dtype.kind not in "iuf":
            problems.append(f"{name} of shape {stat.shape}, ({channels},) numbers expected")
    std = arrays["normalizer_std"]
    for name in ("normalizer_mean", "normalizer_std"):
        stat = arrays[name]
        if stat.dtype.kind in "iuf" and not np.isfinite(stat).all():
            problems.append(f"{name} values that are not finite")
    if std.dtype.kind in "iuf" and not (std > 0).all():
        problems.append("normalizer_std values that are not positive")
    ipc = metadata.get("ipc")
    per_class = metadata.get("ipc_per_class")  # absent in files before per-class budgets
    if ipc is None and arrays.get("sample_indices") is not None:  # per-class budgets
        if (
            not isinstance(per_class, list)
            or len(per_class) != len(classes)
            or any(type(b) is not int or b < 1 for b in per_class)
        ):
            problems.append(f"ipc_per_class {per_class!r}, a positive int per class expected")
        else:
            labels = y
            runs = int(np.count_nonzero(labels[1:] != labels[:-1])) + 1 if len(labels) else 0
            counts = [int(np.count_nonzero(labels == c)) for c in classes]
            if counts != per_class or runs != len(classes):
                problems.append(
                    f"labels counted {counts} per class in {runs} runs, not ipc_per_class "
                    f"{per_class} grouped by class"
                )
    elif type(ipc) is not int or ipc < 1:
        problems.append(f"ipc {ipc!r}, a positive integer expected")
    elif len(X) != ipc * len(classes):
        problems.append(f"{len(X)} samples, not ipc {ipc} for each of {len(classes)} classes")
    if not isinstance(metadata.get("method"), str):
        problems.append(f"method {metadata.get('method')!r}, a name expected")
    indices = arrays.get("sample_indices")
    if indices is not None and (
        indices.dtype.kind not in "iu"
        or indices.shape != (len(X),)
        or (len(indices) and int(indices.min()) < 0)
    ):
        problems.append("sample_indices that are not one non-negative row index per sample")
    return problems


def load_condensed(path: str | os.PathLike) -> CondensedSet:
    """Read a condensed set written by :func:`save_condensed` (no pickle, no code run).

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` file.

    Returns
    -------
    CondensedSet

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    CondensedFileError
        If the file is corrupt or truncated, is not a condensed set, is of a newer format
        version, or its arrays disagree with its metadata.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No condensed set at {path!r}.")
    arrays, metadata = _read_arrays(path)
    try:
        layout = _read_layout(metadata["layout"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CondensedFileError(
            f"{path!r} has incomplete or malformed metadata: {exc!r}"
        ) from None
    problems = _problems(arrays, metadata, layout)
    if problems:
        raise CondensedFileError(f"{path!r} is inconsistent: " + "; ".join(problems) + ".")
    kind = "generator" if "generator" in metadata else "selection"
    if kind == "selection" and arrays.get("sample_indices") is None:
        kind = "pixels"
    try:
        fields = KINDS.get(kind).read(arrays, metadata)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CondensedFileError(f"{path!r} has an unusable {kind}: {exc}") from None
    return CondensedSet(
        X=arrays["X"],
        y=arrays["y"],
        classes=arrays["classes"],
        normalizer=Normalizer(arrays["normalizer_mean"], arrays["normalizer_std"]),
        input_layout=layout,
        metadata=metadata,
        **fields,
    )
