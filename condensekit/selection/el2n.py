"""EL2N and GraNd scores (Paul et al., NeurIPS 2021): how far a briefly trained network's
softmax output is from the one-hot label, or how large the sample's loss gradient is, averaged
over several networks."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from .._validation import Interval
from ..strategies.base import FitContext
from .base import ScoreSelection
from .helpers import HelperSettings, train_helper


@torch.no_grad()
def el2n(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``|| softmax(logits) - onehot(y) ||_2`` of every row; 0 for a confident correct output."""
    probs = logits.softmax(dim=1)
    return (probs - F.one_hot(y, logits.shape[1]).to(probs.dtype)).norm(dim=1)


@torch.no_grad()
def _logits(net: torch.nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


class EL2N(HelperSettings, ScoreSelection):
    """Keep, per class, samples ranked by EL2N score (``method="el2n"``).

    Every one of ``n_networks`` fresh networks (the fit's ``model``) is trained on the real data
    for ``epochs`` epochs (:func:`~condensekit.selection.helpers.train_helper`: SGD at ``lr``,
    with ``helper_augment``); a sample's score is the mean over networks of :func:`el2n`. High
    scores are hard or atypical samples; ``order`` says which a class keeps.

    Parameters
    ----------
    n_networks : int, default=5
        Networks the score is averaged over (Paul et al. average 10).
    epochs : int, default=20
        Training epochs of each network (Paul et al. score at epoch 20).
    lr : float, default=0.05
        Learning rate of the helpers' SGD (momentum 0.9, x0.1 halfway).
    helper_augment : {"auto", "dsa", "dc"} or None, default="auto"
        Augmentation of the helpers' training; ``"auto"`` is DSA's on images (no flips on
        single-channel ones) and none on rows of features.
    order : {"hard", "easy", "middle", "spread"}, default="spread"
        Which samples of every class are kept (:func:`~condensekit.selection.base.order_keys`):
        the highest scores (the papers' rule, for budgets of a tenth of the data or more), the
        lowest, a window around the median, or ranks spread evenly from the hardest to the
        easiest (the median first). At condensation budgets (a few samples per
        class) the hardest are often mislabelled or atypical and the easiest redundant; the
        spread order kept every score within two points of random at ipc 10 on digits and far
        above it at ipc 1 (docs/benchmarks.md, "Selection baselines").
    offset : float in [0, 1), default=0.0
        Fraction of every class skipped first from the ``order``'s end (data_diet's offset with
        ``order="hard"``). Where a class has fewer than ``ipc`` samples past its offset, the
        window slides back (logged as a warning).

    Notes
    -----
    ``scores_`` of the fitted condenser holds the mean EL2N of every sample, whatever the order;
    ``helper_cost_`` what the helpers cost.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        **HelperSettings._parameter_constraints,
        **ScoreSelection._parameter_constraints,
    }

    def __init__(
        self,
        n_networks: int = 5,
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
        """Mean score over ``n_networks`` helper networks."""
        X, y = ctx.data.X, ctx.data.y
        augment = self.resolve_helper_augment(ctx)
        total = torch.zeros(len(y), device=X.device)
        for k in range(self.n_networks):
            net = train_helper(
                ctx,
                self.helper_cost_,
                epochs=self.epochs,
                lr=self.lr,
                augment=augment,
                desc=f"network {k + 1}/{self.n_networks}",
            )
            total += self.network_scores(net, X, y)
        return total / self.n_networks

    def network_scores(
        self, net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Scores of every sample under one trained network: :func:`el2n`."""
        return el2n(_logits(net, X), y)


def grad_norms(
    net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 128
) -> torch.Tensor:
    """L2 norm of every sample's cross-entropy gradient with respect to all of ``net``'s
    parameters, computed with ``torch.func.vmap`` over the samples of each batch."""
    net.eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = dict(net.named_buffers())

    def loss(p, x, t):
        return F.cross_entropy(functional_call(net, (p, buffers), (x[None],)), t[None])

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
    norms = []
    for i in range(0, len(y), batch_size):
        grads = per_sample(params, X[i : i + batch_size], y[i : i + batch_size])
        norms.append(sum(g.flatten(1).pow(2).sum(1) for g in grads.values()).sqrt())
    return torch.cat(norms)


class GraNd(EL2N):
    """Keep, per class, samples ranked by loss-gradient norm (``method="grand"``).

    As :class:`EL2N`, with the score of each network the L2 norm of the sample's
    cross-entropy gradient with respect to all parameters (:func:`grad_norms`), averaged over
    ``n_networks`` networks; by default at initialisation (``epochs=0``), Paul et al.'s
    GraNd-at-init, which costs no training.

    Parameters
    ----------
    n_networks : int, default=10
        Networks the score is averaged over (Paul et al. average 10 at initialisation).
    epochs : int, default=0
        Training epochs of each network; 0 scores at initialisation.
    lr : float, default=0.05
        Learning rate of the helpers' SGD when ``epochs > 0``.
    helper_augment : {"auto", "dsa", "dc"} or None, default="auto"
        Augmentation of the helpers' training when ``epochs > 0``.
    order : {"hard", "easy", "middle", "spread"}, default="spread"
        Which samples of every class are kept, as for :class:`EL2N`.
    offset : float in [0, 1), default=0.0
        Fraction of every class skipped first from the ``order``'s end.
    """

    _parameter_constraints: ClassVar[dict] = {
        **EL2N._parameter_constraints,
        "epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_networks: int = 10,
        epochs: int = 0,
        lr: float = 0.05,
        helper_augment: str | None = "auto",
        order: str = "spread",
        offset: float = 0.0,
    ) -> None:
        super().__init__(
            n_networks=n_networks,
            epochs=epochs,
            lr=lr,
            helper_augment=helper_augment,
            order=order,
            offset=offset,
        )

    def network_scores(
        self, net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Per-sample gradient norms under one network."""
        return grad_norms(net, X, y)
