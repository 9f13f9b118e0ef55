"""Loaders of the real datasets that condensekit is tested and benchmarked on.

Nothing here downloads: MNIST is read from its four original gzip files, the CIFAR-10 subset from
its ``.npz`` file, and digits from the copy shipped inside scikit-learn.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

_ENV = "CONDENSEKIT_DATA"

_MNIST_FILES = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def data_home(root: str | os.PathLike | None = None) -> Path:
    """Folder holding the real datasets.

    ``root`` if given, else the ``CONDENSEKIT_DATA`` environment variable; else the first
    folder that exists of ``~/condensekit_data``, ``shared/data`` beside a development checkout
    of condensekit (``<checkout>/../shared/data``) and ``../shared/data`` from the working
    directory. Nothing is ever downloaded.

    Raises
    ------
    FileNotFoundError
        If the folder given (or none of the defaults) exists; the message lists where it looked.
    """
    given = root if root is not None else os.environ.get(_ENV)
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_dir():
            how = "root= (--data-root on the command line)" if root is not None else f"${_ENV}"
            raise FileNotFoundError(f"Data folder {str(path)!r}, given by {how}, does not exist.")
        return path
    candidates = [
        Path("~/condensekit_data").expanduser(),
        Path(__file__).resolve().parents[2] / ".." / "shared" / "data",
        Path("..") / "shared" / "data",
    ]
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "No data folder: pass root= (--data-root on the command line) or set $"
        f"{_ENV}; looked in {[str(p) for p in candidates]}."
    )


def load_digits_split(
    test_size: float = 0.3, random_state: int = 0, as_images: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8x8 digits, split in a stratified way.

    Parameters
    ----------
    test_size : float, default=0.3
        Fraction of the samples held out for testing.
    random_state : int, default=0
        Seed of the split.
    as_images : bool, default=True
        Return images ``(n, 8, 8)`` (pixel values 0..16); otherwise rows ``(n, 64)``.

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray
    """
    digits = load_digits()
    X = digits.images if as_images else digits.data
    return tuple(  # type: ignore[return-value]
        train_test_split(
            X,
            digits.target,
            test_size=test_size,
            random_state=random_state,
            stratify=digits.target,
        )
    )


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=offset)


def load_mnist(
    root: str | os.PathLike | None = None, train: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from its four original gzip files.

    Parameters
    ----------
    root : path-like, optional
        A folder that holds ``MNIST/raw/*.gz`` (the layout of ``torchvision.datasets.MNIST``), or
        the ``raw`` folder itself. Defaults to :func:`data_home`.
    train : bool, default=True
        The 60,000 training images, or the 10,000 test images.

    Returns
    -------
    X : numpy.ndarray of shape (n, 28, 28), uint8
    y : numpy.ndarray of shape (n,), int64
    """
    base = data_home(root)
    images_name, labels_name = _MNIST_FILES[bool(train)]
    for folder in (base / "MNIST" / "raw", base / "raw", base):
        if (folder / images_name).is_file() and (folder / labels_name).is_file():
            break
    else:
        raise FileNotFoundError(f"No MNIST files ({images_name}, {labels_name}) under {base}.")
    images = _read_idx(folder / images_name, 16)
    labels = _read_idx(folder / labels_name, 8).astype(np.int64)
    if images.size != labels.size * 28 * 28:
        raise ValueError(f"MNIST files in {folder} are corrupt: image and label counts differ.")
    return images.reshape(-1, 28, 28).copy(), labels


def load_cifar10_subset(
    root: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The real CIFAR-10 subset (5,085 train and 1,017 test images, uint8 HWC).

    Parameters
    ----------
    root : path-like, optional
        A folder holding ``cifar10-subset/cifar10_subset.npz`` or the npz itself, or the path of
        the file. Defaults to :func:`data_home`.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        Images of shape (n, 32, 32, 3) uint8 and int64 labels.
    classes : list of str
        Class names.
    """
    path = Path(root) if root is not None and Path(root).is_file() else data_home(root)
    if path.is_dir():
        for cand in (path / "cifar10-subset" / "cifar10_subset.npz", path / "cifar10_subset.npz"):
            if cand.is_file():
                path = cand
                break
        else:
            raise FileNotFoundError(f"No cifar10_subset.npz under {path}.")
    with np.load(path, allow_pickle=False) as npz:
        return (
            npz["x_train"],
            npz["y_train"].astype(np.int64),
            npz["x_test"],
            npz["y_test"].astype(np.int64),
            [str(c) for c in npz["classes"]],
        )
