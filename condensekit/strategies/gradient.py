"""Gradient matching: DC (Zhao et al., ICLR 2021), DSA (Zhao & Bilen, ICML 2021) and the
contrastive DCC (Lee et al., ICML 2022), one implementation that differs by settings only."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from .._validation import NONE, Interval, Options
from ..models.training import train_network
from .base import FitContext, MatchingStrategy, SyntheticSet

#: (outer_loop, inner_loop) of the DC paper's code by ipc (VICO-UoE/DatasetCondensation,
#: ``get_loops``): synthetic steps per sampled network, and training epochs of the network on the
#: synthetic set after each step. Other ipc use the nearest smaller entry.
LOOPS_BY_IPC = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}
#: The DCC authors' table (Saehyung-Lee/DCC, ``get_loops``): at ipc 1 every sampled network gets
#: 10 synthetic steps with 5 training epochs between them, where DC takes 1 step; from ipc 10 up
#: it equals DC's.
CONTRASTIVE_LOOPS_BY_IPC = {**LOOPS_BY_IPC, 1: (10, 5)}


def paper_loops(ipc: int, table: dict[int, tuple[int, int]] | None = None) -> tuple[int, int]:
    """The paper's (outer_loop, inner_loop) for ``ipc`` from ``table`` (DC's by default)."""
    table = LOOPS_BY_IPC if table is None else table
    return table[max(k for k in table if k <= max(ipc, 1))]


def gradient_distance(
    g_syn: dict[str, torch.Tensor], g_real: dict[str, torch.Tensor], metric: str, batched: bool
) -> torch.Tensor:
    """Distance between two gradients given as ``{parameter name: tensor}``.

    ``"layerwise"``: for every weight tensor reshaped to ``(out, rest)``, the sum over rows of
    ``1 - cos(row_syn, row_real)``; biases and normalisation parameters (1-D) are skipped.
    ``"mse"``: squared Euclidean distance of the concatenated gradients. ``"cos"``: one minus
    their cosine. With ``batched=True`` every tensor has a leading class axis and the distances
    of all classes are summed.
    """
    lead = 1 if batched else 0
    if metric == "layerwise":
        total = 0.0
        for name, gs in g_syn.items():
            if gs.dim() - lead < 2:
                continue
            gs = gs.flatten(lead + 1)
            gr = g_real[name].flatten(lead + 1)
            cos = (gs * gr).sum(-1) / (gs.norm(dim=-1) * gr.norm(dim=-1) + 1e-6)
            total = total + (1 - cos).sum()
        return total
    flat_s = torch.cat([g.flatten(lead) for g in g_syn.values()], dim=-1)
    flat_r = torch.cat([g_real[n].flatten(lead) for n in g_syn], dim=-1)
    if metric == "mse":
        return ((flat_s - flat_r) ** 2).sum()
    cos = (flat_s * flat_r).sum(-1) / (flat_s.norm(dim=-1) * flat_r.norm(dim=-1) + 1e-6)
    return (1 - cos).sum()


class GradientMatching(MatchingStrategy):
    """Class-wise gradient matching (DC) and its variants.

    Every outer iteration draws a new random network; then, ``outer_loop`` times, one SGD step
    on the synthetic set minimises the distance between the gradients of the cross-entropy on
    real and on synthetic data, followed by ``inner_loop`` epochs of training the network on the
    synthetic set (skipped after the last step). Per-class gradients of all classes come from one
    batched computation (``torch.func.vmap``), not one pass per class.

    With ``contrastive`` (DCC), one distance compares the gradient of the mean loss over the
    whole synthetic set (one pass) with the class-averaged real gradient, so cross-class terms of
    the cross-entropy take part. The bi-level warm-up keeps the class-wise loss at the start; see
    ``outer_warmup``, ``inner_warmup`` and ``inner_warmup_scope``.

    Parameters
    ----------
    lr_syn : float, default=0.1
        SGD learning rate on the synthetic pixels.
    momentum_syn : float, default=0.5
        Its momentum.
    batch_real : int, default=256
        Real samples per class per synthetic step.
    outer_loop, inner_loop : int or None, default=None
        Synthetic steps per network, and training epochs on the synthetic set after each step;
        None takes the method's table by ipc (:attr:`loop_table`). DC and DSA use the DC
        paper's (1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15),
        50: (50, 10); other ipc use the nearest smaller entry); the contrastive variants use the
        DCC authors' table, which differs at ipc 1 only: (10, 5).
    lr_net : float, default=0.01
        SGD learning rate of the network trained in the inner loop.
    batch_train : int, default=256
        Mini-batch size of that training.
    distance : {"layerwise", "mse", "cos"}, default="layerwise"
        Gradient distance (see :func:`gradient_distance`).
    outer_warmup : int or None, default=None
        Contrastive variants only: outer iterations of class-wise matching before the
        contrastive loss takes over. None is a quarter of the run (250 of the paper's 1000),
        rounded: ``round(0.25 * max_iter)``, so a shorter run keeps the same proportion.
    inner_warmup : int, default=10
        Contrastive variants only: class-wise synthetic steps at the start of a network (where
        they apply is set by ``inner_warmup_scope``).
    class_batching : {"auto", "vmap", "loop"}, default="auto"
        How the per-class gradients are computed. ``"vmap"``: all classes in one
        ``torch.func.vmap`` computation. ``"loop"``: one pass per class. ``"auto"`` uses vmap on
        GPUs, where one large launch beats many small ones, and the loop on CPUs, where it was
        measured faster: on 2 cores, the real gradients of 10 classes x 64 MNIST images took
        1.55 s as a loop and 3.0 s with vmap (benchmarks/bench_gradient.py reports both).
    inner_warmup_scope : {"outer_warmup", "every_network"}, default="outer_warmup"
        Contrastive variants only. ``"outer_warmup"`` follows the DCC authors' code: a step is
        class-wise while the outer iteration is below ``outer_warmup`` *and* the step below
        ``inner_warmup``; every later step is contrastive. ``"every_network"`` keeps the
        class-wise loss for the whole outer warm-up and, after it, for the first
        ``inner_warmup`` steps on every new network. With the loop table, a network gets at most
        10 synthetic steps when ``ipc <= 10``, so ``"every_network"`` with ``inner_warmup=10``
        never leaves the class-wise loss there (class-wise matching on DCC's loop table).

    Notes
    -----
    Networks with batch normalisation are matched in evaluation mode, with running statistics
    set to the exact statistics of the real batch of the step; the inner loop trains them in
    training mode.

    Across processes (:mod:`condensekit.distributed`), every rank draws the same real batch,
    computes the gradients of its share of every class's rows (weighted by the whole batch's
    class sizes), and the shares are summed in one collective: the class-mean real gradient of
    a one-process fit. The synthetic side and the inner-loop training are computed alike on
    every rank; the trained network is then broadcast from rank 0 so the ranks stay
    bit-identical where GPU kernels are not deterministic.
    """

    _parameter_constraints: ClassVar[dict] = {
        "lr_syn": [Interval(Real, 0, None, closed="neither")],
        "momentum_syn": [Interval(Real, 0, 1, closed="left")],
        "batch_real": [Interval(Integral, 1, None, closed="left")],
        "outer_loop": [NONE, Interval(Integral, 1, None, closed="left")],
        "inner_loop": [NONE, Interval(Integral, 0, None, closed="left")],
        "lr_net": [Interval(Real, 0, None, closed="neither")],
        "batch_train": [Interval(Integral, 1, None, closed="left")],
        "distance": [Options(["layerwise", "mse", "cos"])],
        "outer_warmup": [NONE, Interval(Integral, 0, None, closed="left")],
        "inner_warmup": [Interval(Integral, 0, None, closed="left")],
        "inner_warmup_scope": [Options(["outer_warmup", "every_network"])],
        "class_batching": [Options(["auto", "vmap", "loop"])],
    }
    paper_max_iter: ClassVar[int] = 1000
    default_augment: ClassVar[str | None] = None
    budget_family: ClassVar[str | None] = "gradient"
    supports_streaming: ClassVar[bool] = True
    supports_distributed: ClassVar[bool] = True
    #: Whether the contrastive loss is used after the warm-up (DCC).
    contrastive: ClassVar[bool] = False
    #: (outer_loop, inner_loop) by ipc when those settings are None.
    loop_table: ClassVar[dict[int, tuple[int, int]]] = LOOPS_BY_IPC

    def __init__(
        self,
        lr_syn: float = 0.1,
        momentum_syn: float = 0.5,
        batch_real: int = 256,
        outer_loop: int | None = None,
        inner_loop: int | None = None,
        lr_net: float = 0.01,
        batch_train: int = 256,
        distance: str = "layerwise",
        outer_warmup: int | None = None,
        inner_warmup: int = 10,
        inner_warmup_scope: str = "outer_warmup",
        class_batching: str = "auto",
    ) -> None:
        self.lr_syn = lr_syn
        self.momentum_syn = momentum_syn
        self.batch_real = batch_real
        self.outer_loop = outer_loop
        self.inner_loop = inner_loop
        self.lr_net = lr_net
        self.batch_train = batch_train
        self.distance = distance
        self.outer_warmup = outer_warmup
        self.inner_warmup = inner_warmup
        self.inner_warmup_scope = inner_warmup_scope
        self.class_batching = class_batching

    # -- schedule ---------------------------------------------------------------------------
    def loops(self, ipc: int) -> tuple[int, int]:
        """(outer_loop, inner_loop) in use for ``ipc``."""
        outer, inner = paper_loops(ipc, self.loop_table)
        return (
            outer if self.outer_loop is None else int(self.outer_loop),
            inner if self.inner_loop is None else int(self.inner_loop),
        )

    def warmup_iterations(self, max_iter: int) -> int:
        """Outer iterations of class-wise matching before the contrastive loss."""
        if self.outer_warmup is not None:
            return int(self.outer_warmup)
        return round(0.25 * max_iter)

    def is_classwise(self, ctx: FitContext, iteration: int, step: int) -> bool:
        """Whether the class-wise loss is used at this outer iteration and synthetic step."""
        if not self.contrastive:
            return True
        in_outer = iteration < self.warmup_iterations(ctx.max_iter)
        in_inner = step < self.inner_warmup
        if self.inner_warmup_scope == "outer_warmup":
            return in_outer and in_inner
        return in_outer or in_inner

    def steps_per_iteration(self, ctx: FitContext, iteration: int) -> int:
        """``outer_loop`` synthetic steps on every network."""
        return self.loops(ctx.ipc)[0]

    # -- the matching loss ------------------------------------------------------------------
    @staticmethod
    def _freeze_batchnorm(net: nn.Module, x_real: torch.Tensor) -> None:
        norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        net.train()
        for m in norms:  # running statistics := exact statistics of this real batch
            m.reset_running_stats()
            m.momentum = None
        with torch.no_grad():
            net(x_real)
        for m in norms:
            m.momentum = 0.1
            m.eval()

    def loss(
        self, net: nn.Module, syn: SyntheticSet, ctx: FitContext, iteration: int, step: int
    ) -> torch.Tensor:
        """Gradient distance between real and synthetic data on the current network."""
        data = ctx.data
        rows, valid = data.sample_per_class_dense(self.batch_real, ctx.generator)
        counts = valid.sum(1, keepdim=True).clamp_min(1)  # of the whole batch, on every rank
        mine = ctx.ranks.share(rows.shape[1], rows.device)  # a distributed fit: this rank's rows
        if mine is not None:
            rows, valid = rows[:, mine], valid[:, mine]
        # (C, k, ...): classes along the first axis
        x_real, y_real = data.gather(rows), data.y[rows]
        x_syn, y_syn = syn.samples()
        n_classes = data.n_classes
        x_syn = x_syn.view(n_classes, ctx.ipc, *x_syn.shape[1:])
        y_syn = y_syn.view(n_classes, ctx.ipc)
        if ctx.augment is not None:
            params = ctx.augment.draw(n_classes, ctx.generator, tuple(x_real.shape[-2:]))
            groups_real = torch.arange(n_classes, device=ctx.device).repeat_interleave(
                x_real.shape[1]
            )
            groups_syn = torch.arange(n_classes, device=ctx.device).repeat_interleave(ctx.ipc)
            x_real = ctx.augment(x_real.flatten(0, 1), params, groups_real).view_as(x_real)
            x_syn = ctx.augment(x_syn.flatten(0, 1), params, groups_syn).view_as(x_syn)
        self._freeze_batchnorm(net, x_real.flatten(0, 1)[valid.flatten()])
        valid = valid.to(x_real.dtype)
        use_vmap = self.uses_vmap(ctx.device)
        # the mean gradient of every class on the real batch, whichever loss is used
        w_real = valid / counts
        g_real = self._gradients(net, x_real, y_real, w_real, True, use_vmap)
        # each rank's share of the class means, summed over the ranks
        g_real = ctx.ranks.sum_all({k: v.detach() for k, v in g_real.items()})
        if self.is_classwise(ctx, iteration, step):
            w_syn = torch.full(y_syn.shape, 1 / ctx.ipc, device=ctx.device)
            g_syn = self._gradients(net, x_syn, y_syn, w_syn, True, use_vmap)
            return gradient_distance(g_syn, g_real, self.distance, batched=True)
        # contrastive: the class-averaged real gradient against one pass over the whole set
        w_syn = torch.full(y_syn.shape, 1 / y_syn.numel(), device=ctx.device)
        g_syn = self._gradients(net, x_syn, y_syn, w_syn, False)
        g_real = {k: v.mean(0) for k, v in g_real.items()}
        return gradient_distance(g_syn, g_real, self.distance, batched=False)

    def uses_vmap(self, device: torch.device) -> bool:
        """Whether per-class gradients are computed with one vmapped call on ``device``."""
        if self.class_batching == "auto":
            return device.type == "cuda"
        return self.class_batching == "vmap"

    @staticmethod
    def _gradients(
        net: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        w: torch.Tensor,
        per_class: bool,
        use_vmap: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Gradient w.r.t. the network's parameters of the weighted cross-entropy.

        ``x`` is ``(n_classes, k, ...)`` with labels and weights ``(n_classes, k)``. With
        ``per_class`` every class gets its own gradient (leading class axis), from one vmapped
        computation or one pass per class (``use_vmap``); otherwise one gradient of the whole
        batch. All stay differentiable w.r.t. ``x``.
        """
        params = {k: v.detach() for k, v in net.named_parameters()}
        buffers = {k: v.detach() for k, v in net.named_buffers()}

        def weighted_loss(p, xb, yb, wb):
            logits = functional_call(net, (p, buffers), (xb,))
            return (F.cross_entropy(logits, yb, reduction="none") * wb).sum()

        if per_class and use_vmap:
            return vmap(grad(weighted_loss), in_dims=(None, 0, 0, 0))(params, x, y, w)
        if per_class:
            per = [grad(weighted_loss)(params, x[c], y[c], w[c]) for c in range(len(x))]
            return {name: torch.stack([g[name] for g in per]) for name in params}
        return grad(weighted_loss)(params, x.flatten(0, 1), y.flatten(), w.flatten())

    # -- the inner loop -----------------------------------------------------------------------
    def after_step(
        self, net: nn.Module, syn: SyntheticSet, ctx: FitContext, iteration: int, step: int
    ) -> None:
        """Train the network on the synthetic set for ``inner_loop`` epochs (not after the last
        synthetic step of a network)."""
        outer, inner = self.loops(ctx.ipc)
        if step == outer - 1 or inner == 0:
            return
        x_syn, y_syn = syn.samples()
        train_network(
            net,
            x_syn.detach(),
            y_syn,
            epochs=inner,
            generator=ctx.generator,
            lr=self.lr_net,
            momentum=0.0,
            weight_decay=0.0,
            batch_size=self.batch_train,
            augment=ctx.augment,
            decay_at=inner,
        )
        ctx.ranks.broadcast_module(net)


class DSA(GradientMatching):
    """DC with siamese augmentation of the real and synthetic batch of each class (DSA)."""

    default_augment: ClassVar[str | None] = "dsa"
    paper_protocol: ClassVar[str] = "dsa"


class DCC(GradientMatching):
    """Contrastive gradient matching with the bi-level warm-up (DCC), on the DCC authors' loop
    table."""

    contrastive: ClassVar[bool] = True
    loop_table: ClassVar[dict[int, tuple[int, int]]] = CONTRASTIVE_LOOPS_BY_IPC


class DSADCC(GradientMatching):
    """DCC with siamese augmentation (the DCC paper's best variant)."""

    contrastive: ClassVar[bool] = True
    loop_table: ClassVar[dict[int, tuple[int, int]]] = CONTRASTIVE_LOOPS_BY_IPC
    default_augment: ClassVar[str | None] = "dsa"
    paper_protocol: ClassVar[str] = "dsa"
