"""The one outer loop shared by every matching strategy."""

from __future__ import annotations

import logging
import math

import torch
from tqdm.auto import tqdm

from .strategies.base import CondensedResult, FitContext, MatchingStrategy

logger = logging.getLogger("condensekit")

#: How often (in outer iterations) the progress bar and the divergence check look at the loss.
_REPORT_EVERY = 10


def run_outer_loop(strategy: MatchingStrategy, ctx: FitContext) -> CondensedResult:
    """Optimise a strategy's synthetic parameters for ``ctx.max_iter`` outer iterations.

    Every outer iteration refreshes the matching network, then takes
    ``strategy.steps_per_iteration`` SGD steps on the synthetic parameters, each on the
    strategy's loss and followed by ``strategy.after_step``. The loss of each iteration (the mean
    over its steps) is kept on the device and copied to the host once at the end.

    Raises
    ------
    FloatingPointError
        If the loss stops being finite (the synthetic learning rate is usually too high).
    """
    syn = strategy.init_synthetic(ctx)
    optimizer = strategy.make_optimizer(syn.parameters())
    net = strategy.make_network(ctx)
    losses = torch.zeros(ctx.max_iter, device=ctx.device)
    bar = tqdm(total=ctx.max_iter, desc=ctx.description, disable=not ctx.verbose, leave=False)
    with bar:
        for it in range(ctx.max_iter):
            strategy.refresh_network(net, ctx, it)
            n_steps = strategy.steps_per_iteration(ctx, it)
            total = torch.zeros((), device=ctx.device)
            for step in range(n_steps):
                loss = strategy.loss(net, syn, ctx, it, step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                strategy.after_step(net, syn, ctx, it, step)
                total += loss.detach()
            losses[it] = total / n_steps
            bar.update(1)
            if (it + 1) % _REPORT_EVERY == 0 or it + 1 == ctx.max_iter:
                value = float(losses[it])
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"The matching loss became {value} at iteration {it + 1}; lower "
                        f"strategy__lr_syn (now {strategy.lr_syn})."
                    )
                bar.set_postfix(loss=f"{value:.4g}")
                logger.debug("iteration %d: loss %.6g", it + 1, value)
    return syn.to_result(history=losses.cpu().numpy(), n_iter=ctx.max_iter)
