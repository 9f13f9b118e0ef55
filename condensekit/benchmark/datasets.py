"""The datasets a benchmark runs on, read from local files only (nothing is downloaded).

Each entry of :data:`DATASETS` knows how to load itself (``(X_train, y_train, X_test,
y_test)``) and whether a horizontal flip preserves its labels (DESIGN.md, DSA: never for
digits). Besides the three datasets of DESIGN.md, two are built from them for DCC's claims:
``mnist_on_cifar`` (task-irrelevant backgrounds) and ``cifar10_quadrupeds`` (fine-grained
classes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._registry import Registry
from ..data import load_cifar10_subset, load_digits_split, load_mnist


@dataclass(frozen=True)
class BenchmarkDataset:
    """A dataset of the benchmark runner.

    Parameters
    ----------
    load : callable
        ``load(data_root) -> (X_train, y_train, X_test, y_test)``; ``data_root`` is the folder
        of the local files (``None``: ``$CONDENSEKIT_DATA`` or ``../shared/data``).
    flip : bool
        Whether a horizontal flip keeps every label (DSA's ``flip`` for this dataset).
    """

    load: Callable[[Any], tuple]
    flip: bool


#: The datasets known to the benchmark runner and the command line, by name.
DATASETS: Registry[BenchmarkDataset] = Registry("dataset")


def load_dataset(name: str, data_root: Any = None) -> tuple:
    """``(X_train, y_train, X_test, y_test)`` of a dataset of :data:`DATASETS`."""
    return DATASETS.get(name).load(data_root)


class _Flips(Mapping):
    """``FLIP[name]``: whether flips keep the labels of each registered dataset (read live)."""

    def __getitem__(self, name: str) -> bool:
        if name not in DATASETS:
            raise KeyError(name)
        return DATASETS.get(name).flip

    def __iter__(self) -> Iterator[str]:
        return iter(DATASETS.names())

    def __len__(self) -> int:
        return len(DATASETS.names())


#: Horizontal flips are no label-preserving augmentation for digits (DESIGN.md, DSA).
FLIP: Mapping[str, bool] = _Flips()


def _digits(data_root: Any = None) -> tuple:
    X_train, X_test, y_train, y_test = load_digits_split(test_size=0.3, random_state=0)
    return X_train, y_train, X_test, y_test


def _mnist(data_root: Any = None) -> tuple:
    return (*load_mnist(data_root, train=True), *load_mnist(data_root, train=False))


def _cifar10(data_root: Any = None) -> tuple:
    return load_cifar10_subset(data_root)[:4]


#: CIFAR-10 classes of the fine-grained benchmark: the four four-legged mammals.
QUADRUPEDS = ("cat", "deer", "dog", "horse")


def cifar10_quadrupeds(data_root: Any = None) -> tuple:
    """The fine-grained benchmark: the CIFAR-10 subset's cat, deer, dog and horse images.

    The DCC paper's evidence for contrastive matching is fine-grained ImageNet groups, whose
    classes share most of their appearance and their backgrounds. Of the CIFAR-10 classes, the
    four-legged mammals are the closest to that: similar bodies and fur, the same grass, fields
    and rooms behind them, and cat/dog is the pair that CIFAR-10 classifiers confuse most.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        uint8 images ``(n, 32, 32, 3)`` (about 2,000 train and 400 test) and labels 0..3 in the
        order of :data:`QUADRUPEDS`.
    """
    X_train, y_train, X_test, y_test, names = load_cifar10_subset(data_root)
    new_label = {list(names).index(name): k for k, name in enumerate(QUADRUPEDS)}
    out: list[np.ndarray] = []
    for X, y in ((X_train, y_train), (X_test, y_test)):
        keep = np.isin(y, list(new_label))
        out += [X[keep], np.array([new_label[int(v)] for v in y[keep]], dtype=np.int64)]
    return tuple(out)


def mnist_on_cifar(
    data_root: Any = None, seed: int = 0, n_train: int = 5000, alpha: float = 0.5
) -> tuple:
    """MNIST digits drawn over CIFAR-10 photographs: task-irrelevant features dominate.

    Every 28x28 digit is blended (opacity ``alpha``, white strokes) at a random offset into a
    32x32 colour background cut from the CIFAR-10 subset. The background is drawn independently
    of the digit's label, so it carries no class information, but it holds most of the pixel
    variance. Training images use CIFAR training photographs, test images the CIFAR test
    photographs, so no background is shared between the splits.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        uint8 images ``(n, 32, 32, 3)`` and int64 digit labels; ``n_train`` balanced training
        images (``n_train // 10`` per class) and 1,000 test images (100 per class).
    """
    rng = np.random.default_rng(seed)
    bg_train, _, bg_test, _, _ = load_cifar10_subset(data_root)
    out: list[np.ndarray] = []
    for (digits, labels), backgrounds, n in (
        (load_mnist(data_root, train=True), bg_train, n_train),
        (load_mnist(data_root, train=False), bg_test, 1000),
    ):
        rows = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), n // 10, replace=False) for c in range(10)]
        )
        rows = rng.permutation(rows)
        many = len(rows) > len(backgrounds)
        images = backgrounds[rng.choice(len(backgrounds), len(rows), replace=many)]
        images = images.astype(np.float32)
        offsets = rng.integers(0, 5, size=(len(rows), 2))
        for i, (row, (dy, dx)) in enumerate(zip(rows, offsets)):
            mask = alpha * digits[row].astype(np.float32)[..., None] / 255.0
            patch = images[i, dy : dy + 28, dx : dx + 28]
            images[i, dy : dy + 28, dx : dx + 28] = patch * (1 - mask) + 255.0 * mask
        out += [np.round(images).astype(np.uint8), labels[rows].astype(np.int64)]
    return tuple(out)


DATASETS.register("digits", BenchmarkDataset(_digits, flip=False))
DATASETS.register("mnist", BenchmarkDataset(_mnist, flip=False))
DATASETS.register("cifar10", BenchmarkDataset(_cifar10, flip=True))
DATASETS.register("mnist_on_cifar", BenchmarkDataset(mnist_on_cifar, flip=False))
DATASETS.register("cifar10_quadrupeds", BenchmarkDataset(cifar10_quadrupeds, flip=True))
