"""Condensation into a generative model (Zhang et al. 2023): the condensed artefact is a small
conditional generator ``G(z, y)`` trained with distribution matching plus intra- and inter-class
terms, instead of a tensor of pixels."""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .._torch_utils import derived_seed, make_generator
from .._validation import BOOLEAN, NONE, Dynamic, Interval, InvalidParameterError, Options
from ..callbacks import History
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


def codes_per_class(
    fixed: torch.Tensor, n_per_class: int, seed: int | None, extra_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent codes of ``n_per_class`` samples of every class, grouped by class.

    Parameters
    ----------
    fixed : torch.Tensor
        The fitted codes, ``(n_classes, n_codes, latent_dim)``: the set's ``ipc`` first, then
        the further trained codes (``n_codes > ipc``).
    n_per_class : int
        Codes per class.
    seed : int or None
        ``None``: the first ``min(n_per_class, n_codes)`` fitted codes of every class, then
        extra codes drawn one at a time from a CPU stream of each class's own (seeded from
        ``extra_seed`` and the class), so a draw is a prefix of any larger one, reproducibly,
        and ``n = ipc`` is the set. An int: ``n_per_class`` fresh codes per class from
        :func:`latent_codes` with that seed.
    extra_seed : int, default=0
        Seed of the extra codes when ``seed`` is None.
    """
    n_classes, n_codes, latent_dim = fixed.shape
    if seed is not None:
        z, y = latent_codes(n_classes, n_per_class, latent_dim, seed)
        return z, y
    keep = fixed[:, : min(n_per_class, n_codes)]
    extra = n_per_class - keep.shape[1]
    if extra > 0:
        more = torch.empty(n_classes, extra, latent_dim, dtype=fixed.dtype)
        for c in range(n_classes):
            gen = make_generator(derived_seed(extra_seed, c), torch.device("cpu"))
            for j in range(extra):  # one code per draw: a prefix never depends on ``extra``
                more[c, j] = torch.randn(latent_dim, generator=gen, dtype=fixed.dtype)
        keep = torch.cat([keep, more.to(fixed.device)], dim=1)
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    return keep.reshape(-1, latent_dim), y


@torch.no_grad()
def draw(
    generator: nn.Module, z: torch.Tensor, y: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """Normalised samples ``G(z, y)`` on the generator's device, in batches; a CPU tensor.

    Each sample depends only on its own code (the generators use no batch statistics).
    """
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        parts = [
            generator(z[i : i + batch_size].to(device), y[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(y), batch_size)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(parts)


def sample_generator(
    generator: nn.Module,
    codes: torch.Tensor,
    n_per_class: int | None,
    ipc: int,
    seed: int | None,
    extra_seed: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised samples of every class and their class indices, grouped by class.

    ``codes`` are the fitted codes ``(n_classes, n_codes, latent_dim)``, the set's ``ipc``
    first; ``n_per_class`` ``None`` is ``ipc``; ``seed`` and ``extra_seed`` choose the codes
    as in :func:`codes_per_class`. Shared by ``DatasetCondenser.sample`` and
    ``CondensedSet.sample``, so a saved generator draws exactly what the fitted one draws.
    """
    n = ipc if n_per_class is None else n_per_class
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise InvalidParameterError(
            f"n_per_class must be a positive int or None, got {n_per_class!r}."
        )
    z, y_idx = codes_per_class(codes, int(n), seed, extra_seed=extra_seed)
    return draw(generator, z, y_idx), y_idx


def mean_offdiagonal_cosine(vectors: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity over all ordered pairs ``i != j`` of the rows of ``vectors``."""
    n = vectors.shape[0]
    unit = F.normalize(vectors, dim=-1)
    sims = unit @ unit.transpose(-1, -2)
    return (sims.sum((-1, -2)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (n * (n - 1))


def intra_class_similarity(embeddings: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean over classes of the mean pairwise cosine similarity of a class's samples.

    ``embeddings`` holds ``n_classes * k`` rows grouped by class. Lower is more diverse;
    minimising it pushes the samples of a class apart. With one sample per class (``k = 1``)
    there is no pair to push apart and the term is 0, as ddm's diversity term is at ipc 1.
    """
    grouped = embeddings.view(n_classes, -1, embeddings.shape[-1])
    if grouped.shape[1] < 2:
        return embeddings.new_zeros(())
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

    The set's own latent codes (``ipc`` per class, fixed for the fit) always take part; every
    call to :meth:`samples` adds ``fresh`` codes per class: first a random choice among the
    further trained codes (``codes[:, ipc:]``, when ``n_codes > ipc``), then newly drawn ones,
    so the generator also learns to make good samples away from the set's codes (what
    :meth:`DatasetCondenser.sample` draws beyond ``ipc``).

    Parameters
    ----------
    net : nn.Module
        The conditional generator.
    codes : torch.Tensor
        The fitted codes, ``(n_classes, n_codes, latent_dim)``, the set's ``ipc`` first.
    ipc : int
        Codes per class that make the set.
    fresh : int
        Further codes per class per draw.
    ctx : FitContext
        The fit (device and random generator).
    """

    def __init__(
        self, net: nn.Module, codes: torch.Tensor, ipc: int, fresh: int, ctx: FitContext
    ) -> None:
        self.net = net
        self.codes = codes
        self.ipc = ipc
        self.fresh = fresh
        self.ctx = ctx
        self.y = torch.arange(codes.shape[0], device=ctx.device).repeat_interleave(ipc + fresh)

    def parameters(self) -> list[torch.Tensor]:
        """The generator's weights, and the codes when they are learned."""
        params = list(self.net.parameters())
        return [*params, self.codes] if self.codes.requires_grad else params

    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Generated samples for the set's codes and ``fresh`` further ones, grouped by class."""
        n_classes, n_codes, latent_dim = self.codes.shape
        parts = [self.codes[:, : self.ipc]]
        from_bank = min(self.fresh, n_codes - self.ipc)
        if from_bank > 0:  # a random choice of the further trained codes of every class
            keys = torch.rand(
                n_classes, n_codes - self.ipc, generator=self.ctx.generator, device=self.ctx.device
            )
            pick = keys.argsort(dim=1)[:, :from_bank] + self.ipc
            parts.append(torch.gather(self.codes, 1, pick[..., None].expand(-1, -1, latent_dim)))
        if self.fresh > from_bank:
            parts.append(
                torch.randn(
                    n_classes,
                    self.fresh - from_bank,
                    latent_dim,
                    generator=self.ctx.generator,
                    device=self.codes.device,
                )
            )
        z = torch.cat(parts, dim=1)
        return self.net(z.reshape(-1, latent_dim), self.y), self.y

    def to_result(self, history: History, n_iter: int) -> CondensedResult:
        """The trained generator and all fitted codes (the set's first) as the result."""
        net = self.net.requires_grad_(False).eval()
        codes = self.codes.detach()
        return CondensedResult(
            X=None, y=None, generator=net, latents=codes, history=history, n_iter=n_iter
        )


class GenerativeMatching(DistributionMatching):
    """Learn a conditional generator whose samples match the real data (``method="generative"``).

    The set is ``ipc`` latent codes per class, drawn once per fit, pushed through a conditional
    generator. Every outer iteration generates the set's samples plus ``fresh_per_class`` samples
    from newly drawn codes, and minimises, with respect to the generator's weights:

    * the DM loss (:class:`DistributionMatching`): squared distance between the class-mean
      embeddings of real and generated samples under a fresh random network, with siamese
      augmentation;
    * ``intra_weight`` times the mean pairwise cosine similarity of the embeddings of generated
      samples of one class (:func:`intra_class_similarity`): lower means more varied samples;
    * ``inter_weight`` times the mean pairwise cosine similarity of the generated class centres
      (:func:`inter_class_similarity`): lower means classes further apart.

    Both similarity terms are bounded in [-1, 1], so a large weight cannot blow the generator
    up. The fitted condenser keeps the generator (``generator_``) and the set's codes
    (``latent_codes_``); ``transform()`` returns the set, and ``sample(n_per_class)`` draws any
    number: the set's codes first, then further codes.

    Parameters
    ----------
    lr_syn : float, default=1e-3
        Learning rate of Adam (betas 0.5, 0.999) on the generator's weights.
    batch_real : int, default=256
        Real samples per class per iteration.
    fresh_per_class : int or None, default=None
        Further samples per class per iteration, besides the set's ``ipc``: a random choice of
        the further trained codes (see ``n_codes``), then newly drawn codes. ``None``: 0 (the
        set's codes only) unless ``n_codes > ipc``, then ``ipc`` (so that the further codes are
        trained). Measured on digits (docs/benchmarks.md, quick budget, 3 seeds): with ``ipc``
        fresh samples the set scored 89.0 % at ipc 1 and 96.1 % at ipc 10, with none 89.5 %
        and 96.7 %; fresh samples help a larger draw at ipc 1 (10 per class: 89.2 against
        84.8 %), not at ipc 10 (50 per class: 94.8 against 96.2 %).
    n_codes : int or None, default=None
        Latent codes per class kept and trained, the set's ``ipc`` first (at least ``ipc``;
        ``None`` is ``ipc``). The further codes are warmed up on further real samples and
        trained as the fresh samples, and ``sample(n_per_class)`` draws them before any
        untrained code, so a larger draw is made of trained samples.
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
    matching : {"separate", "joint", "set"}, default="separate"
        Which generated samples the DM loss matches to each real class mean. ``"separate"``:
        the set's samples and the fresh samples as two sets, each matched (the sum of both
        distances), so the set that ``transform()`` returns is itself matched, as a pixel set
        is in ``dm``, and so is a fresh draw. ``"joint"``: the mean of all of a class's
        generated samples together, so neither part needs to be matched on its own. ``"set"``:
        the set's samples only; the fresh samples enter the intra- and inter-class terms alone.
        Measured on digits with ``ipc`` fresh samples (docs/benchmarks.md): at ipc 1
        ``"joint"`` loses 8 points to ``"separate"`` (seed 0); at ipc 10 ``"separate"`` loses
        about 1 point to ``"joint"`` (2 to 3 seeds). ``"set"`` is measured at ipc 1 only.
    learn_codes : bool, default=False
        Also train the latent codes (the set's and the further ``n_codes``), with the generator's
        optimiser, as a learnable codebook of one code per sample; codes drawn later beyond
        ``n_codes`` still come from the prior.
    warmup_iter : int, default=200
        With ``init="real"`` (the default), Adam steps that first teach the generator to map the
        set's codes to ``ipc`` random real samples per class (mean squared error): the
        generator's analogue of starting pixels from real samples. 0, or ``init="noise"``,
        starts from the randomly initialised generator.

    Notes
    -----
    Why the warm-up and the set's own codes: a randomly initialised generator outputs nearly
    constant images, and samples from codes it never saw are blends. Measured on digits (ipc 10,
    1,000 iterations, seed 0), training on fresh codes only, with a warm-up on other codes, gave
    89.8 % against 94.1 % for random real samples: the warm-up alone gave 64.2 %.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lr_syn": [Interval(Real, 0, None, closed="neither")],
        "batch_real": [Interval(Integral, 1, None, closed="left")],
        "fresh_per_class": [NONE, Interval(Integral, 0, None, closed="left")],
        "n_codes": [NONE, Interval(Integral, 1, None, closed="left")],
        "generator": [Dynamic(lambda: ["auto", *GENERATORS.names()])],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "intra_weight": [Interval(Real, 0, None, closed="left")],
        "inter_weight": [Interval(Real, 0, None, closed="left")],
        "matching": [Options(["separate", "joint", "set"])],
        "learn_codes": [BOOLEAN],
        "warmup_iter": [Interval(Integral, 0, None, closed="left")],
    }
    paper_max_iter: ClassVar[int] = 20000
    lr_scales_with_ipc: ClassVar[bool] = False  # the generator keeps its own (Adam) rate
    result_kind: ClassVar[str] = "generator"
    supports_warm_start: ClassVar[bool] = False  # a generator, not pixels, would be warmed

    def __init__(
        self,
        lr_syn: float = 1e-3,
        batch_real: int = 256,
        fresh_per_class: int | None = None,
        n_codes: int | None = None,
        generator: str = "auto",
        latent_dim: int = 32,
        width: int = 64,
        intra_weight: float = 1.0,
        inter_weight: float = 1.0,
        matching: str = "separate",
        learn_codes: bool = False,
        warmup_iter: int = 200,
    ) -> None:
        self.lr_syn = lr_syn
        self.batch_real = batch_real
        self.fresh_per_class = fresh_per_class
        self.n_codes = n_codes
        self.generator = generator
        self.latent_dim = latent_dim
        self.width = width
        self.intra_weight = intra_weight
        self.inter_weight = inter_weight
        self.matching = matching
        self.learn_codes = learn_codes
        self.warmup_iter = warmup_iter

    def needs_real_samples(self, init: str) -> bool:
        """False: any ``ipc`` can be drawn (the warm-up uses what each class holds)."""
        return False

    def fresh(self, ctx: FitContext) -> int:
        """Further samples per class per iteration (``fresh_per_class``; by default ``ipc``
        when further codes are kept, else 0)."""
        if self.fresh_per_class is not None:
            return int(self.fresh_per_class)
        return int(ctx.ipc) if self.codes_per_class(ctx) > ctx.ipc else 0

    def make_optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        """Adam on the generator's weights."""
        return torch.optim.Adam(params, lr=self.lr_syn, betas=(0.5, 0.999))

    def codes_per_class(self, ctx: FitContext) -> int:
        """Latent codes kept per class (``n_codes``, at least ``ipc``)."""
        if self.n_codes is None:
            return int(ctx.ipc)
        if self.n_codes < ctx.ipc:
            raise ValueError(
                f"strategy__n_codes={self.n_codes} is below ipc={ctx.ipc}; the codes include the "
                "set's own. Use n_codes >= ipc or None."
            )
        return int(self.n_codes)

    def check(self, ctx: FitContext) -> None:
        """Refuse ``n_codes`` below ``ipc`` before the generator is built."""
        self.codes_per_class(ctx)

    def init_synthetic(self, ctx: FitContext) -> GeneratorSet:
        """Build the generator and its codes; warm up when ``init="real"``."""
        fresh = self.fresh(ctx)
        n_codes = self.codes_per_class(ctx)
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
        codes = torch.randn(
            ctx.data.n_classes, n_codes, self.latent_dim, generator=ctx.generator, device=ctx.device
        )
        if ctx.init == "real" and self.warmup_iter > 0:
            self.reconstruction_warmup(net, codes, ctx)
        return GeneratorSet(net, codes.requires_grad_(self.learn_codes), int(ctx.ipc), fresh, ctx)

    def reconstruction_warmup(self, net: nn.Module, codes: torch.Tensor, ctx: FitContext) -> None:
        """Teach ``net`` to map its codes to distinct random real samples of their classes.

        A class with fewer samples than codes pairs all of them with its first codes.
        """
        n_classes, n_codes, _ = codes.shape
        rows, valid = ctx.data.sample_per_class_dense(n_codes, ctx.generator)
        target = ctx.data.X[rows[valid]]
        z = codes[:, : rows.shape[1]][valid]
        labels = torch.arange(n_classes, device=ctx.device)[:, None].expand_as(rows)[valid]
        optimizer = self.make_optimizer(list(net.parameters()))
        for _ in range(self.warmup_iter):
            loss = F.mse_loss(net(z, labels), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("generative warm-up: reconstruction error %.4g", float(loss.detach()))

    def matching_loss(
        self,
        mean_real: torch.Tensor,
        embeddings: torch.Tensor,
        y_syn: torch.Tensor,
        ctx: FitContext,
    ) -> torch.Tensor:
        """The DM loss of all generated samples (``"joint"``), of the set's and of the fresh
        samples, each against the real class means (``"separate"``), or of the set's alone
        (``"set"``)."""
        fresh = self.fresh(ctx)
        if self.matching == "joint" or fresh == 0:
            return super().matching_loss(mean_real, embeddings, y_syn, ctx)
        grouped = embeddings.view(ctx.data.n_classes, ctx.ipc + fresh, -1)  # set's codes first
        own = ((mean_real - grouped[:, : ctx.ipc].mean(1)) ** 2).sum()
        if self.matching == "set":
            return own
        return own + ((mean_real - grouped[:, ctx.ipc :].mean(1)) ** 2).sum()

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
