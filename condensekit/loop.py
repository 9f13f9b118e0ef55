"""The one outer loop shared by every matching strategy."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from .callbacks import Callback, LoopState

if TYPE_CHECKING:  # the strategies call this loop; it only names their types
    from .strategies.base import CondensedResult, FitContext, MatchingStrategy


def run_outer_loop(
    strategy: MatchingStrategy, ctx: FitContext, callbacks: Sequence[Callback] = ()
) -> CondensedResult:
    """Optimise a strategy's synthetic parameters for ``ctx.max_iter`` outer iterations.

    Every outer iteration refreshes the matching network, then takes
    ``strategy.steps_per_iteration`` SGD steps on the synthetic parameters, each on the
    strategy's loss and followed by ``strategy.after_step``. The loss of each iteration (the mean
    over its steps) is kept on the device and copied to the host once at the end. The
    ``callbacks`` (:mod:`condensekit.callbacks`) are called before the first iteration, after
    every iteration and after the last; one of them may stop the loop early or resume it from a
    checkpoint.

    Raises
    ------
    FloatingPointError
        If the loss stops being finite (raised by
        :class:`~condensekit.callbacks.DivergenceCheck`).
    """
    if ctx.ranks.agree(any(cb.restores(ctx) for cb in callbacks), "resuming from a checkpoint"):
        ctx = dataclasses.replace(ctx, resuming=True)
    syn = strategy.init_synthetic(ctx)
    state = LoopState(
        strategy=strategy,
        ctx=ctx,
        syn=syn,
        optimizer=strategy.make_optimizer(syn.parameters()),
        net=strategy.make_network(ctx),
        losses=torch.zeros(ctx.max_iter, device=ctx.device),
    )
    for cb in callbacks:
        cb.on_fit_begin(state)
    try:
        for it in range(state.start_iteration, ctx.max_iter):
            start = time.perf_counter()
            _iteration(strategy, ctx, state, it)
            state.iteration = it
            state.record = {"iteration": it + 1, "seconds": time.perf_counter() - start}
            state.history.append(state.record)
            for cb in callbacks:
                cb.on_iteration_end(state)
            if ctx.ranks.any(state.stop):  # a distributed fit stops on every rank together
                break
    finally:
        for cb in callbacks:
            cb.on_fit_end(state)
    n_iter = len(state.history)
    losses = state.losses[:n_iter].cpu().numpy()
    for record, loss in zip(state.history, losses, strict=True):
        record["loss"] = float(loss)
    return syn.to_result(history=state.history, n_iter=n_iter)


def _iteration(strategy: MatchingStrategy, ctx: FitContext, state: LoopState, it: int) -> None:
    """One outer iteration: refresh the network, then the strategy's synthetic steps."""
    net, syn, optimizer = state.net, state.syn, state.optimizer
    strategy.refresh_network(net, ctx, it)
    n_steps = strategy.steps_per_iteration(ctx, it)
    total = torch.zeros((), device=ctx.device)
    for step in range(n_steps):
        loss = strategy.loss(net, syn, ctx, it, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ctx.ranks.average_gradients(syn.parameters())
        optimizer.step()
        strategy.after_step(net, syn, ctx, it, step)
        total += loss.detach()
    state.losses[it] = total / n_steps
