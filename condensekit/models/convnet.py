"""The ConvNet family used throughout the dataset-condensation literature."""

from __future__ import annotations

import torch
from torch import nn

_NORMS = ("instance", "batch", "none")
_POOLS = ("avg", "max", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":  # instance norm with affine parameters, as in the papers' code
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ConvNet(nn.Module):
    """ConvNet-D: ``depth`` blocks of [conv 3x3 -> norm -> ReLU -> pool 2x2], then a linear layer.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, H, W)`` of the inputs. 28x28 inputs are padded by 3 in the first convolution so the
        feature map is 32x32, as in the papers.
    n_classes : int
        Number of outputs.
    width : int, default=128
        Channels of every convolution.
    depth : int, default=3
        Number of blocks. Each pooling halves the side, so ``H`` and ``W`` must be at least
        ``2 ** depth`` when pooling is used.
    norm : {"instance", "batch", "none"}, default="instance"
        Normalisation layer of each block.
    pooling : {"avg", "max", "none"}, default="avg"
        Pooling of each block.

    Notes
    -----
    :meth:`embed` returns the flattened output of the last block, :meth:`forward_blocks` the output
    of every block (the taps that style-matching losses use).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        n_classes: int,
        width: int = 128,
        depth: int = 3,
        norm: str = "instance",
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(f"ConvNet needs image inputs (C, H, W), got shape {tuple(in_shape)}.")
        if norm not in _NORMS:
            raise ValueError(f"ConvNet norm must be one of {_NORMS}, got {norm!r}.")
        if pooling not in _POOLS:
            raise ValueError(f"ConvNet pooling must be one of {_POOLS}, got {pooling!r}.")
        if int(depth) < 1 or int(width) < 1:
            raise ValueError(f"ConvNet depth and width must be >= 1, got {depth} and {width}.")
        channels, height, wide = in_shape
        first_pad = 3 if (height, wide) == (28, 28) else 1
        height, wide = height + 2 * (first_pad - 1), wide + 2 * (first_pad - 1)
        if pooling != "none" and min(height, wide) < 2**depth:
            raise ValueError(
                f"ConvNet of depth {depth} with pooling needs images of at least "
                f"{2**depth}x{2**depth}; got {in_shape[1]}x{in_shape[2]}. Lower model__depth."
            )
        blocks = []
        for i in range(depth):
            layers = [
                nn.Conv2d(
                    channels if i == 0 else width, width, 3, padding=first_pad if i == 0 else 1
                ),
                _norm(norm, width),
                nn.ReLU(inplace=True),
            ]
            if pooling != "none":
                layers.append(nn.AvgPool2d(2) if pooling == "avg" else nn.MaxPool2d(2))
                height, wide = height // 2, wide // 2
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.embed_dim = width * height * wide
        self.classifier = nn.Linear(self.embed_dim, n_classes)

    def forward_blocks(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Output of every block, in order."""
        outs = []
        for block in self.blocks:
            x = block(x)
            outs.append(x)
        return outs

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened output of the last block, shape ``(n, embed_dim)``."""
        for block in self.blocks:
            x = block(x)
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(x))
