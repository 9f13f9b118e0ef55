"""A conditional generator as a condensed set: its latent codes, drawing from it, and the
generator as the learned parameters of a fit (:class:`GeneratorSet`).

Shared by the generative method (training), the ``"generator"`` result kind (drawing from a
fitted or saved generator) and :meth:`DatasetCondenser.sample`, so a saved generator draws
exactly what the fitted one draws.
"""

from __future__ import annotations

from numbers import Integral

import torch
from torch import nn

from .._torch_utils import derived_seed, make_generator
from .._validation import InvalidParameterError
from ..callbacks import History
from .base import CondensedResult, FitContext


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
