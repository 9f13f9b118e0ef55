"""A multi-layer perceptron for rows of features (tabular data)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected network: ``[Linear -> ReLU] * depth`` then a linear classifier.

    Parameters
    ----------
    in_shape : tuple of int
        Shape of one sample; it is flattened, so images work too.
    n_classes : int
        Number of outputs.
    width : int, default=256
        Width of every hidden layer (same meaning as the ConvNet's ``width``).
    depth : int, default=2
        Number of hidden layers.
    hidden : sequence of int, optional
        Explicit widths of the hidden layers; overrides ``width`` and ``depth``.
        :meth:`embed` returns the last hidden layer.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        n_classes: int,
        width: int = 256,
        depth: int = 2,
        hidden: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        hidden = tuple(int(h) for h in hidden) if hidden is not None else (int(width),) * int(depth)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"MLP hidden widths must be positive, got {hidden}.")
        dims = (math.prod(in_shape), *hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in pairwise(dims):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.embed_dim = hidden[-1]
        self.classifier = nn.Linear(hidden[-1], n_classes)

    def forward_blocks(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Output of every hidden layer, in order."""
        return self.forward_taps(x)[1]

    def forward_taps(
        self, x: torch.Tensor, tap: str = "block"
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The embedding and every hidden layer's output (after its ReLU), in one pass.

        ``tap`` is ``"block"`` or ``"activation"`` (the same here: a hidden layer ends with its
        activation); the MLP has no normalisation layers to read.
        """
        if tap not in ("block", "activation"):
            raise ValueError(
                f"The MLP has no normalisation layers; tap must be 'block' or 'activation', "
                f"got {tap!r}."
            )
        outs = []
        for layer in self.body:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                outs.append(x)
        return x, outs

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer, shape ``(n, embed_dim)``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(x))
