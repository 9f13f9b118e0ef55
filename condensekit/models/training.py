"""The one training loop: train a network on tensors that already live on the device.

Everything that trains a network (the evaluator, and helper networks of selections and inner
loops) goes through :func:`train_network`, so there is exactly one place where training happens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm


def train_network(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 256,
    augment=None,
    decay_at: int | None = None,
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
    verbose: int = 0,
    desc: str | None = None,
) -> nn.Module:
    """Train ``net`` with SGD and cross-entropy on ``(X, y)``.

    Parameters
    ----------
    net : nn.Module
        Network to train in place.
    X, y : torch.Tensor
        Inputs (normalised) and class indices, on the network's device.
    epochs : int
        Passes over the data.
    generator : torch.Generator
        Drives shuffling and augmentation; on the data's device.
    lr, momentum, weight_decay : float
        SGD settings.
    batch_size : int
        Mini-batch size.
    augment : augmentation object, optional
        Applied to every mini-batch with fresh parameters for every sample: one transform family
        per mini-batch (as in the DSA reference code) where ``augment.family_per_batch`` is
        true, else one family per sample (DC's augmentation).
    decay_at : int, optional
        Epoch at which the learning rate is multiplied by 0.1; default ``epochs // 2``.
    on_epoch_end : callable, optional
        Called as ``on_epoch_end(net, epoch)`` after every epoch (the network is put back in
        training mode afterwards), e.g. to record predictions.
    verbose : int, default=0
        ``>= 1`` shows a progress bar over the epochs (tqdm), labelled ``desc``.
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    nn.Module
        ``net``, trained.
    """
    net.train()
    optimizer = torch.optim.SGD(
        net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    decay_at = epochs // 2 if decay_at is None else decay_at
    n = X.shape[0]
    per_batch = bool(getattr(augment, "family_per_batch", True))
    for epoch in tqdm(range(epochs), desc=desc, disable=not verbose, leave=False):
        if epoch == decay_at and epoch > 0:
            for group in optimizer.param_groups:
                group["lr"] *= 0.1
        order = torch.randperm(n, generator=generator, device=X.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = X[idx], y[idx]
            if augment is not None:
                params = augment.draw(
                    len(idx), generator, tuple(xb.shape[2:]), one_family=per_batch
                )
                xb = augment(xb, params)
            loss = F.cross_entropy(net(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if on_epoch_end is not None:
            on_epoch_end(net, epoch)
            net.train()
    return net


@torch.no_grad()
def accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Fraction of ``X`` that ``net`` classifies as ``y`` (labels < 0 count as errors)."""
    net.eval()
    correct = 0
    for start in range(0, X.shape[0], batch_size):
        pred = net(X[start : start + batch_size]).argmax(1)
        correct += int((pred == y[start : start + batch_size]).sum())
    return correct / max(X.shape[0], 1)
