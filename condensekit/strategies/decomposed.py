"""Decomposed distribution matching (DDM; Malakshan et al.): DM plus matching of the style
statistics of every block's feature maps and an intra-class diversity term.

The terms follow the authors' code (SaharR1372/DM_Style_matching), read for this module: the
maps are read after each block's normalisation and activation, before pooling; the moments are
the per-channel spatial mean and the square root of the unbiased variance plus 1e-5 of each
class's mean map; the diversity term takes k = 2 neighbours and is averaged within a class,
summed over classes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from numbers import Integral, Real
from typing import ClassVar

import torch
import torch.nn.functional as F

from .._validation import NONE, Interval, InvalidParameterError, Options
from .base import FitContext, class_means, shared_class_means
from .distribution import DistributionMatching

#: ``means(rows, labels, n_classes)`` -> ``(n_classes, d)``: class means (:func:`class_means`).
ClassMeans = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]

#: Variance floor of the moment statistics (the authors' value).
STYLE_EPS = 1e-5


def _maps_only(maps: list[torch.Tensor]) -> list[torch.Tensor]:
    kept = [m for m in maps if m.dim() == 4]
    if not kept:
        raise ValueError(
            "Style matching needs a network whose blocks output image feature maps (the "
            "ConvNet family); set strategy__style_weight=0 for other networks."
        )
    return kept


def style_statistics(
    maps: torch.Tensor,
    labels: torch.Tensor,
    n_classes: int,
    eps: float = STYLE_EPS,
    over: str = "class_map",
    means: ClassMeans = class_means,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel spatial mean and standard deviation of every class's feature maps.

    Parameters
    ----------
    maps : torch.Tensor
        Feature maps ``(n, channels, H, W)`` with ``H * W >= 2``.
    labels : torch.Tensor
        Class of every row, ``(n,)``.
    n_classes : int
        Number of classes.
    eps : float, default=1e-5
        Added to the variance before the square root.
    over : {"class_map", "samples"}, default="class_map"
        ``"class_map"``: the statistics of each class's mean map (the authors' code).
        ``"samples"``: each sample's own statistics (instance statistics, as in style transfer),
        averaged over the class.
    means : callable, default=class_means
        ``means(rows, labels, n_classes)``: the class means (the real side of a distributed fit
        sums them over the ranks).

    Returns
    -------
    mean, std : torch.Tensor
        Both ``(n_classes, channels)``; ``std`` is ``sqrt(unbiased variance over space + eps)``.
    """
    if maps.shape[-1] * maps.shape[-2] < 2:
        raise ValueError(
            f"Style statistics need feature maps of at least 2 pixels, got "
            f"{tuple(maps.shape[-2:])}; read them earlier (strategy__style_layer='activation') "
            "or use a shallower network (model__depth)."
        )
    if over == "samples":
        flat = maps.flatten(2)
        both = torch.cat([flat.mean(-1), (flat.var(-1) + eps).sqrt()], dim=1)
        return means(both, labels, n_classes).split(maps.shape[1], dim=1)
    mean_maps = means(maps.flatten(1), labels, n_classes).view(n_classes, *maps.shape[1:])
    flat = mean_maps.flatten(2)
    return flat.mean(-1), (flat.var(-1) + eps).sqrt()


def gram_statistics(
    maps: torch.Tensor, labels: torch.Tensor, n_classes: int, means: ClassMeans = class_means
) -> torch.Tensor:
    """Class mean of every sample's channel Gram matrix ``F F^T / (C H W)``.

    ``F`` is a sample's map flattened over space, ``(C, H W)``, not centred. Returns
    ``(n_classes, C, C)``.
    """
    n, c = maps.shape[:2]
    flat = maps.reshape(n, c, -1)
    gram = flat @ flat.transpose(1, 2) / flat[0].numel()
    return means(gram.flatten(1), labels, n_classes).view(n_classes, c, c)


def _moment_distance(
    real, y_real, syn, y_syn, n_classes, over="class_map", real_means=class_means
) -> torch.Tensor:
    mu_r, sd_r = style_statistics(real, y_real, n_classes, over=over, means=real_means)
    mu_s, sd_s = style_statistics(syn, y_syn, n_classes, over=over)
    return 0.5 * (((mu_r - mu_s) ** 2).mean(-1) + ((sd_r - sd_s) ** 2).mean(-1))


def _sample_moment_distance(
    real, y_real, syn, y_syn, n_classes, real_means=class_means
) -> torch.Tensor:
    return _moment_distance(
        real, y_real, syn, y_syn, n_classes, over="samples", real_means=real_means
    )


def _gram_distance(real, y_real, syn, y_syn, n_classes, real_means=class_means) -> torch.Tensor:
    g_r = gram_statistics(real, y_real, n_classes, means=real_means)
    g_s = gram_statistics(syn, y_syn, n_classes)
    return ((g_r - g_s) ** 2).sum((-1, -2))


#: Per-class distance of one layer's real and synthetic maps, by ``style``.
STYLE_DISTANCES = {
    "moments": _moment_distance,
    "sample_moments": _sample_moment_distance,
    "gram": _gram_distance,
}


def style_loss(
    real_maps: list[torch.Tensor],
    y_real: torch.Tensor,
    syn_maps: list[torch.Tensor],
    y_syn: torch.Tensor,
    n_classes: int,
    style: str = "moments",
    real_means: ClassMeans = class_means,
) -> torch.Tensor:
    """Style distance of real and synthetic feature maps: half its sum over layers and classes.

    Per layer and class, ``"moments"`` is the mean over channels of the squared differences of
    the :func:`style_statistics` of each class's mean map, halved (mean and standard deviation
    count half each); ``"sample_moments"`` the same of the class means of every sample's own
    statistics;
    ``"gram"`` is the summed squared difference of the :func:`gram_statistics`. The authors'
    code folds the layers into a running average across classes, which weights every class but
    the last by about one half of its layer sum; this takes one half for every class, so the
    result does not depend on the order of the classes.
    """
    distance = STYLE_DISTANCES[style]
    terms = [
        distance(real, y_real, syn, y_syn, n_classes, real_means=real_means).sum()
        for real, syn in zip(_maps_only(real_maps), _maps_only(syn_maps))
    ]
    return 0.5 * torch.stack(terms).sum()


def diversity_kl(embeddings: torch.Tensor, ipc: int, k: int) -> torch.Tensor:
    """Sum over classes of the mean over a class's samples of ``KL(softmax(e_i) ||
    softmax(mean of its k nearest same-class neighbours))``.

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
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean(-1).sum()


class DecomposedDistributionMatching(DistributionMatching):
    """DM plus style matching and intra-class diversity.

    Loss: the DM loss, plus ``style_weight`` times :func:`style_loss` of every block's feature
    maps (read at ``style_layer`` in the same pass as the embedding), minus
    ``diversity_weight`` times :func:`diversity_kl` (pushes each synthetic sample away from its
    nearest same-class synthetic neighbours in embedding space). With both weights at 0 this is
    exactly DM (same computations, same random draws).

    Parameters
    ----------
    lr_syn, momentum_syn, batch_real
        As for :class:`DistributionMatching`.
    style_weight : float, default=1e4
        Weight of the style term (the authors' 1e4); 0 switches it off.
    style : {"moments", "sample_moments", "gram"}, default="moments"
        What the style term compares: the per-channel mean and standard deviation of each
        class's mean map (the authors'), the class means of every sample's own per-channel mean
        and standard deviation (instance statistics), or the class-mean channel Gram matrix
        (the authors' second variant).
    style_layer : {"activation", "norm", "block"}, default="activation"
        Where each block's maps are read: after the activation and before pooling (what the
        authors' code reads: its normalisation outputs are overwritten by an in-place ReLU),
        after the normalisation (before the activation), or the block's output after pooling.
    diversity_weight : float, default=10
        Weight of the diversity term (the authors' 10); 0 switches it off.
    diversity_k : int or None, default=None
        Neighbours per sample, at most ``ipc - 1``; None is the authors' 2, or 1 at ipc 2.
        Nothing to do at ipc=1.

    Notes
    -----
    The authors' code runs the style term and the diversity term in separate scripts; here
    both are on by default, and each can be switched off with its weight.
    """

    _parameter_constraints: ClassVar[dict] = {
        **DistributionMatching._parameter_constraints,
        "style_weight": [Interval(Real, 0, None, closed="left")],
        "style": [Options(sorted(STYLE_DISTANCES))],
        "style_layer": [Options(["activation", "norm", "block"])],
        "diversity_weight": [Interval(Real, 0, None, closed="left")],
        "diversity_k": [NONE, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        lr_syn: float = 1.0,
        momentum_syn: float = 0.5,
        batch_real: int = 256,
        style_weight: float = 1e4,
        style: str = "moments",
        style_layer: str = "activation",
        diversity_weight: float = 10.0,
        diversity_k: int | None = None,
    ) -> None:
        super().__init__(lr_syn=lr_syn, momentum_syn=momentum_syn, batch_real=batch_real)
        self.style_weight = style_weight
        self.style = style
        self.style_layer = style_layer
        self.diversity_weight = diversity_weight
        self.diversity_k = diversity_k

    def check(self, ctx: FitContext) -> None:
        """Refuse a ``diversity_k`` larger than the same-class neighbours ``ipc`` gives."""
        k = self.diversity_k
        if k is not None and self.diversity_weight > 0 and ctx.ipc > 1 and k > ctx.ipc - 1:
            raise InvalidParameterError(
                f"strategy__diversity_k={k} asks for more same-class neighbours than ipc={ctx.ipc} "
                f"gives (at most {ctx.ipc - 1}); lower it or leave it None (2, or 1 at ipc 2)."
            )

    def neighbours(self, ipc: int) -> int:
        """Neighbours per synthetic sample in the diversity term."""
        if self.diversity_k is not None:
            return int(self.diversity_k)
        return max(1, min(2, ipc - 1))

    def feature_tap(self) -> str | None:
        """``style_layer`` when the style term is on."""
        return self.style_layer if self.style_weight > 0 else None

    def has_extra_terms(self) -> bool:
        """Whether the style or the diversity term is on."""
        return self.style_weight > 0 or self.diversity_weight > 0

    def extra_loss(self, real, y_real, synthetic, y_syn, ctx: FitContext) -> torch.Tensor:
        """``style_weight * style - diversity_weight * diversity``."""
        total = torch.zeros((), device=ctx.device)
        if self.style_weight > 0:
            style = style_loss(
                real[1],
                y_real,
                synthetic[1],
                y_syn,
                ctx.data.n_classes,
                self.style,
                real_means=partial(shared_class_means, ranks=ctx.ranks),
            )
            total = total + self.style_weight * style
        if self.diversity_weight > 0 and ctx.ipc > 1:
            order = torch.argsort(y_syn, stable=True)  # rows grouped by class, ipc each
            kl = diversity_kl(synthetic[0][order], ctx.ipc, self.neighbours(ctx.ipc))
            total = total - self.diversity_weight * kl
        return total
