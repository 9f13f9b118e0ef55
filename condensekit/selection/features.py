"""Feature spaces in which selections measure real samples."""

from __future__ import annotations

import torch

from ..evaluation.training import train_network
from ..strategies.base import FitContext


@torch.no_grad()
def _embed(net: torch.nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net.embed(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def real_features(ctx: FitContext, features: str, epochs: int) -> torch.Tensor:
    """Features of every real sample, ``(n, d)``.

    Parameters
    ----------
    ctx : FitContext
        The fit: real data, network factory, random generator.
    features : {"network", "raw"}
        ``"network"``: the embedding of a network (the fit's matching network) trained on the
        real data for ``epochs`` epochs with the one training loop
        (:func:`condensekit.evaluation.training.train_network`); ``"raw"``: the normalised
        inputs, flattened.
    epochs : int
        Training epochs of the ``"network"`` feature extractor.
    """
    X = ctx.data.X
    if features == "raw":
        return X.flatten(1)
    net = ctx.make_network()
    train_network(
        net,
        X,
        ctx.data.y,
        epochs=epochs,
        generator=ctx.generator,
        verbose=ctx.verbose,
        desc=f"{ctx.description}: feature network",
    )
    return _embed(net, X)
