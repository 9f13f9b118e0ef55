"""The ConvNet family used throughout the dataset-condensation literature."""

from __future__ import annotations

import torch
from torch import nn

_NORMS = ("instance", "batch", "none")
_POOLS = ("avg", "max", "none")
#: Where :meth:`ConvNet.forward_taps` reads each block: after pooling (the block's output),
#: after the activation (before pooling) or after the normalisation (before the activation).
TAPS = ("block", "activation", "norm")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":  # instance norm with affine parameters, as in the papers' code
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def auto_depth(height: int, width: int) -> int:
    """ConvNet depth for ``"auto"``: 3, or fewer so that the last block sees at least 4x4."""
    side = min(height, width)
    return max(1, min(3, side.bit_length() - 2))


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
    depth : int or "auto", default="auto"
        Number of blocks. Each pooling halves the side, so ``H`` and ``W`` must be at least
        ``2 ** depth`` when pooling is used. ``"auto"`` is 3 (the papers' ConvNet-3) for images
        of 16x16 and larger (28x28 and 32x32 included) and fewer blocks for smaller images, so
        that the last block still normalises a map of at least 4x4: ``min(3, log2(side) - 1)``,
        at least 1 (2 for 8x8 digits). Instance normalisation over the 2x2 map that ConvNet-3
        leaves of an 8x8 image is badly conditioned: on digits it made gradient matching
        diverge, and depth 2 scores higher for every method there.
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
        depth: int | str = "auto",
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
        channels, height, wide = in_shape
        first_pad = 3 if (height, wide) == (28, 28) else 1
        height, wide = height + 2 * (first_pad - 1), wide + 2 * (first_pad - 1)
        if depth == "auto":
            depth = auto_depth(height, wide)
        elif isinstance(depth, str):
            raise ValueError(f"ConvNet depth must be an int >= 1 or 'auto', got {depth!r}.")
        if int(depth) < 1 or int(width) < 1:
            raise ValueError(f"ConvNet depth and width must be >= 1, got {depth} and {width}.")
        depth = int(depth)
        self.depth = depth
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
        return self.forward_taps(x)[1]

    def forward_taps(
        self, x: torch.Tensor, tap: str = "block"
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The embedding and one feature map per block, in a single pass.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(n, C, H, W)``.
        tap : {"block", "activation", "norm"}, default="block"
            Where each block is read: its output (after pooling), the output of its activation
            (before pooling), or the output of its normalisation layer (before the activation).

        Returns
        -------
        embedding : torch.Tensor
            As :meth:`embed`, ``(n, embed_dim)``.
        maps : list of torch.Tensor
            One ``(n, width, h, w)`` map per block.
        """
        if tap not in TAPS:
            raise ValueError(f"tap must be one of {TAPS}, got {tap!r}.")
        maps = []
        for block in self.blocks:
            conv, norm, act, *pool = block
            x = norm(conv(x))
            if tap == "norm":
                maps.append(x)
                x = torch.relu(x)  # not in place: the normalised map is kept
            else:
                x = act(x)
                if tap == "activation":
                    maps.append(x)
            if pool:
                x = pool[0](x)
            if tap == "block":
                maps.append(x)
        return x.flatten(1), maps

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened output of the last block, shape ``(n, embed_dim)``."""
        for block in self.blocks:
            x = block(x)
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(x))
