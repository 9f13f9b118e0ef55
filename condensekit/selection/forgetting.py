"""Forgetting events (Toneva et al., ICLR 2019): samples that a network learns and then forgets
again during training carry the most information."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import torch

from .._validation import Interval
from ..strategies.base import FitContext
from .base import ScoreSelection
from .helpers import HelperSettings, train_helper


def count_forgetting(correct: torch.Tensor) -> torch.Tensor:
    """Forgetting events per sample from a ``(epochs, n)`` boolean record of correctness.

    An event is a change from correct to wrong between consecutive records. A sample never
    classified correctly counts as forgotten at every record (``epochs``), as in the paper,
    where never-learned samples rank above every learned one.
    """
    events = (correct[:-1] & ~correct[1:]).sum(0).to(torch.float32)
    never = ~correct.any(0)
    return torch.where(never, torch.full_like(events, float(correct.shape[0])), events)


class Forgetting(HelperSettings, ScoreSelection):
    """Keep, per class, samples ranked by forgetting events (``method="forgetting"``).

    ``n_networks`` fresh networks (the fit's ``model``) are trained on the real data for
    ``epochs`` epochs (:func:`~condensekit.selection.helpers.train_helper`); after every epoch
    each sample is marked correct or wrong, and a forgetting event is a correct-to-wrong change
    between epochs. The score is the mean count over networks; high counts are hard samples.

    Parameters
    ----------
    n_networks : int, default=1
        Training runs the count is averaged over.
    epochs : int, default=20
        Training epochs (records) per run; at least 2. The count covers the whole run, with the
        learning rate divided by 10 halfway.
    lr : float, default=0.05
        Learning rate of the runs' SGD.
    helper_augment : {"auto", "dsa", "dc"} or None, default="auto"
        Augmentation of the runs (records are taken on the plain samples).
    order : {"hard", "easy", "middle", "spread"}, default="spread"
        Which samples of every class are kept, as for :class:`~condensekit.selection.EL2N`.
    offset : float in [0, 1), default=0.0
        Fraction of every class skipped first from the ``order``'s end.

    Notes
    -----
    Never-learned samples (wrong at every record) count ``epochs`` events, as in Toneva et al.,
    where they rank above every learned sample: first under ``order="hard"``, last under
    ``"easy"``, among the hardest ranks of ``"spread"`` (kept once a budget reaches them).
    Samples with equal counts (most of them: many are never forgotten) are ranked by how often
    they were wrong over the records, then by row. The paper records correctness every time a
    sample is presented in a mini-batch; this implementation records all samples once per epoch
    (one extra forward pass per epoch), which counts the same events at epoch resolution.
    ``scores_`` holds the mean count.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 2, None, closed="left")],
        **HelperSettings._parameter_constraints,
        **ScoreSelection._parameter_constraints,
    }

    def __init__(
        self,
        n_networks: int = 1,
        epochs: int = 20,
        lr: float = 0.05,
        helper_augment: str | None = "auto",
        order: str = "spread",
        offset: float = 0.0,
    ) -> None:
        self.n_networks = n_networks
        self.epochs = epochs
        self.lr = lr
        self.helper_augment = helper_augment
        self.order = order
        self.offset = offset

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Mean number of forgetting events over ``n_networks`` trainings."""
        X, y = ctx.data.X, ctx.data.y
        augment = self.resolve_helper_augment(ctx)
        total = torch.zeros(len(y), device=X.device)
        wrong = torch.zeros(len(y), device=X.device)
        for k in range(self.n_networks):
            record = torch.zeros(self.epochs, len(y), dtype=torch.bool, device=X.device)

            @torch.no_grad()
            def mark(net: torch.nn.Module, epoch: int, record: torch.Tensor = record) -> None:
                net.eval()
                for i in range(0, len(y), 1024):
                    record[epoch, i : i + 1024] = net(X[i : i + 1024]).argmax(1) == y[i : i + 1024]

            train_helper(
                ctx,
                self.helper_cost_,
                epochs=self.epochs,
                lr=self.lr,
                augment=augment,
                on_epoch_end=mark,
                desc=f"network {k + 1}/{self.n_networks}",
            )
            total += count_forgetting(record)
            wrong += (~record).float().mean(0)
        self._wrong = wrong / self.n_networks
        return total / self.n_networks

    def keep_order(self, scores: torch.Tensor, ctx: FitContext) -> torch.Tensor:
        """The order of the counts, ties broken by the fraction of wrong records.

        Mean counts differ by at least ``1 / n_networks``; the fraction wrong, scaled below
        that, only orders samples with equal counts.
        """
        wrong = self.__dict__.pop("_wrong")  # from score(); not kept on the fitted method
        tied = scores + wrong * (0.5 / self.n_networks)
        return super().keep_order(tied, ctx)
