"""Selection baselines: a selector scores every real sample, the shared base keeps the
``ipc`` best-scored samples of every class."""

from __future__ import annotations

from typing import ClassVar

import torch

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
