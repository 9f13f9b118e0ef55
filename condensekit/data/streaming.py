"""Real data read on demand: a map-style ``Dataset`` decoded batch by batch, never materialised.

A fit in ``data_mode="stream"`` keeps only the labels (read once: from ``targets`` where the
dataset has it, else one pass over the items) and a per-class index in memory; the samples of
every iteration's per-class batches are decoded when the method asks for them, through a
``DataLoader`` (workers and pinned memory on CUDA when asked for). The normalisation statistics
come from a bounded random sample of the items (:data:`STATISTICS_SAMPLE`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler, Subset

from .adapters import InputLayout, Normalizer, infer_layout, numpy_dtype

#: Items read (at random, without replacement) for the normalisation statistics and the value
#: range of a streamed fit; all of them when the dataset holds fewer.
STATISTICS_SAMPLE = 10_000
#: Rows of the statistics sample kept for the fit's fingerprint.
FINGERPRINT_ROWS = 2000
#: Largest chunk of the statistics sample decoded at once.
CHUNK_BYTES = 2**28
#: ``data_mode="auto"`` streams a ``Dataset`` whose samples would take more than this many bytes
#: as float32 (and keeps a smaller one, and every array, in memory).
STREAM_ABOVE_BYTES = 2**30


class ArrayDataset(Dataset):
    """``(X[i], y[i])`` pairs of arrays, so that arrays can be streamed too (no float32 copy)."""

    def __init__(self, X: Any, y: Any) -> None:
        if len(X) != len(y):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(X)} and {len(y)}."
            )
        self.X = X
        self.targets = np.asarray(y)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.X[i], self.targets[i]


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _check_item(item: Any, index: int) -> tuple[np.ndarray, Any]:
    """``(sample as an array, label)`` of one item, or a clear error."""
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise TypeError(
            f"A torch Dataset given as X must yield (sample, label) pairs; item {index} is "
            f"{type(item).__name__}."
        )
    sample = _as_array(item[0])
    if sample.dtype.kind not in "fiub":
        raise TypeError(
            f"Item {index} of the dataset holds a sample of dtype {sample.dtype}; expected "
            "numbers (an array, a tensor or a PIL image)."
        )
    return sample, _as_array(item[1]).reshape(()).item()


@contextmanager
def _worker_errors() -> Iterator[None]:
    """A ``DataLoader`` worker's TypeError or ValueError as the error it raised: the loader
    re-raises it with the worker's traceback in its message; keep the error's own line."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        text = str(exc).strip()
        if not text.startswith("Caught "):
            raise
        line = text.splitlines()[-1].removeprefix(f"{type(exc).__name__}: ")
        raise type(exc)(line) from None


def _labels_of(batch: Sequence[tuple[int, Any]]) -> list:
    """Labels of ``(index, item)`` pairs, every item checked (in the worker)."""
    return [_check_item(item, i)[1] for i, item in batch]


def read_labels(dataset: Dataset, num_workers: int = 0) -> np.ndarray:
    """Every item's label: the dataset's ``targets`` when it has one of the right length and no
    ``target_transform`` (through ``Subset`` and ``ConcatDataset`` too), else one pass over the
    items (which decodes every sample once), spread over ``num_workers`` ``DataLoader``
    workers when positive."""
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("The dataset given as X is empty.")
    if isinstance(dataset, Subset):
        parent = read_labels(dataset.dataset, num_workers)
        return parent[np.asarray(dataset.indices, dtype=np.int64)]
    if isinstance(dataset, ConcatDataset):
        return np.concatenate([read_labels(part, num_workers) for part in dataset.datasets])
    targets = getattr(dataset, "targets", None)
    plain = getattr(dataset, "target_transform", None) is None
    if plain and targets is not None and len(targets) == n:
        return _as_array(targets).reshape(-1)
    if num_workers == 0:
        return np.array([_check_item(dataset[i], i)[1] for i in range(n)])
    loader = DataLoader(
        _Indexed(dataset),
        batch_size=max(1, min(1024, math.ceil(n / num_workers))),
        num_workers=num_workers,
        collate_fn=_labels_of,
        generator=torch.Generator().manual_seed(0),  # the global random state is never read
    )
    with _worker_errors():
        return np.array([label for labels in loader for label in labels])


def _collate(
    batch: Sequence[tuple[int, Any]], layout: InputLayout
) -> tuple[torch.Tensor, np.ndarray, list[int]]:
    """Samples of ``(index, item)`` pairs as one internal float32 tensor (in the worker)."""
    indices = [i for i, _ in batch]
    checked = [_check_item(item, i) for i, item in batch]
    samples = np.stack([s for s, _ in checked])
    if samples.dtype.kind == "f" and not np.isfinite(samples).all():
        bad = indices[int(np.flatnonzero(~np.isfinite(samples).reshape(len(batch), -1).all(1))[0])]
        raise ValueError(f"X contains NaN or infinite values (item {bad} of the dataset).")
    labels = np.array([label for _, label in checked])
    return layout.to_internal(samples), labels, indices


class _Indexed(Dataset):
    """``dataset[i]`` as ``(i, item)``, so that a collated batch says which rows it holds."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[int, Any]:
        return i, self.dataset[i]


class _Requests(Sampler):
    """A batch sampler that yields the batches it was last given (one request at a time)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


@dataclass
class StreamingSource:
    """Decode rows of a map-style dataset on demand, checking every item.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Yields ``(sample, label)``; samples as arrays, tensors or PIL images.
    labels : numpy.ndarray
        Every item's label as read before the fit (:func:`read_labels`), in the caller's label
        space; a decoded item whose label differs is an error.
    layout : InputLayout
        How a sample maps onto the internal tensor.
    num_workers : int, default=0
        ``DataLoader`` worker processes (0: decode in this process).
    pin_memory : bool, default=False
        Pin decoded batches (for a CUDA device).
    seed : int, default=0
        Seed of the loader's own generator (its workers' seeds), so that decoding never reads
        the global random state.
    """

    dataset: Dataset
    labels: np.ndarray
    layout: InputLayout
    num_workers: int = 0
    pin_memory: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        self._requests = _Requests()
        self._loader = DataLoader(
            _Indexed(self.dataset),
            batch_sampler=self._requests,
            num_workers=self.num_workers,
            collate_fn=partial(_collate, layout=self.layout),
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def decode(self, rows: Sequence[int]) -> torch.Tensor:
        """Internal float32 samples ``(len(rows), *internal_shape)`` of ``rows``, in order."""
        rows = [int(r) for r in rows]
        if not rows:  # a rank whose share of a batch is empty
            return torch.empty((0, *self.layout.internal_shape))
        chunks = max(1, min(self.num_workers, len(rows)))
        size = math.ceil(len(rows) / chunks)
        self._requests.batches = [rows[k : k + size] for k in range(0, len(rows), size)]
        parts = []
        with _worker_errors():
            batches = list(self._loader)
        for X, labels, indices in batches:
            expected = self.labels[indices]
            if not np.array_equal(labels, expected):
                bad = int(np.flatnonzero(labels != expected)[0])
                raise ValueError(
                    f"Item {indices[bad]} of the dataset now has label {labels[bad].tolist()!r}, "
                    f"but {expected[bad].tolist()!r} when the labels were read before the fit; "
                    "a dataset streamed during a fit must give every item the same label on "
                    "every read."
                )
            parts.append(X)
        return torch.cat(parts)

    def statistics(
        self, rng: np.random.Generator
    ) -> tuple[Normalizer, tuple[float, float], torch.Tensor]:
        """Normalisation statistics and value range of up to :data:`STATISTICS_SAMPLE` items
        drawn by ``rng``, and up to :data:`FINGERPRINT_ROWS` of them (internal, not normalised).

        The sample is decoded in chunks of at most :data:`CHUNK_BYTES` (twice: the variance is
        taken around the mean), so its size in memory stays bounded whatever the samples.
        """
        n = len(self)
        rows = np.sort(rng.choice(n, size=min(n, STATISTICS_SAMPLE), replace=False)).tolist()
        sample_bytes = float32_bytes(1, self.layout)
        chunk = max(1, min(8192, CHUNK_BYTES // sample_bytes))
        low, high, kept = math.inf, -math.inf, []

        def chunks() -> Iterator[torch.Tensor]:
            for start in range(0, len(rows), chunk):
                yield self.decode(rows[start : start + chunk])

        def first_pass() -> Iterator[torch.Tensor]:
            nonlocal low, high
            for part in chunks():
                low, high = min(low, float(part.min())), max(high, float(part.max()))
                if sum(len(k) for k in kept) < FINGERPRINT_ROWS:
                    kept.append(part[:FINGERPRINT_ROWS])
                yield part

        passes = iter((first_pass, chunks))
        normalizer = Normalizer.fit_chunks(lambda: next(passes)())
        return normalizer, (low, high), torch.cat(kept)[:FINGERPRINT_ROWS]


def stream_layout(dataset: Dataset, input_shape: tuple[int, ...] | None) -> InputLayout:
    """The layout of a dataset's samples, read from its first item."""
    sample, _ = _check_item(dataset[0], 0)
    if sample.ndim < 1:
        raise ValueError("The samples of the dataset given as X are scalars; expected arrays.")
    return infer_layout(tuple(sample.shape), numpy_dtype(sample), input_shape)


def float32_bytes(n: int, layout: InputLayout) -> int:
    """Bytes of ``n`` internal float32 samples."""
    return 4 * n * math.prod(layout.internal_shape)
