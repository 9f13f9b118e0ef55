"""Shared fixtures: real data only (digits for speed; MNIST and the CIFAR-10 subset from
``../shared/data`` or ``$CONDENSEKIT_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from condensekit.data import load_digits_split

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Folder with the real MNIST files and the CIFAR-10 subset."""
    path = Path(os.environ.get("CONDENSEKIT_DATA", ROOT.parent / "shared" / "data"))
    assert path.is_dir(), f"real data folder {path} is missing (set CONDENSEKIT_DATA)"
    return path


@pytest.fixture(scope="session")
def digits():
    """Digits as 8x8 images (pixel values 0..16), stratified 70/30 split."""
    return load_digits_split()


@pytest.fixture(scope="session")
def digits_small(digits):
    """Ten images of each digit class from the training split: enough for contract tests."""
    X_train, _, y_train, _ = digits
    rows = np.concatenate([np.flatnonzero(y_train == c)[:10] for c in range(10)])
    return X_train[rows], y_train[rows]


#: Condenser settings that make a DM fit take a fraction of a second on digits.
FAST = {
    "max_iter": 3,
    "verbose": 0,
    "strategy__batch_real": 8,
    "model__width": 16,
    "augment__flip": False,
}
