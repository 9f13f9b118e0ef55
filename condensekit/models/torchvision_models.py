"""Adapter that gives any torchvision classification model the condensekit network interface."""

from __future__ import annotations

import torch
from torch import nn

#: (name, input shape, settings) whose forward pass on zeros was checked.
_CHECKED: set[tuple] = set()


def torchvision_names() -> list[str]:
    """Names of torchvision's classification models."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


class TorchvisionNet(nn.Module):
    """A torchvision classification model (random weights) with ``embed`` and ``forward``.

    The model's last linear layer becomes :attr:`classifier`; everything before it is the
    embedding. One-channel images are repeated to three channels. No weights are downloaded.

    Parameters
    ----------
    name : str
        A name from ``torchvision.models.list_models(module=torchvision.models)``.
    in_shape : tuple of int
        ``(C, H, W)`` with C equal to 1 or 3.
    n_classes : int
        Number of outputs.
    **kwargs
        Passed to ``torchvision.models.get_model``.
    """

    def __init__(self, name: str, in_shape: tuple[int, ...], n_classes: int, **kwargs) -> None:
        super().__init__()
        import torchvision

        if len(in_shape) != 3 or in_shape[0] not in (1, 3):
            raise ValueError(
                f"torchvision model {name!r} needs images with 1 or 3 channels, got {in_shape}."
            )
        self.in_channels = in_shape[0]
        body = torchvision.models.get_model(name, weights=None, num_classes=n_classes, **kwargs)
        last_name, last = None, None
        for mod_name, mod in body.named_modules():
            if isinstance(mod, nn.Linear):
                last_name, last = mod_name, mod
        if last is None:
            raise ValueError(f"torchvision model {name!r} has no final linear layer to adapt.")
        parent = body.get_submodule(last_name.rpartition(".")[0]) if "." in last_name else body
        setattr(parent, last_name.rpartition(".")[2], nn.Identity())
        self.body = body
        self.classifier = last
        self.embed_dim = last.in_features
        self._check_input(name, tuple(in_shape), kwargs)

    def _check_input(self, name: str, in_shape: tuple[int, ...], kwargs: dict) -> None:
        """One forward pass of zeros (eval mode, no gradients, once per architecture and
        shape): a model that cannot take these images (ViT at 28x28) is a one-line
        ValueError here, not torchvision's assertion in the middle of a fit."""
        key = (name, in_shape, repr(sorted(kwargs.items())))
        if key in _CHECKED:
            return
        try:
            with torch.no_grad():
                self.eval()(torch.zeros(2, *in_shape))
        except (AssertionError, RuntimeError, ValueError, IndexError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"torchvision model {name!r} cannot take images of shape {in_shape}: {reason}"
            ) from None
        finally:
            self.train()
        _CHECKED.add(key)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Input of the model's final linear layer."""
        if self.in_channels == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(x))
