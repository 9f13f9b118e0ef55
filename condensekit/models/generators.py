"""Conditional generators ``G(z, y)``: the learned artefact of ``method="generative"``.

Every generator maps latent codes ``z`` of shape ``(n, latent_dim)`` and class indices ``y`` of
shape ``(n,)`` to samples of ``out_shape`` in the normalised space that the other methods'
synthetic pixels live in. Each output depends only on its own ``(z, y)`` (group norm, never batch
norm), so a sample does not change with the batch it is drawn in. Generators are built with
:func:`build_generator`, which draws every weight from an explicit ``torch.Generator``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._registry import Registry
from .._torch_utils import init_parameters


def upsampling_steps(height: int, width: int, most: int = 3) -> int:
    """How many 2x upsamplings lead to ``(height, width)`` from a map of at least 2x2.

    The largest ``k <= most`` such that both sides are divisible by ``2**k`` with a quotient of at
    least 2: 8x8 -> 2 (from 2x2), 28x28 -> 2 (from 7x7), 32x32 -> 3 (from 4x4), 30x30 -> 1.
    """
    k = 0
    while (
        k < most
        and height % 2 ** (k + 1) == 0
        and width % 2 ** (k + 1) == 0
        and min(height, width) // 2 ** (k + 1) >= 2
    ):
        k += 1
    return k


def _groups(channels: int) -> int:
    return max(g for g in (8, 4, 2, 1) if channels % g == 0)


class ConvGenerator(nn.Module):
    """DCGAN-style conditional decoder for images.

    ``[z, embed(y)]`` -> linear -> ``(width, h0, w0)`` -> ``k`` times [2x nearest upsampling,
    conv 3x3, group norm, ReLU] -> conv 3x3 to the image channels (no output squashing: the
    images live in normalised space). ``k`` comes from :func:`upsampling_steps`.

    Parameters
    ----------
    out_shape : tuple of int
        ``(C, H, W)`` of one image.
    n_classes : int
        Number of classes (rows of the class embedding).
    latent_dim : int, default=32
        Size of the latent code ``z``.
    width : int, default=64
        Channels of every hidden feature map.
    embed_dim : int or None, default=None
        Size of the class embedding; ``None`` uses ``latent_dim``.
    """

    def __init__(
        self,
        out_shape: tuple[int, ...],
        n_classes: int,
        latent_dim: int = 32,
        width: int = 64,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        if len(out_shape) != 3:
            raise ValueError(
                f"ConvGenerator makes images (C, H, W); got the sample shape {tuple(out_shape)}. "
                "Use strategy__generator='mlp' for rows of features."
            )
        channels, height, wide = (int(v) for v in out_shape)
        self.out_shape = (channels, height, wide)
        self.n_classes = int(n_classes)
        self.latent_dim = int(latent_dim)
        embed_dim = int(embed_dim or latent_dim)
        steps = upsampling_steps(height, wide)
        self.start = (width, height // 2**steps, wide // 2**steps)
        self.embedding = nn.Embedding(n_classes, embed_dim)
        self.fc = nn.Linear(latent_dim + embed_dim, width * self.start[1] * self.start[2])
        layers: list[nn.Module] = []
        for _ in range(steps):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(width, width, 3, padding=1),
                nn.GroupNorm(_groups(width), width),
                nn.ReLU(inplace=True),
            ]
        self.body = nn.Sequential(nn.GroupNorm(_groups(width), width), nn.ReLU(), *layers)
        self.head = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Images ``(n, C, H, W)`` for codes ``z`` ``(n, latent_dim)`` and classes ``y``."""
        h = self.fc(torch.cat([z, self.embedding(y)], dim=1)).view(-1, *self.start)
        return self.head(self.body(h))


class MLPGenerator(nn.Module):
    """Conditional generator for rows of features: ``[z, embed(y)]`` -> MLP -> ``d`` values.

    Parameters
    ----------
    out_shape : tuple of int
        ``(d,)``.
    n_classes : int
        Number of classes.
    latent_dim : int, default=32
        Size of the latent code.
    width : int, default=64
        Hidden units of each of the two hidden layers.
    embed_dim : int or None, default=None
        Size of the class embedding; ``None`` uses ``latent_dim``.
    """

    def __init__(
        self,
        out_shape: tuple[int, ...],
        n_classes: int,
        latent_dim: int = 32,
        width: int = 64,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        if len(out_shape) != 1:
            raise ValueError(
                f"MLPGenerator makes rows (d,); got the sample shape {tuple(out_shape)}. Use "
                "strategy__generator='conv' for images."
            )
        self.out_shape = (int(out_shape[0]),)
        self.n_classes = int(n_classes)
        self.latent_dim = int(latent_dim)
        embed_dim = int(embed_dim or latent_dim)
        self.embedding = nn.Embedding(n_classes, embed_dim)
        self.net = nn.Sequential(
            nn.Linear(latent_dim + embed_dim, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, self.out_shape[0]),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Rows ``(n, d)`` for codes ``z`` ``(n, latent_dim)`` and classes ``y`` ``(n,)``."""
        return self.net(torch.cat([z, self.embedding(y)], dim=1))


GENERATORS: Registry = Registry("generator")
GENERATORS.register("conv", ConvGenerator)
GENERATORS.register("mlp", MLPGenerator)


def resolve_generator_name(name: str, is_image: bool) -> str:
    """``"auto"`` becomes ``"conv"`` for images and ``"mlp"`` for rows of features."""
    if name == "auto":
        return "conv" if is_image else "mlp"
    return name


def build_generator(
    name: str,
    out_shape: tuple[int, ...],
    n_classes: int,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    **kwargs: Any,
) -> nn.Module:
    """Build a registered conditional generator with weights drawn from ``generator``.

    Parameters
    ----------
    name : str
        ``"conv"``, ``"mlp"`` or another name registered in :data:`GENERATORS`.
    out_shape : tuple of int
        Shape of one generated sample, ``(C, H, W)`` or ``(d,)``.
    n_classes : int
        Number of classes.
    generator : torch.Generator
        Source of the initial weights; must live on ``device``.
    device : torch.device or str
        Where the generator lives.
    **kwargs
        ``latent_dim``, ``width``, ``embed_dim``.

    Returns
    -------
    nn.Module
        The generator, with a ``build_spec`` dict (``name``, ``out_shape``, ``n_classes``,
        ``kwargs``) from which :func:`build_generator` makes the same architecture again.
    """
    factory = GENERATORS.get(name)
    with torch.random.fork_rng(devices=[]):  # module constructors draw from the global RNG
        net = factory(tuple(out_shape), n_classes, **kwargs)
    net = init_parameters(net.to(device), generator)
    embedding = getattr(net, "embedding", None)
    if isinstance(embedding, nn.Embedding):  # class codes on the scale of z ~ N(0, 1)
        with torch.no_grad():
            embedding.weight.normal_(0.0, 1.0, generator=generator)
    # how to build it again (a saved condensed set rebuilds it and loads the weights)
    net.build_spec = {
        "name": name,
        "out_shape": [int(v) for v in out_shape],
        "n_classes": int(n_classes),
        "kwargs": dict(kwargs),
    }
    return net


def count_parameters(module: nn.Module) -> int:
    """Number of learned values in ``module``."""
    return sum(p.numel() for p in module.parameters())
