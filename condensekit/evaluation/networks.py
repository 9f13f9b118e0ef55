"""One evaluation network: built from its seed, trained on the set, tested; runnable in any
process (joblib's workers), with the same result wherever it runs."""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from typing import Any

import torch

from .._torch_utils import derived_seed, isolated_global_rng, make_generator
from ..models import build_model
from ..models.training import accuracy, train_network

#: Held while a network trains in the caller's process (see :func:`train_and_test`).
_GLOBAL_RNG_LOCK = threading.RLock()


def train_and_test(
    seed: int,
    threads: tuple[int, int] | None,
    *,
    model_name: str,
    shape: tuple[int, ...],
    n_classes: int,
    device: torch.device,
    model_kwargs: dict[str, Any],
    train_kwargs: dict[str, Any],
    data: tuple[torch.Tensor, ...],
) -> float:
    """Train one network from ``seed`` on the set and return its test accuracy.

    A module-level function, so that joblib can run it in another process. ``threads`` is
    ``(caller's process id, torch threads)``: a worker in another process uses that many
    threads; one in the caller's process (a thread backend) leaves the setting alone. The
    network's weights, shuffling and augmentation come from ``seed`` alone, wherever it runs.
    """
    elsewhere = threads is not None and os.getpid() != threads[0]
    if elsewhere:
        torch.set_num_threads(threads[1])  # this worker process's own setting
    X_train, y_train, X_test, y_test = data
    # the global random state is one per process: threads of the caller's process (a thread
    # backend) train one network at a time, so that each isolates it on its own
    with nullcontext() if elsewhere else _GLOBAL_RNG_LOCK:
        gen = make_generator(seed, device)
        net = build_model(
            model_name, shape, n_classes, generator=gen, device=device, **model_kwargs
        )
        with isolated_global_rng(derived_seed(seed, 1), device):
            train_network(net, X_train, y_train, generator=gen, **train_kwargs)
        return accuracy(net, X_test, y_test)
