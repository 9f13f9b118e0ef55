"""Selection baselines: a selector scores every real sample, the shared base keeps the
``ipc`` best-scored samples of every class."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch

from .._validation import InvalidParameterError
from ..strategies.base import CondensedResult, FitContext, Method


def top_per_class(
    scores: torch.Tensor, labels: torch.Tensor, n_classes: int, k: int
) -> torch.Tensor:
    """Indices of the ``k`` highest scores of every class, grouped by class, without a Python
    loop over classes. Ties keep the earlier row."""
    by_score = torch.argsort(scores, descending=True, stable=True)
    order = by_score[torch.argsort(labels[by_score], stable=True)]
    counts = torch.bincount(labels, minlength=n_classes)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(order), device=order.device) - starts[labels[order]]
    return order[rank < k]


def ranked_head(
    X: np.ndarray,
    y: np.ndarray,
    ipc: int,
    n_per_class: int | None,
    random_state: Any = None,
    method: str = "selection",
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_per_class`` samples of every class of a selection's kept set.

    A selection keeps ``ipc`` samples of every class, grouped by class and in the order the
    method ranks them (:func:`top_per_class`), so the first ``n`` of every class are the set
    that a fit with ``ipc=n`` keeps. Shared by ``DatasetCondenser.sample`` and
    ``CondensedSet.sample``.
    """
    if random_state is not None:
        raise InvalidParameterError(
            f"random_state applies to method='generative' draws only; method={method!r} is a "
            f"selection whose ranking its fit fixed. Got random_state={random_state!r}."
        )
    n = ipc if n_per_class is None else n_per_class
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= ipc:
        raise InvalidParameterError(
            f"n_per_class must be an int in [1, {ipc}] (the fitted ipc) or None for a "
            f"selection, got {n_per_class!r}; fit with a larger ipc to keep more."
        )
    keep = np.arange(len(y)) % ipc < n
    return X[keep], y[keep]


class SelectionStrategy(Method):
    """Base of selections of real samples; subclasses implement :meth:`score`."""

    learns_samples: ClassVar[bool] = False

    def score(self, ctx: FitContext) -> torch.Tensor:  # pragma: no cover - abstract
        """One score per real sample; higher is kept first."""
        raise NotImplementedError

    def keep_order(self, scores: torch.Tensor, ctx: FitContext) -> torch.Tensor:
        """Keys by which the base keeps samples (highest first); by default the scores."""
        return scores

    def run(self, ctx: FitContext) -> CondensedResult:
        """Score, then cut every class to the budget."""
        data = ctx.data
        scores = self.score(ctx)
        rows = top_per_class(self.keep_order(scores, ctx), data.y, data.n_classes, ctx.ipc)
        return CondensedResult(X=data.X[rows], y=data.y[rows], sample_indices=rows, scores=scores)
