"""Distribution matching (DM; Zhao & Bilen, WACV 2023)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import torch
from torch import nn

from .._validation import Interval
from .base import FitContext, MatchingStrategy, SyntheticSet, class_means, shared_class_means


class DistributionMatching(MatchingStrategy):
    """Match the mean embedding of every class under a fresh random network.

    Loss: ``sum_c || mean embed(A(B_c)) - mean embed(A(S_c)) ||^2`` where ``B_c`` is a batch of
    real images of class ``c``, ``S_c`` its synthetic images, ``A`` siamese augmentation with the
    same parameters for both, and ``embed`` a network with freshly drawn random weights every
    iteration (never trained). All classes go through the network in one real pass (no gradient)
    and one synthetic pass.

    Parameters
    ----------
    lr_syn : float, default=1.0
        Learning rate of SGD on the synthetic pixels.
    momentum_syn : float, default=0.5
        Momentum of that SGD.
    batch_real : int, default=256
        Real samples per class per iteration (fewer if a class holds fewer).

    Notes
    -----
    The paper runs 20,000 iterations (``max_iter=None`` uses that); on a CPU a few hundred with a
    smaller ``batch_real`` already improve clearly on the real samples it starts from.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lr_syn": [Interval(Real, 0, None, closed="neither")],
        "momentum_syn": [Interval(Real, 0, 1, closed="left")],
        "batch_real": [Interval(Integral, 1, None, closed="left")],
    }
    paper_max_iter: ClassVar[int] = 20000
    default_augment: ClassVar[str | None] = "dsa"
    paper_protocol: ClassVar[str] = "dsa"
    budget_family: ClassVar[str | None] = "distribution"
    supports_distributed: ClassVar[bool] = True
    supports_streaming: ClassVar[bool] = True

    def __init__(
        self, lr_syn: float = 1.0, momentum_syn: float = 0.5, batch_real: int = 256
    ) -> None:
        self.lr_syn = lr_syn
        self.momentum_syn = momentum_syn
        self.batch_real = batch_real

    def make_network(self, ctx: FitContext) -> nn.Module:
        """A network used only as a random feature map: no gradients to its weights."""
        return ctx.make_network().requires_grad_(False)

    def loss(
        self, net: nn.Module, syn: SyntheticSet, ctx: FitContext, iteration: int, step: int
    ) -> torch.Tensor:
        """Sum over classes of the squared distance between mean embeddings (plus the terms of
        :meth:`extra_loss`, none for DM)."""
        data = ctx.data
        rows, y_real = data.sample_per_class(self.batch_real, ctx.generator)
        mine = ctx.ranks.share(len(rows), rows.device)  # a distributed fit: this rank's rows
        if mine is not None:
            rows, y_real = rows[mine], y_real[mine]
        x_real = data.gather(rows)
        x_syn, y_syn = syn.samples()
        if ctx.augment is not None:
            params = ctx.augment.draw(data.n_classes, ctx.generator, tuple(x_syn.shape[2:]))
            x_real = ctx.augment(x_real, params, y_real)
            x_syn = ctx.augment(x_syn, params, y_syn)
        tap = self.feature_tap()
        with torch.no_grad():
            real = self.features(net, x_real, tap)
        synthetic = self.features(net, x_syn, tap)
        mean_real = shared_class_means(real[0], y_real, data.n_classes, ctx.ranks)
        loss = self.matching_loss(mean_real, synthetic[0], y_syn, ctx)
        if self.has_extra_terms():
            loss = loss + self.extra_loss(real, y_real, synthetic, y_syn, ctx)
        return loss

    def matching_loss(
        self,
        mean_real: torch.Tensor,
        embeddings: torch.Tensor,
        y_syn: torch.Tensor,
        ctx: FitContext,
    ) -> torch.Tensor:
        """Sum over classes of the squared distance between the real class-mean embeddings
        ``mean_real`` ``(n_classes, d)`` and those of the synthetic ``embeddings``."""
        mean_syn = class_means(embeddings, y_syn, ctx.data.n_classes)
        return ((mean_real - mean_syn) ** 2).sum()

    @staticmethod
    def features(
        net: nn.Module, x: torch.Tensor, tap: str | None
    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """``(embedding, feature maps)``: the maps read at ``tap`` of every block (see
        ``ConvNet.forward_taps``), or None when ``tap`` is None; one pass either way."""
        if tap is None:
            return net.embed(x), None
        if not hasattr(net, "forward_taps"):
            raise ValueError(
                f"{type(net).__name__} does not expose its blocks' feature maps (forward_taps); "
                "style terms need the ConvNet family: use model='convnet' or set "
                "strategy__style_weight=0."
            )
        return net.forward_taps(x, tap)

    def feature_tap(self) -> str | None:
        """Where :meth:`loss` reads every block's feature maps (for style terms), or None when
        it needs none (DM)."""
        return None

    def has_extra_terms(self) -> bool:
        """Whether :meth:`extra_loss` adds anything."""
        return False

    def extra_loss(
        self,
        real: tuple[torch.Tensor, list[torch.Tensor] | None],
        y_real: torch.Tensor,
        synthetic: tuple[torch.Tensor, list[torch.Tensor] | None],
        y_syn: torch.Tensor,
        ctx: FitContext,
    ) -> torch.Tensor:
        """Terms added to the mean-embedding loss by subclasses; DM adds none."""
        return torch.zeros((), device=ctx.device)
