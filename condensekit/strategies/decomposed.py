"""Decomposed distribution matching (DDM; Malakshan et al.): DM plus style matching of every
block's feature maps and an intra-class diversity term."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import torch
import torch.nn.functional as F

from .._validation import NONE, Interval, InvalidParameterError
from .base import FitContext, class_means
from .distribution import DistributionMatching


def style_statistics(
    maps: torch.Tensor, labels: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation over space of every class-mean feature map.

    Parameters
    ----------
    maps : torch.Tensor
        Block outputs ``(n, channels, H, W)``.
    labels : torch.Tensor
        Class of every row, ``(n,)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    mean, std : torch.Tensor
        Both ``(n_classes, channels)``.
    """
    mean_maps = class_means(maps.flatten(1), labels, n_classes).view(n_classes, *maps.shape[1:])
    flat = mean_maps.flatten(2)
    return flat.mean(-1), flat.std(-1, correction=0)


def style_loss(
    real_blocks: list[torch.Tensor],
    y_real: torch.Tensor,
    syn_blocks: list[torch.Tensor],
    y_syn: torch.Tensor,
    n_classes: int,
) -> torch.Tensor:
    """Style distance, averaged over the blocks that output feature maps.

    For every block: the squared differences of the per-channel means and standard deviations
    (:func:`style_statistics`) of real and synthetic class-mean maps, averaged over channels
    and summed over classes (as DM sums over classes).
    """
    terms = []
    for real, syn in zip(real_blocks, syn_blocks):
        if real.dim() != 4:
            continue
        mu_r, sd_r = style_statistics(real, y_real, n_classes)
        mu_s, sd_s = style_statistics(syn, y_syn, n_classes)
        terms.append((((mu_r - mu_s) ** 2) + ((sd_r - sd_s) ** 2)).mean(-1).sum())
    if not terms:
        raise ValueError(
            "Style matching needs a network whose blocks output image feature maps (the "
            "ConvNet family); set strategy__style_weight=0 for other networks."
        )
    return torch.stack(terms).mean()


def diversity_kl(embeddings: torch.Tensor, ipc: int, k: int) -> torch.Tensor:
    """Mean over synthetic samples of ``KL(softmax(e_i) || softmax(mean of its k nearest
    same-class neighbours))``.

    ``embeddings`` holds ``n_classes * ipc`` rows sorted by class (as the synthetic set is).
    Neighbours are found by Euclidean distance in embedding space, the sample itself excluded;
    gradients flow through the sample and its neighbours, not through the choice of neighbours.
    Zero when ``ipc == 1``.
    """
    if ipc < 2:
        return embeddings.sum() * 0.0
    k = min(k, ipc - 1)
    e = embeddings.view(-1, ipc, embeddings.shape[-1])  # (classes, ipc, d)
    with torch.no_grad():
        dist = torch.cdist(e, e)
        dist.diagonal(dim1=1, dim2=2).fill_(float("inf"))
        idx = dist.topk(k, dim=-1, largest=False).indices  # (classes, ipc, k)
    n_cls, _, d = e.shape
    gathered = torch.gather(
        e.unsqueeze(1).expand(n_cls, ipc, ipc, d), 2, idx.unsqueeze(-1).expand(-1, -1, -1, d)
    )
    log_p = F.log_softmax(e, dim=-1)
    log_q = F.log_softmax(gathered.mean(2), dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


class DecomposedDistributionMatching(DistributionMatching):
    """DM plus style matching and intra-class diversity.

    Loss: the DM loss, plus ``style_weight`` times :func:`style_loss` over every block of the
    network (the per-channel mean and standard deviation over space of the class-mean feature
    maps of real and synthetic images), minus ``diversity_weight`` times :func:`diversity_kl`
    (pushes each synthetic sample away from its nearest same-class synthetic neighbours). The
    block outputs come from the network's ``forward_blocks`` in the same pass as the embedding.
    With both weights at 0 this is exactly DM (same computations, same random draws).

    Parameters
    ----------
    lr_syn, momentum_syn, batch_real
        As for :class:`DistributionMatching`.
    style_weight : float, default=1e4
        Weight of the style term (about 1e4 in the paper's code); 0 switches it off.
    diversity_weight : float, default=10
        Weight of the diversity term; 0 switches it off.
    diversity_k : int or None, default=None
        Neighbours per sample, at most ``ipc - 1``; None is ``max(1, round(0.2 * ipc))``.
        Nothing to do at ipc=1.
    """

    _parameter_constraints: ClassVar[dict] = {
        **DistributionMatching._parameter_constraints,
        "style_weight": [Interval(Real, 0, None, closed="left")],
        "diversity_weight": [Interval(Real, 0, None, closed="left")],
        "diversity_k": [NONE, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        lr_syn: float = 1.0,
        momentum_syn: float = 0.5,
        batch_real: int = 256,
        style_weight: float = 1e4,
        diversity_weight: float = 10.0,
        diversity_k: int | None = None,
    ) -> None:
        super().__init__(lr_syn=lr_syn, momentum_syn=momentum_syn, batch_real=batch_real)
        self.style_weight = style_weight
        self.diversity_weight = diversity_weight
        self.diversity_k = diversity_k

    def init_synthetic(self, ctx: FitContext):
        """As DM, after checking that ``diversity_k`` neighbours exist in every class."""
        k = self.diversity_k
        if k is not None and self.diversity_weight > 0 and ctx.ipc > 1 and k > ctx.ipc - 1:
            raise InvalidParameterError(
                f"strategy__diversity_k={k} asks for more same-class neighbours than ipc={ctx.ipc} "
                f"gives (at most {ctx.ipc - 1}); lower it or leave it None "
                "(max(1, round(0.2 * ipc)))."
            )
        return super().init_synthetic(ctx)

    def neighbours(self, ipc: int) -> int:
        """Neighbours per synthetic sample in the diversity term."""
        if self.diversity_k is not None:
            return int(self.diversity_k)
        return max(1, round(0.2 * ipc))

    def needs_blocks(self) -> bool:
        """Block outputs are needed for the style term."""
        return self.style_weight > 0

    def has_extra_terms(self) -> bool:
        """Whether the style or the diversity term is on."""
        return self.style_weight > 0 or self.diversity_weight > 0

    def extra_loss(self, real, y_real, synthetic, y_syn, ctx: FitContext) -> torch.Tensor:
        """``style_weight * style - diversity_weight * diversity``."""
        total = torch.zeros((), device=ctx.device)
        if self.style_weight > 0:
            style = style_loss(real[1], y_real, synthetic[1], y_syn, ctx.data.n_classes)
            total = total + self.style_weight * style
        if self.diversity_weight > 0 and ctx.ipc > 1:
            order = torch.argsort(y_syn, stable=True)  # rows grouped by class, ipc each
            kl = diversity_kl(synthetic[0][order], ctx.ipc, self.neighbours(ctx.ipc))
            total = total - self.diversity_weight * kl
        return total
