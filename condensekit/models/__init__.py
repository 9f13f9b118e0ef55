"""Networks: the ConvNet family, an MLP for tabular rows, and torchvision models by name.

Every network exposes ``embed(x)`` (features before the classifier), ``forward(x)`` (logits) and
``embed_dim``. Networks are built with :func:`build_model`, which draws all weights from an
explicit ``torch.Generator`` and leaves the global random state untouched.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from .._registry import Registry
from .._torch_utils import init_parameters
from .._validation import InvalidParameterError
from .convnet import ConvNet
from .mlp import MLP
from .torchvision_models import TorchvisionNet, torchvision_names

MODELS: Registry = Registry("model")
MODELS.register("convnet", ConvNet)
MODELS.register("mlp", MLP)


def list_models(include_torchvision: bool = False) -> list[str]:
    """Names accepted by :func:`build_model` (and the ``model`` parameter)."""
    names = MODELS.names()
    return names + torchvision_names() if include_torchvision else names


def resolve_model_name(name: str, is_image: bool) -> str:
    """``"auto"`` becomes ``"convnet"`` for images and ``"mlp"`` for rows of features."""
    if name == "auto":
        return "convnet" if is_image else "mlp"
    return name


def build_model(
    name: str,
    in_shape: tuple[int, ...],
    n_classes: int,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    **kwargs: Any,
) -> nn.Module:
    """Build a network with weights drawn from ``generator``.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_models`) or a torchvision classification model name.
    in_shape : tuple of int
        Shape of one internal sample, ``(C, H, W)`` or ``(d,)``.
    n_classes : int
        Number of outputs.
    generator : torch.Generator
        Source of the initial weights; must live on ``device``.
    device : torch.device or str
        Where the network lives.
    **kwargs
        Passed to the network's constructor (``width``, ``depth``, ``norm``...).

    Raises
    ------
    ValueError
        If the name is unknown or the network cannot take inputs of ``in_shape``.
    InvalidParameterError
        If a keyword is not a parameter of a registered network (it lists the accepted ones).
    """
    if name in MODELS:
        factory = MODELS.get(name)
        args: tuple = (tuple(in_shape), n_classes)
        params = list(inspect.signature(factory).parameters.values())[2:]
        accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in params):
            raise InvalidParameterError(
                f"model {name!r} has no parameter {', '.join(unknown)}; its parameters are "
                f"{accepted} (set as model__<name>)."
            )
    elif name in torchvision_names():
        factory, args = TorchvisionNet, (name, tuple(in_shape), n_classes)
    else:
        raise ValueError(
            f"Unknown model {name!r}; expected 'auto', one of {MODELS.names()}, or a torchvision "
            "classification model name (condensekit.models.list_models(include_torchvision=True))."
        )
    try:
        # Constructing a module draws default weights from the global generator: fork it so the
        # caller's global random stream is left exactly as it was, then redraw from ours.
        with torch.random.fork_rng(devices=[]):
            net = factory(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"Bad keyword argument for model {name!r}: {exc}") from None
    except ValueError as exc:
        if not kwargs or str(exc).startswith("torchvision model"):
            raise
        settings = ", ".join(f"model__{k}={v!r}" for k, v in kwargs.items())
        raise ValueError(f"model {name!r} refuses its settings ({settings}): {exc}") from None
    net = net.to(device)
    return init_parameters(net, generator)


__all__ = [
    "MLP",
    "MODELS",
    "ConvNet",
    "TorchvisionNet",
    "build_model",
    "list_models",
    "resolve_model_name",
]
