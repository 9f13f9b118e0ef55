"""Input adapters and loaders of the real datasets."""

from .adapters import InputLayout, Normalizer, infer_layout, read_dataset
from .datasets import data_home, load_cifar10_subset, load_digits_split, load_mnist

__all__ = [
    "InputLayout",
    "Normalizer",
    "data_home",
    "infer_layout",
    "load_cifar10_subset",
    "load_digits_split",
    "load_mnist",
    "read_dataset",
]
