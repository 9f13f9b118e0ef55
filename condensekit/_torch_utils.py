"""Device resolution, random generators and generator-driven weight initialisation.

The library never touches torch's or numpy's global random state: every random draw goes through
a ``torch.Generator`` derived from the user's ``random_state``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from ._validation import InvalidParameterError

_DEVICE_HELP = "'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps' or a torch.device"


def resolve_device(device: str | torch.device, owner: str = "DatasetCondenser") -> torch.device:
    """Turn the ``device`` parameter into a usable ``torch.device``.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` picks CUDA when available, else the CPU.
    owner : str
        Name of the estimator, for the error message.

    Raises
    ------
    InvalidParameterError
        If the device string is malformed or the requested accelerator is not present.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError(
            f"The 'device' parameter of {owner} must be {_DEVICE_HELP}. Got {device!r} instead."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                f"The 'device' parameter of {owner} is {device!r}, but no CUDA GPU is available "
                "on this machine; use device='cpu' or device='auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InvalidParameterError(
                f"The 'device' parameter of {owner} is {device!r}, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are present."
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise InvalidParameterError(
                f"The 'device' parameter of {owner} is {device!r}, but MPS is not available."
            )
    elif dev.type != "cpu":
        raise InvalidParameterError(
            f"The 'device' parameter of {owner} must be {_DEVICE_HELP}. Got {device!r} instead."
        )
    return dev


def seed_from_random_state(random_state: int | np.random.RandomState | None) -> int:
    """Draw a 63-bit seed from a scikit-learn style ``random_state``.

    ``None`` gives fresh operating-system entropy (numpy's global generator is not read); an int
    always gives the same seed; a ``RandomState`` instance is advanced, as scikit-learn estimators
    do.
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**63:
            raise ValueError(f"random_state must lie in [0, 2**63 - 1]; got {random_state}.")
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1)) * (2**31) + int(rng.randint(0, 2**31 - 1))


@contextmanager
def isolated_global_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block with torch's global generators forked and seeded from ``seed``.

    Layers that draw from the global generator (dropout, stochastic depth in torchvision models)
    then depend only on ``seed``, and the caller's global random state is restored afterwards.
    """
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        for index in devices:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield


def derived_seed(seed: int, salt: int) -> int:
    """A second 63-bit seed derived from ``seed`` without drawing from any generator."""
    return int(np.random.SeedSequence([seed, salt]).generate_state(1, dtype=np.uint64)[0]) & (
        (1 << 63) - 1
    )


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def _fan_in(weight: torch.Tensor) -> int:
    return int(weight.shape[1] * math.prod(weight.shape[2:])) if weight.dim() > 1 else 1


@torch.no_grad()
def init_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every parameter of ``module`` from ``generator``, in place.

    Convolutions and linear layers get PyTorch's default scheme (Kaiming-uniform weights with
    ``a = sqrt(5)``, biases uniform in ``±1/sqrt(fan_in)``); normalisation layers get unit scale
    and zero shift, and their running statistics are reset. Any other parameter is drawn from
    ``N(0, 0.02)``.

    Returns
    -------
    module : nn.Module
        The same module, for chaining.
    """
    seen: set[int] = set()
    for sub in module.modules():
        if isinstance(sub, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.kaiming_uniform_(sub.weight, a=math.sqrt(5), generator=generator)
            seen.add(id(sub.weight))
            if sub.bias is not None:
                bound = 1.0 / math.sqrt(max(_fan_in(sub.weight), 1))
                nn.init.uniform_(sub.bias, -bound, bound, generator=generator)
                seen.add(id(sub.bias))
        elif isinstance(sub, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
            if getattr(sub, "weight", None) is not None:
                sub.weight.fill_(1.0)
                seen.add(id(sub.weight))
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
                seen.add(id(sub.bias))
            if isinstance(sub, nn.modules.batchnorm._NormBase) and sub.track_running_stats:
                sub.reset_running_stats()
    for param in module.parameters():
        if id(param) not in seen:
            nn.init.normal_(param, 0.0, 0.02, generator=generator)
    return module
