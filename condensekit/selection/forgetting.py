"""Forgetting events (Toneva et al., ICLR 2019): samples that a network learns and then forgets
again during training carry the most information."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import torch

from .._validation import Interval
from ..evaluation.training import train_network
from ..strategies.base import FitContext
from .base import SelectionStrategy


def count_forgetting(correct: torch.Tensor) -> torch.Tensor:
    """Forgetting events per sample from a ``(epochs, n)`` boolean record of correctness.

    An event is a change from correct to wrong between consecutive records. A sample never
    classified correctly counts as forgotten at every record (``epochs``), as in the paper,
    where never-learned samples rank above every learned one.
    """
    events = (correct[:-1] & ~correct[1:]).sum(0).to(torch.float32)
    never = ~correct.any(0)
    return torch.where(never, torch.full_like(events, float(correct.shape[0])), events)


class Forgetting(SelectionStrategy):
    """Keep, per class, the most forgotten samples (``method="forgetting"``).

    ``n_networks`` fresh networks (the fit's ``model``) are trained on the real data for
    ``epochs`` epochs with the evaluator's training loop; after every epoch each sample is
    marked correct or wrong, and a forgetting event is a correct-to-wrong change between epochs.
    The score is the mean count over networks.

    Parameters
    ----------
    n_networks : int, default=1
        Networks the count is averaged over.
    epochs : int, default=20
        Training epochs (records) per network; at least 2.

    Notes
    -----
    The paper records correctness every time a sample is presented in a mini-batch; this
    implementation records all samples once per epoch (one extra forward pass per epoch), which
    counts the same events at epoch resolution. ``scores_`` holds the mean count.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, n_networks: int = 1, epochs: int = 20) -> None:
        self.n_networks = n_networks
        self.epochs = epochs

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Mean number of forgetting events over ``n_networks`` trainings."""
        X, y = ctx.data.X, ctx.data.y
        total = torch.zeros(len(y), device=X.device)
        for k in range(self.n_networks):
            record = torch.zeros(self.epochs, len(y), dtype=torch.bool, device=X.device)

            @torch.no_grad()
            def mark(net: torch.nn.Module, epoch: int, record: torch.Tensor = record) -> None:
                net.eval()
                for i in range(0, len(y), 1024):
                    record[epoch, i : i + 1024] = net(X[i : i + 1024]).argmax(1) == y[i : i + 1024]

            net = ctx.make_network()
            train_network(
                net,
                X,
                y,
                epochs=self.epochs,
                generator=ctx.generator,
                on_epoch_end=mark,
                verbose=ctx.verbose,
                desc=f"{ctx.description}: network {k + 1}/{self.n_networks}",
            )
            total += count_forgetting(record)
        return total / self.n_networks
