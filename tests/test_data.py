"""Loaders of the real datasets (nothing downloads)."""

import hashlib

import numpy as np
import pytest

from condensekit.data import load_cifar10_subset, load_digits_split, load_mnist


def test_digits_split_is_stratified():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1257, 8, 8) and X_test.shape == (540, 8, 8)
    np.testing.assert_allclose(
        np.bincount(y_test) / len(y_test), np.bincount(y_train) / len(y_train), atol=0.01
    )
    rows = load_digits_split(as_images=False)[0]
    assert rows.shape == (1257, 64)


def test_mnist(data_root):
    X, y = load_mnist(data_root, train=False)
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))
    X_train, y_train = load_mnist(data_root / "MNIST" / "raw", train=True)
    assert X_train.shape == (60000, 28, 28) and np.bincount(y_train).min() > 5000


def test_cifar10_subset_matches_its_readme(data_root):
    X_train, y_train, X_test, _, classes = load_cifar10_subset(data_root)
    assert X_train.shape == (5085, 32, 32, 3) and X_test.shape == (1017, 32, 32, 3)
    assert hashlib.md5(X_train.tobytes()).hexdigest() == "1cd03138cda319861da4963f1e6a81ca"
    assert hashlib.md5(X_test.tobytes()).hexdigest() == "0c4c38dfa836385de34b32047bf21481"
    assert len(classes) == 10 and np.bincount(y_train).min() >= 475


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No MNIST files"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"cifar10_subset\.npz"):
        load_cifar10_subset(tmp_path)
