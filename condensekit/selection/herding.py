"""Herding (Welling, ICML 2009): per class, greedily add the sample that keeps the mean of the
chosen set closest to the class mean."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import torch

from .._validation import Interval, Options
from ..strategies.base import FitContext
from .base import SelectionStrategy
from .features import real_features


def herding_order(features: torch.Tensor, k: int) -> torch.Tensor:
    """The first ``k`` herding picks among the rows of ``features`` (one class), in order.

    Step ``t`` picks the row ``i`` not yet chosen that minimises
    ``|| mean(features) - (sum of chosen + features[i]) / (t + 1) ||``; the first pick is the
    row nearest the mean. Ties keep the earlier row.
    """
    n = features.shape[0]
    k = min(k, n)
    mean = features.mean(0)
    chosen_sum = torch.zeros_like(mean)
    taken = torch.zeros(n, dtype=torch.bool, device=features.device)
    order = torch.empty(k, dtype=torch.long, device=features.device)
    for t in range(k):
        gap = ((chosen_sum + features) / (t + 1) - mean).norm(dim=1)
        gap[taken] = torch.inf
        pick = int(torch.argmin(gap))
        order[t] = pick
        taken[pick] = True
        chosen_sum += features[pick]
    return order


class Herding(SelectionStrategy):
    """Keep, per class, the ``ipc`` samples that herding picks first (``method="herding"``).

    Parameters
    ----------
    features : {"network", "raw"}, default="network"
        Space in which means are compared: the embedding of a network trained briefly on the
        real data, or the raw (normalised, flattened) inputs.
    epochs : int, default=20
        Training epochs of the ``"network"`` feature extractor.

    Notes
    -----
    ``scores_`` of the fitted condenser: ``ipc - t`` for the sample picked at step ``t`` of its
    class (the first pick scores ``ipc``), 0 for samples not picked.
    """

    _parameter_constraints: ClassVar[dict] = {
        "features": [Options(["network", "raw"])],
        "epochs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, features: str = "network", epochs: int = 20) -> None:
        self.features = features
        self.epochs = epochs

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Greedy herding order of every class, as scores."""
        data = ctx.data
        feats = real_features(ctx, self.features, self.epochs)
        scores = torch.zeros(len(data.y), device=feats.device)
        for c in range(data.n_classes):
            rows = torch.nonzero(data.y == c).flatten()
            order = herding_order(feats[rows], ctx.ipc)
            scores[rows[order]] = torch.arange(
                len(order), 0, -1, dtype=scores.dtype, device=scores.device
            )
        return scores
