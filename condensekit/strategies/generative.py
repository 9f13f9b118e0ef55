"""Condensation into a generative model (Zhang et al. 2023): the condensed artefact is a small
conditional generator ``G(z, y)`` trained with distribution matching plus intra- and inter-class
terms, instead of a tensor of pixels."""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._torch_utils import make_generator
from .._validation import NONE, Interval, Options
from ..models.generators import GENERATORS, build_generator, resolve_generator_name
from .base import CondensedResult, FitContext, class_means
from .distribution import DistributionMatching

logger = logging.getLogger("condensekit")


def latent_codes(
    n_classes: int, n_per_class: int, latent_dim: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed latent codes and labels, drawn on the CPU from ``seed`` alone.

    Returns ``z`` ``(n_classes * n_per_class, latent_dim)`` and ``y``, grouped by class (class 0
    first), the same on every device.
    """
    gen = make_generator(seed, torch.device("cpu"))
    z = torch.randn(n_classes * n_per_class, latent_dim, generator=gen)
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    return z, y


@torch.no_grad()
def draw(
    generator: nn.Module, n_per_class: int, seed: int, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` normalised samples of every class from the codes of :func:`latent_codes`.

    Runs on the generator's device, in batches of ``batch_size``; returns CPU tensors. Each
    sample depends only on its own code (the generators use no batch statistics).
    """
    device = next(generator.parameters()).device
    z, y = latent_codes(generator.n_classes, n_per_class, generator.latent_dim, seed)
    was_training = generator.training
    generator.eval()
    try:
        parts = [
            generator(z[i : i + batch_size].to(device), y[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(y), batch_size)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(parts), y


def mean_offdiagonal_cosine(vectors: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity over all ordered pairs ``i != j`` of the rows of ``vectors``."""
    n = vectors.shape[0]
    unit = F.normalize(vectors, dim=-1)
    sims = unit @ unit.transpose(-1, -2)
    return (sims.sum((-1, -2)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (n * (n - 1))


def intra_class_similarity(embeddings: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean over classes of the mean pairwise cosine similarity of a class's samples.

    ``embeddings`` holds ``n_classes * k`` rows grouped by class (``k >= 2``). Lower is more
    diverse; minimising it pushes the samples of a class apart.
    """
    grouped = embeddings.view(n_classes, -1, embeddings.shape[-1])
    return mean_offdiagonal_cosine(grouped).mean()


def inter_class_similarity(centres: torch.Tensor) -> torch.Tensor:
    """Mean pairwise cosine similarity of the class centres ``(n_classes, d)``; minimising it
    widens the angles between class centres.

    The centres are not measured from their common mean: for centred vectors of similar norms
    the mean pairwise cosine is pinned near ``-1 / (n_classes - 1)`` whatever their layout, and
    the term would carry no signal.
    """
    return mean_offdiagonal_cosine(centres)


class GeneratorSet:
    """A conditional generator as the learned synthetic parameters.

    Every call to :meth:`samples` draws fresh latent codes (``per_class`` per class) from the
    fit's generator, so the generator learns a whole distribution per class, not a fixed set.

    Parameters
    ----------
    net : nn.Module
        The conditional generator.
    per_class : int
        Samples of every class per draw.
    ctx : FitContext
        The fit (device and random generator).
    """

    def __init__(self, net: nn.Module, per_class: int, ctx: FitContext) -> None:
        self.net = net
        self.per_class = per_class
        self.ctx = ctx
        self.y = torch.arange(net.n_classes, device=ctx.device).repeat_interleave(per_class)

    def parameters(self) -> list[torch.Tensor]:
        """The generator's weights."""
        return list(self.net.parameters())

    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Generated samples for fresh codes, grouped by class, and their labels."""
        z = torch.randn(
            len(self.y), self.net.latent_dim, generator=self.ctx.generator, device=self.ctx.device
        )
        return self.net(z, self.y), self.y

    def to_result(self, history: np.ndarray, n_iter: int) -> CondensedResult:
        """The trained generator as the method's result (the condenser draws the set)."""
        net = self.net.requires_grad_(False).eval()
        return CondensedResult(X=None, y=None, generator=net, history=history, n_iter=n_iter)


class GenerativeMatching(DistributionMatching):
    """Learn a conditional generator whose samples match the real data (``method="generative"``).

    Every outer iteration draws ``batch_syn`` fresh latent codes per class, generates samples
    and minimises, with respect to the generator's weights:

    * the DM loss (:class:`DistributionMatching`): squared distance between the class-mean
      embeddings of real and generated samples under a fresh random network, with siamese
      augmentation;
    * ``intra_weight`` times the mean pairwise cosine similarity of the embeddings of generated
      samples of one class (:func:`intra_class_similarity`): lower means more varied samples;
    * ``inter_weight`` times the mean pairwise cosine similarity of the generated class centres
      (:func:`inter_class_similarity`): lower means classes further apart.

    Both similarity terms are bounded in [-1, 1], so a large weight cannot blow the generator
    up. The fitted condenser keeps the generator (``generator_``); ``transform()`` returns ``ipc``
    samples per class from fixed latent codes and ``sample(n_per_class)`` draws any number.

    Parameters
    ----------
    lr_syn : float, default=1e-3
        Learning rate of Adam (betas 0.5, 0.999) on the generator's weights.
    batch_real : int, default=256
        Real samples per class per iteration.
    batch_syn : int or None, default=None
        Generated samples per class per iteration; ``None`` uses ``max(ipc, 10)``. At least 2
        when ``intra_weight > 0``.
    generator : {"auto", "conv", "mlp"}, default="auto"
        Generator family (:data:`condensekit.models.generators.GENERATORS`): ``"conv"`` (a
        DCGAN-style decoder) for images, ``"mlp"`` for rows of features.
    latent_dim : int, default=32
        Size of the latent code.
    width : int, default=64
        Channels (conv) or hidden units (mlp) of the generator.
    intra_weight : float, default=1.0
        Weight of the intra-class diversity term; 0 switches it off.
    inter_weight : float, default=1.0
        Weight of the inter-class term; 0 switches it off.
    warmup_iter : int, default=200
        With ``init="real"`` (the default), Adam steps that first teach the generator to
        reproduce ``batch_syn`` real samples per class from as many fixed random codes (mean
        squared error), the generator's analogue of starting pixels from real samples. 0, or
        ``init="noise"``, starts from the randomly initialised generator.

    Notes
    -----
    The warm-up exists because a randomly initialised generator outputs near-constant images,
    and a few hundred DM iterations on a CPU do not get far from them; reconstructing real
    samples first is cheap (no matching network) and starts DM from realistic samples.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lr_syn": [Interval(Real, 0, None, closed="neither")],
        "batch_real": [Interval(Integral, 1, None, closed="left")],
        "batch_syn": [NONE, Interval(Integral, 1, None, closed="left")],
        "generator": [Options(["auto", *GENERATORS.names()])],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "intra_weight": [Interval(Real, 0, None, closed="left")],
        "inter_weight": [Interval(Real, 0, None, closed="left")],
        "warmup_iter": [Interval(Integral, 0, None, closed="left")],
    }
    paper_max_iter: ClassVar[int] = 20000

    def __init__(
        self,
        lr_syn: float = 1e-3,
        batch_real: int = 256,
        batch_syn: int | None = None,
        generator: str = "auto",
        latent_dim: int = 32,
        width: int = 64,
        intra_weight: float = 1.0,
        inter_weight: float = 1.0,
        warmup_iter: int = 200,
    ) -> None:
        self.lr_syn = lr_syn
        self.batch_real = batch_real
        self.batch_syn = batch_syn
        self.generator = generator
        self.latent_dim = latent_dim
        self.width = width
        self.intra_weight = intra_weight
        self.inter_weight = inter_weight
        self.warmup_iter = warmup_iter

    def needs_real_samples(self, init: str) -> bool:
        """False: any ``ipc`` can be drawn (the warm-up uses what each class holds)."""
        return False

    def per_class(self, ctx: FitContext) -> int:
        """Generated samples per class per iteration."""
        return int(self.batch_syn or max(ctx.ipc, 10))

    def make_optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        """Adam on the generator's weights."""
        return torch.optim.Adam(params, lr=self.lr_syn, betas=(0.5, 0.999))

    def init_synthetic(self, ctx: FitContext) -> GeneratorSet:
        """Build the generator from the fit's generator; warm it up when ``init="real"``."""
        per_class = self.per_class(ctx)
        if self.intra_weight > 0 and per_class < 2:
            raise ValueError(
                "The intra-class term needs at least 2 generated samples per class; set "
                f"strategy__batch_syn >= 2 (now {per_class}) or strategy__intra_weight=0."
            )
        name = resolve_generator_name(self.generator, ctx.data.is_image)
        net = build_generator(
            name,
            ctx.data.sample_shape,
            ctx.data.n_classes,
            generator=ctx.generator,
            device=ctx.device,
            latent_dim=self.latent_dim,
            width=self.width,
        )
        if ctx.init == "real" and self.warmup_iter > 0:
            self.reconstruction_warmup(net, per_class, ctx)
        return GeneratorSet(net, per_class, ctx)

    def reconstruction_warmup(self, net: nn.Module, per_class: int, ctx: FitContext) -> None:
        """Teach ``net`` to reproduce ``per_class`` real samples per class from fixed codes."""
        rows, labels = ctx.data.sample_per_class(per_class, ctx.generator)
        target = ctx.data.X[rows]
        z = torch.randn(len(rows), net.latent_dim, generator=ctx.generator, device=ctx.device)
        optimizer = self.make_optimizer(list(net.parameters()))
        for _ in range(self.warmup_iter):
            loss = F.mse_loss(net(z, labels), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if self.warmup_iter and logger.isEnabledFor(logging.DEBUG):
            logger.debug("generative warm-up: reconstruction error %.4g", float(loss.detach()))

    def has_extra_terms(self) -> bool:
        """Whether the intra- or inter-class term is on."""
        return self.intra_weight > 0 or self.inter_weight > 0

    def extra_loss(
        self,
        real: tuple[torch.Tensor, list[torch.Tensor] | None],
        y_real: torch.Tensor,
        synthetic: tuple[torch.Tensor, list[torch.Tensor] | None],
        y_syn: torch.Tensor,
        ctx: FitContext,
    ) -> torch.Tensor:
        """``intra_weight * intra-class similarity + inter_weight * inter-class similarity`` of
        the generated embeddings."""
        embeddings = synthetic[0]
        n_classes = ctx.data.n_classes
        loss = torch.zeros((), device=embeddings.device)
        if self.intra_weight > 0:
            loss = loss + self.intra_weight * intra_class_similarity(embeddings, n_classes)
        if self.inter_weight > 0:
            centres = class_means(embeddings, y_syn, n_classes)
            loss = loss + self.inter_weight * inter_class_similarity(centres)
        return loss
