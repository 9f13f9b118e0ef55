"""EL2N and GraNd scores (Paul et al., NeurIPS 2021): how far a briefly trained network's
softmax output is from the one-hot label, or how large the sample's loss gradient is, averaged
over several networks."""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from .._validation import Interval
from ..evaluation.training import train_network
from ..strategies.base import FitContext
from .base import SelectionStrategy

logger = logging.getLogger(__name__)


@torch.no_grad()
def el2n(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``|| softmax(logits) - onehot(y) ||_2`` of every row; 0 for a confident correct output."""
    probs = logits.softmax(dim=1)
    return (probs - F.one_hot(y, logits.shape[1]).to(probs.dtype)).norm(dim=1)


@torch.no_grad()
def _logits(net: torch.nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    net.eval()
    return torch.cat([net(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


class EL2N(SelectionStrategy):
    """Keep, per class, the samples with the highest EL2N score (``method="el2n"``).

    Every one of ``n_networks`` fresh networks (the fit's ``model``) is trained on the real data
    for ``epochs`` epochs with the evaluator's training loop; a sample's score is the mean over
    networks of :func:`el2n`. High scores are hard or atypical samples.

    Parameters
    ----------
    n_networks : int, default=5
        Networks the score is averaged over.
    epochs : int, default=10
        Training epochs of each network (the paper scores early in training).
    offset : float, default=0.0
        Fraction of the hardest samples of every class to skip before keeping the highest
        scores. Keeping the very hardest first collapses at small budgets (they are often
        mislabelled or atypical); an offset keeps hard-but-learnable samples instead. Where a
        class has fewer than ``ipc`` samples past its offset, the window slides back towards
        the hardest so that it still keeps ``ipc`` consecutive ranks (logged as a warning).

    Notes
    -----
    ``scores_`` of the fitted condenser holds the mean EL2N of every sample, offset or not.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "offset": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, n_networks: int = 5, epochs: int = 10, offset: float = 0.0) -> None:
        self.n_networks = n_networks
        self.epochs = epochs
        self.offset = offset

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Mean EL2N over ``n_networks`` briefly trained networks."""
        X, y = ctx.data.X, ctx.data.y
        total = torch.zeros(len(y), device=X.device)
        for k in range(self.n_networks):
            net = ctx.make_network()
            if self.epochs:
                train_network(
                    net,
                    X,
                    y,
                    epochs=self.epochs,
                    generator=ctx.generator,
                    verbose=ctx.verbose,
                    desc=f"{ctx.description}: network {k + 1}/{self.n_networks}",
                )
            total += self.network_scores(net, X, y)
        return total / self.n_networks

    def network_scores(
        self, net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Scores of every sample under one trained network: :func:`el2n`."""
        return el2n(_logits(net, X), y)

    def keep_order(self, scores: torch.Tensor, ctx: FitContext) -> torch.Tensor:
        """The scores, with the hardest ``offset`` fraction of every class moved last."""
        if self.offset == 0:
            return scores
        y, counts = ctx.data.y, ctx.data.counts
        wanted = torch.floor(self.offset * counts.to(scores.dtype)).long()
        skip = torch.minimum(wanted, counts - ctx.ipc).clamp_min(0)
        if bool((skip < wanted).any()):
            logger.warning(
                "offset=%s skips more samples than classes can spare at ipc=%d; "
                "for %d classes the window slides back to the %d samples just past the hardest "
                "that can be skipped.",
                self.offset,
                ctx.ipc,
                int((skip < wanted).sum()),
                ctx.ipc,
            )
        # rank within class by descending score (0 = hardest)
        order = torch.argsort(scores, descending=True, stable=True)
        order = order[torch.argsort(y[order], stable=True)]
        rank = torch.empty_like(order)
        starts = torch.cumsum(counts, 0) - counts
        rank[order] = torch.arange(len(order), device=order.device) - starts[y[order]]
        return torch.where(rank < skip[y], scores - (scores.max() + 1) * 2, scores)


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
    """Keep, per class, the samples with the largest loss-gradient norm (``method="grand"``).

    As :class:`EL2N`, with the score of each network the L2 norm of the sample's
    cross-entropy gradient with respect to all parameters (:func:`grad_norms`), averaged over
    ``n_networks`` networks trained for ``epochs`` epochs (0: at initialisation, the paper's
    GraNd-at-init).

    Parameters
    ----------
    n_networks : int, default=5
        Networks the score is averaged over.
    epochs : int, default=10
        Training epochs of each network; 0 scores at initialisation.
    offset : float, default=0.0
        Fraction of the highest-scoring samples of every class to skip first.
    """

    _parameter_constraints: ClassVar[dict] = {
        **EL2N._parameter_constraints,
        "epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def network_scores(
        self, net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Per-sample gradient norms under one network."""
        return grad_norms(net, X, y)
