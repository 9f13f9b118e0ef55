"""Greedy selections in a feature space: herding (Welling, ICML 2009), which keeps the mean of the
chosen set closest to the class mean, and k-center (Sener & Savarese, ICLR 2018), which covers
the class with the fewest, farthest-apart samples."""

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


def k_center_order(features: torch.Tensor, k: int) -> torch.Tensor:
    """The first ``k`` k-center greedy picks among the rows of ``features`` (one class).

    The first pick is the row nearest the mean; every next pick is the row farthest from its
    nearest chosen row (ties keep the earlier row), which greedily minimises the largest
    distance from any sample to the chosen set.
    """
    n = features.shape[0]
    k = min(k, n)
    order = torch.empty(k, dtype=torch.long, device=features.device)
    order[0] = int(torch.argmin((features - features.mean(0)).norm(dim=1)))
    nearest = (features - features[order[0]]).norm(dim=1)
    for t in range(1, k):
        pick = int(torch.argmax(nearest))
        order[t] = pick
        nearest = torch.minimum(nearest, (features - features[pick]).norm(dim=1))
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

    #: The greedy rule: ``order(features_of_one_class, k) -> first k picks``.
    greedy = staticmethod(herding_order)

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Greedy order of every class, as scores."""
        data = ctx.data
        feats = real_features(ctx, self.features, self.epochs, self.helper_cost_)
        scores = torch.zeros(len(data.y), device=feats.device)
        for c in range(data.n_classes):
            rows = torch.nonzero(data.y == c).flatten()
            order = self.greedy(feats[rows], int(ctx.budget[c]))
            scores[rows[order]] = torch.arange(
                len(order), 0, -1, dtype=scores.dtype, device=scores.device
            )
        return scores


class KCenter(Herding):
    """Keep, per class, the ``ipc`` samples that k-center greedy picks (``method="kcenter"``).

    The first pick is the sample nearest the class mean; every next one is the sample farthest
    from the chosen ones, in the same feature spaces as :class:`Herding`.

    Parameters
    ----------
    features : {"network", "raw"}, default="network"
        The embedding of a network trained briefly on the real data, or the raw inputs.
    epochs : int, default=20
        Training epochs of the ``"network"`` feature extractor.

    Notes
    -----
    ``scores_``: ``ipc - t`` for the sample picked at step ``t`` of its class, 0 for the rest.
    """

    greedy = staticmethod(k_center_order)
