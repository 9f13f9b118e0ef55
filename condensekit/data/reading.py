"""Reading the caller's real data for a fit: in memory, or streamed (``data_mode``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._torch_utils import derived_seed
from .._validation import InvalidParameterError
from ..base import PreparedData, encode_labels, prepare_training_data
from .adapters import Normalizer, as_numeric_array
from .real import RealData, StreamedRealData
from .streaming import (
    STATISTICS_SAMPLE,
    STREAM_ABOVE_BYTES,
    ArrayDataset,
    StreamingSource,
    float32_bytes,
    read_labels,
    stream_layout,
)

if TYPE_CHECKING:  # the methods read the data; this module only names their type
    from ..strategies.base import Method

logger = logging.getLogger("condensekit")


def read_real_data(
    condenser: Any, X: Any, y: Any, strategy: Method, device: torch.device, seed: int
) -> tuple[PreparedData, RealData, Normalizer, tuple[float, float], torch.Tensor]:
    """The real data as the method sees it, in memory or streamed (``data_mode``).

    ``"memory"`` (and ``"auto"`` for arrays, and for a ``Dataset`` whose float32 samples take
    at most :data:`~condensekit.data.streaming.STREAM_ABOVE_BYTES`, or whose method needs every
    sample at once) normalises every sample onto the device. ``"stream"`` keeps the labels and
    a per-class index, and decodes the rows the method gathers; its statistics and value range
    come from a random sample of the items, drawn from ``seed`` (not from the fit's generator).

    Returns
    -------
    prepared, data, normalizer, value_range, sampled
        ``sampled``: normalised samples (all of them in memory; up to 2,000 of the statistics
        sample when streamed) that the fit's fingerprint reads.
    """
    name = type(condenser).__name__
    mode = getattr(condenser, "data_mode", "memory")  # the selectors never stream
    source = None
    if mode != "memory" and (mode == "stream" or isinstance(X, Dataset)):
        source = streaming_source(condenser, X, y, strategy, device, seed, mode == "auto")
    if source is None:
        prepared = prepare_training_data(X, y, condenser.input_shape, name)
        normalizer = Normalizer.fit(prepared.X)
        value_range = (float(prepared.X.min()), float(prepared.X.max()))
        data = RealData(
            normalizer.normalize(prepared.X).to(device),
            torch.as_tensor(prepared.y, device=device),
            len(prepared.classes),
        )
        return prepared, data, normalizer, value_range, data.X
    classes, y_idx = encode_labels(source.labels)
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs at least two classes in y; got 1 class ({classes[0].tolist()!r})."
        )
    prepared = PreparedData(source.dataset, None, y_idx, classes, source.layout)
    rng = np.random.default_rng(derived_seed(seed, 3))
    normalizer, value_range, sampled = source.statistics(rng)
    data = StreamedRealData(
        source, torch.as_tensor(y_idx, device=device), len(classes), normalizer, device
    )
    logger.info(
        "%s: streaming %d samples (statistics from %d of them)",
        name,
        len(y_idx),
        min(len(y_idx), STATISTICS_SAMPLE),
    )
    return prepared, data, normalizer, value_range, normalizer.normalize(sampled)


def streaming_source(
    condenser: Any, X: Any, y: Any, strategy: Method, device: torch.device, seed: int, auto: bool
) -> StreamingSource | None:
    """The source of a streamed fit, or None where ``data_mode="auto"`` keeps the data in
    memory (a small dataset, or a method that needs every sample)."""
    name = type(condenser).__name__
    if not strategy.supports_streaming:
        if auto:
            return None
        raise InvalidParameterError(
            f"data_mode='stream': method {condenser.method!r} reads every real sample at once "
            "(a selection ranks them all); use data_mode='memory' or 'auto'."
        )
    if isinstance(X, Dataset):
        if y is not None:
            raise ValueError(
                f"{name}.fit got a torch Dataset as X and also y; the labels are read from the "
                "dataset, so pass y=None."
            )
        dataset = X
    elif y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    elif getattr(getattr(X, "dtype", None), "kind", "") in ("f", "i", "u", "b"):
        dataset = ArrayDataset(X, y)  # finiteness is checked batch by batch: no pass over a memmap
    else:
        dataset = ArrayDataset(as_numeric_array(X), y)
    layout = stream_layout(dataset, condenser.input_shape)
    if auto and float32_bytes(len(dataset), layout) <= STREAM_ABOVE_BYTES:
        return None
    return StreamingSource(
        dataset,
        read_labels(dataset, condenser.num_workers),
        layout,
        num_workers=condenser.num_workers,
        pin_memory=device.type == "cuda",
        seed=derived_seed(seed, 4),
    )
