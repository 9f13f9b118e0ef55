"""What the ``condensekit`` command reads from its arguments: data (a known dataset or a user's
``.npz``), ``--set key=value`` settings and shapes, each with a one-line error."""

from __future__ import annotations

import argparse
import json
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .benchmark import DATASETS, load_dataset

DATA_HELP = (
    "a dataset known to the package (digits, mnist, cifar10) or an .npz file with arrays "
    "X_train, y_train (and X_test, y_test), or X and y"
)
INPUT_SHAPE_HELP = "read rows of features as images of this shape, H,W or C,H,W (e.g. 8,8)"


class CLIError(Exception):
    """An error to report as one line."""


def read_npz(path: str, test: bool) -> tuple[np.ndarray, np.ndarray]:
    """Training (or test) arrays of a user's ``.npz`` file."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CLIError(f"{path!r} holds a single .npy array; expected an .npz of X and y")
        with loaded as npz:
            names = set(npz.files)
            for x, y in (("X_test", "y_test"),) if test else (("X_train", "y_train"),):
                if {x, y} <= names:
                    return npz[x], npz[y]
            if {"X", "y"} <= names:
                return npz["X"], npz["y"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc) or type(exc).__name__
        raise CLIError(f"cannot read {path!r} as an .npz file of arrays: {reason}") from None
    wanted = "X_test and y_test" if test else "X_train and y_train"
    raise CLIError(f"{path!r} holds {sorted(names)}; expected arrays {wanted}, or X and y.")


def load_data(spec: str, data_root: str | None, test: bool = False):
    """(X, y) of a known dataset name or an .npz path (the train part unless ``test``)."""

    if spec in DATASETS:
        X_train, y_train, X_test, y_test = load_dataset(spec, data_root)
        return (X_test, y_test) if test else (X_train, y_train)
    if spec.endswith(".npz") or Path(spec).exists():
        if not Path(spec).exists():
            raise CLIError(f"no such file: {spec!r}")
        return read_npz(spec, test)
    raise CLIError(f"unknown dataset {spec!r}; use one of {DATASETS.names()} or an .npz file")


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse (numbers, true, null)."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--set expects key=value (e.g. strategy__lr_syn=0.5); got {item!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def add_set_option(parser: argparse.ArgumentParser, per_method: bool) -> None:
    """The ``--set KEY=VALUE ...`` option (``method:KEY=VALUE`` too when ``per_method``)."""
    help_text = "extra condenser parameters, e.g. strategy__lr_syn=0.5 model__width=64"
    if per_method:
        help_text = (
            "condenser parameters over the budget for every method (model__width=64) or for "
            "one method (dm:strategy__batch_real=64)"
        )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help=help_text)


def parse_method_settings(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``key=value`` pairs for every method (under ``"*"``) and ``method:key=value`` pairs for
    one method (under its name), as :func:`parse_settings` reads them."""
    settings: dict[str, dict[str, Any]] = {"*": {}}
    for item in items:
        method, sep, rest = item.partition(":")
        if sep and "=" not in method:
            settings.setdefault(method, {}).update(parse_settings([rest]))
        else:
            settings["*"].update(parse_settings([item]))
    return settings


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def image_shape(text: str) -> tuple[int, ...]:
    """``"8,8"``, ``"8x8"`` or ``"3,32,32"`` -> a tuple of two or three positive ints."""
    parts = text.lower().replace("x", ",").split(",")
    try:
        shape = tuple(int(v) for v in parts)
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected H,W or C,H,W of positive integers (e.g. 8,8), got {text!r}"
        )
    return shape


def check_writable(path: str | None, flag: str) -> None:
    """Refuse, before any work, an output path that cannot be written (``flag`` names it): the
    file is opened for appending (and removed again when it did not exist)."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{flag} {path!r} is a folder; give a file name")
    existed = target.exists()
    try:
        with open(target, "ab"):
            pass
    except OSError as exc:
        raise CLIError(f"{flag} {path!r} cannot be written: {exc.strerror or exc}") from None
    if not existed:
        target.unlink()
