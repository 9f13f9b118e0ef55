"""Feature spaces in which selections measure real samples."""

from __future__ import annotations

import torch

from ..strategies.base import FitContext
from .helpers import HelperCost, train_helper


@torch.no_grad()
def _embed(net: torch.nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net.embed(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def real_features(ctx: FitContext, features: str, epochs: int, cost: HelperCost) -> torch.Tensor:
    """Features of every real sample, ``(n, d)``.

    Parameters
    ----------
    ctx : FitContext
        The fit: real data, network factory, random generator.
    features : {"network", "raw"}
        ``"network"``: the embedding of a network (the fit's matching network) trained on the
        real data for ``epochs`` epochs by the shared helper routine
        (:func:`~condensekit.selection.helpers.train_helper`, the evaluator's schedule);
        ``"raw"``: the normalised inputs, flattened.
    epochs : int
        Training epochs of the ``"network"`` feature extractor.
    cost : HelperCost
        Where the feature network's cost is added.
    """
    X = ctx.data.X
    if features == "raw":
        return X.flatten(1)
    net = train_helper(ctx, cost, epochs=epochs, desc="feature network")
    return _embed(net, X)
