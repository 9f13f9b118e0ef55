"""Input adapters: from the caller's arrays, tensors or Datasets to internal tensors and back.

Internally every sample is a float32 tensor of shape ``(C, H, W)`` (images) or ``(d,)`` (rows of
features), normalised with per-channel (images) or per-feature (rows) statistics of the real
training data. :class:`InputLayout` records how the caller's own samples look, so that condensed
sets are handed back in the caller's layout, value scale and dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class InputLayout:
    """How the caller's samples map onto internal tensors.

    Attributes
    ----------
    sample_shape : tuple of int
        Shape of one sample as the caller gives it, e.g. ``(64,)``, ``(28, 28)``, ``(32, 32, 3)``.
    internal_shape : tuple of int
        ``(C, H, W)`` for images, ``(d,)`` for rows of features.
    channels_last : bool
        Whether the caller's images are ``(H, W, C)``.
    dtype : str
        The caller's dtype name; floating inputs come back in that dtype, others as float32.
    """

    sample_shape: tuple[int, ...]
    internal_shape: tuple[int, ...]
    channels_last: bool
    dtype: str

    @property
    def is_image(self) -> bool:
        """True when samples are images ``(C, H, W)`` internally."""
        return len(self.internal_shape) == 3

    @property
    def output_dtype(self) -> np.dtype:
        """Dtype of condensed samples handed back to the caller."""
        dt = np.dtype(self.dtype)
        return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float32)

    def to_internal(self, X: np.ndarray | torch.Tensor, name: str = "X") -> torch.Tensor:
        """Caller's samples ``(n, *sample_shape)`` -> float32 tensor ``(n, *internal_shape)``.

        ``name`` is the parameter that error messages name.
        """
        if isinstance(X, torch.Tensor):
            t = X.detach()
        else:
            arr = np.asarray(X)
            t = torch.as_tensor(arr if arr.flags.writeable else arr.copy())
        if tuple(t.shape[1:]) != self.sample_shape:
            raise ValueError(
                f"{name} has samples of shape {tuple(t.shape[1:])}, but the estimator was "
                f"fitted on samples of shape {self.sample_shape}."
            )
        t = t.to("cpu", torch.float32)  # internal data is prepared on the CPU, then moved once
        if self.channels_last:
            t = t.permute(0, 3, 1, 2)
        return t.reshape(t.shape[0], *self.internal_shape).contiguous()

    def to_user(self, X: torch.Tensor) -> np.ndarray:
        """Internal tensor ``(n, *internal_shape)`` -> caller's layout as a numpy array."""
        t = X.detach().to("cpu", torch.float32)
        if self.channels_last:
            t = t.permute(0, 2, 3, 1)
        out = t.reshape(t.shape[0], *self.sample_shape).numpy()
        return np.ascontiguousarray(out, dtype=self.output_dtype)


def infer_layout(
    sample_shape: tuple[int, ...], dtype: np.dtype, input_shape: tuple[int, ...] | None = None
) -> InputLayout:
    """Decide how samples of ``sample_shape`` are read.

    Rules: ``(d,)`` is a row of features, or an image when ``input_shape`` (``(H, W)`` or
    ``(C, H, W)``) is given; ``(H, W)`` is a one-channel image; ``(C, H, W)`` is channels-first
    unless the last axis has at most 4 entries and the first more than 4, which is read as
    channels-last ``(H, W, C)``.

    Raises
    ------
    ValueError
        For samples of more than three dimensions, or an ``input_shape`` that does not fit.
    """
    ndim = len(sample_shape)
    channels_last = False
    if ndim == 1:
        internal: tuple[int, ...] = tuple(sample_shape)
        if input_shape is not None:
            ishape = tuple(int(v) for v in input_shape)
            internal = (1, *ishape) if len(ishape) == 2 else ishape
            if math.prod(internal) != sample_shape[0]:
                raise ValueError(
                    f"input_shape={tuple(input_shape)} holds {math.prod(internal)} values, but "
                    f"each row of X has {sample_shape[0]} features."
                )
    elif ndim == 2:
        internal = (1, *sample_shape)
    elif ndim == 3:
        first, last = sample_shape[0], sample_shape[2]
        channels_last = last <= 4 < first
        internal = (last, *sample_shape[:2]) if channels_last else tuple(sample_shape)
    else:
        raise ValueError(
            "X must hold images (n, C, H, W), (n, H, W, C) or (n, H, W), or rows of features "
            f"(n, d); got samples of shape {tuple(sample_shape)}."
        )
    if input_shape is not None and ndim != 1:
        ishape = tuple(int(v) for v in input_shape)
        ishape = (1, *ishape) if len(ishape) == 2 else ishape
        if ishape != internal:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is only needed for flat rows (n, d), and it "
                f"disagrees with the images given, read as (C, H, W) = {internal}."
            )
    if 0 in sample_shape:
        raise ValueError(f"X has empty samples of shape {tuple(sample_shape)}.")
    return InputLayout(tuple(int(s) for s in sample_shape), internal, channels_last, dtype.name)


def numpy_dtype(X: np.ndarray | torch.Tensor) -> np.dtype:
    """The numpy dtype of an array or tensor; float32 for torch dtypes numpy lacks (bfloat16)."""
    if isinstance(X, np.ndarray):
        return X.dtype
    try:
        return np.dtype(str(X.dtype).removeprefix("torch."))
    except TypeError:
        return np.dtype(np.float32)


def _item_to_array(item: Any) -> np.ndarray:
    if isinstance(item, torch.Tensor):
        return item.detach().cpu().numpy()
    return np.asarray(item)


def read_dataset(dataset: Dataset) -> tuple[Any, np.ndarray]:
    """Read all images and labels of a map-style dataset yielding ``(sample, label)`` pairs.

    Datasets that keep their samples in ``data`` and ``targets`` attributes and apply no
    transform (``torchvision.datasets.MNIST``, ``CIFAR10``...) are read directly from those arrays;
    others are indexed item by item (PIL images, arrays and tensors are accepted).
    """
    n = len(dataset)  # type: ignore[arg-type]
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    untransformed = (
        getattr(dataset, "transform", None) is None
        and getattr(dataset, "target_transform", None) is None
        and getattr(dataset, "transforms", None) is None
    )
    if untransformed and data is not None and targets is not None and len(data) == n:
        return data, _item_to_array(targets).reshape(-1)
    if n == 0:
        raise ValueError("The dataset given as X is empty.")
    samples, labels = [], []
    for i in range(n):
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise TypeError(
                f"A torch Dataset given as X must yield (sample, label) pairs; item {i} is "
                f"{type(item).__name__}."
            )
        samples.append(_item_to_array(item[0]))
        labels.append(_item_to_array(item[1]).reshape(()))
    return np.stack(samples), np.stack(labels)


def as_numeric_array(X: Any, name: str = "X") -> np.ndarray | torch.Tensor:
    """Check that ``X`` is a numeric array or tensor with finite values; return it unconverted."""
    if isinstance(X, torch.Tensor):
        X = X.detach()
        if X.is_complex():
            raise ValueError(f"Complex data not supported: {name} must hold real numbers.")
        if X.dtype == torch.bool:
            X = X.to(torch.float32)
        if X.is_floating_point() and not bool(torch.isfinite(X).all()):
            raise ValueError(f"{name} contains NaN or infinite values.")
        if X.is_floating_point() and X.element_size() > 4 and X.numel():
            _check_float32_range(float(X.abs().max()), name)
        return X
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; condensekit needs a dense array.")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and friends
        raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if arr.dtype.kind in "OUS":  # objects or strings holding numbers are converted
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name} could not be converted to numbers: {exc}") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"Complex data not supported: {name} must hold real numbers.")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers; got an array of dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if arr.dtype.itemsize > 4 and arr.size:  # float64 (or int64) beyond float32's range
        _check_float32_range(max(abs(float(arr.max())), abs(float(arr.min()))), name)
    return arr


def _check_float32_range(largest: float, name: str) -> None:
    """Refuse values that float32, in which every computation runs, cannot hold."""
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"{name} holds values up to {largest:.3g}, beyond float32's range ({limit:.3g}), "
            "in which condensekit computes; rescale it."
        )


@dataclass(frozen=True)
class Normalizer:
    """Per-channel (images) or per-feature (rows) standardisation.

    Attributes
    ----------
    mean, std : numpy.ndarray
        One entry per channel (images) or per feature (rows). Constant channels or features get a
        standard deviation of 1, so they stay constant instead of dividing by zero.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: torch.Tensor, chunk: int = 8192) -> Normalizer:
        """Statistics of an internal tensor ``(n, C, H, W)`` or ``(n, d)``.

        Sums are accumulated in float64 over chunks of ``chunk`` samples, so no float64 copy
        of the whole dataset is made.
        """
        return cls.fit_chunks(lambda: (X[s : s + chunk] for s in range(0, X.shape[0], chunk)))

    @classmethod
    def fit_chunks(cls, chunks: Callable[[], Iterable[torch.Tensor]]) -> Normalizer:
        """Statistics of samples given in chunks (``chunks()`` gives them again for the second
        pass: the sum of squares is taken around the mean, not from raw moments)."""
        total, count, view, dims = None, 0, None, None
        for part in chunks():
            dims = (0, 2, 3) if part.dim() == 4 else (0,)
            view = (1, -1, 1, 1) if part.dim() == 4 else (1, -1)
            sums = part.to("cpu", torch.float64).sum(dim=dims)
            total = sums if total is None else total + sums
            count += part.numel() // part.shape[1]
        mean = total / count
        squares = torch.zeros_like(total)
        for part in chunks():
            centred = part.to("cpu", torch.float64) - mean.view(view)
            squares += (centred**2).sum(dim=dims)
        std = (squares / count).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))
        return cls(mean.numpy().astype(np.float32), std.numpy().astype(np.float32))

    def _shape(self, X: torch.Tensor) -> tuple[int, ...]:
        return (1, -1, 1, 1) if X.dim() == 4 else (1, -1)

    def normalize(self, X: torch.Tensor) -> torch.Tensor:
        """``(X - mean) / std`` broadcast over channels or features."""
        m = torch.as_tensor(self.mean, device=X.device).view(self._shape(X))
        s = torch.as_tensor(self.std, device=X.device).view(self._shape(X))
        return (X - m) / s

    def denormalize(self, X: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`."""
        m = torch.as_tensor(self.mean, device=X.device).view(self._shape(X))
        s = torch.as_tensor(self.std, device=X.device).view(self._shape(X))
        return X * s + m
