"""Named evaluation protocols: how networks are trained on a condensed set before testing.

The papers score their sets in different ways, and a published number is only comparable under
its own protocol (DESIGN.md, section 5). Each protocol here resolves, for the data at hand, to an
augmentation and a number of training epochs; everything else (SGD lr 0.01, momentum 0.9, weight
decay 5e-4, batch 256, lr x0.1 at the halfway epoch, final-epoch accuracy) is shared.

=========  ==============================  ===========================  ======================
protocol   single-channel images           colour images                rows of features
           (the MNIST family)
=========  ==============================  ===========================  ======================
plain      none, 300 epochs                none, 300 epochs             none, 300 epochs
dc         DC's crop/scale/rotate, 1000    none, 300 epochs             none, 300 epochs
dsa        DSA without flips, 1000         DSA, 1000 epochs             none, 300 epochs
=========  ==============================  ===========================  ======================

``"dc"`` is the DC reference code's ``get_daparam`` (it augments MNIST, and augmented training
gets 1,000 epochs); here every single-channel image set (MNIST, digits, Fashion-MNIST...) counts
as MNIST, since the data carries no dataset name. ``"dsa"`` is what the DSA, DCC-with-DSA, DM
and decomposed-DM code uses for every dataset, with one deliberate difference: horizontal flips
are left out on single-channel data (no digit keeps its label when mirrored; DESIGN.md), where
that code flips MNIST too. ``"paper"`` picks each method's own (``Method.paper_protocol``):

===================================================  ========
method                                               paper
===================================================  ========
dc, dcc                                              dc
dsa, dsa_dcc, dm, ddm, generative                    dsa
random, herding, kcenter, el2n, grand, forgetting    dc
===================================================  ========

(the DC paper scores its coreset baselines as it scores DC). A random subset compared with a
method is scored under that method's resolved protocol (``protocol="dsa"``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._registry import Registry
from ..methods import METHODS


@dataclass(frozen=True)
class Protocol:
    """A protocol resolved for one kind of data.

    Attributes
    ----------
    name : str
        The registered protocol (``"plain"``, ``"dc"``, ``"dsa"``).
    augment : str or None
        Registered augmentation used while training, or None.
    epochs : int
        Training epochs.
    augment_params : dict
        Settings of that augmentation (``{"flip": False}``).
    """

    name: str
    augment: str | None
    epochs: int
    augment_params: dict[str, Any] = field(default_factory=dict)


#: ``resolver(n_channels) -> Protocol``; ``n_channels`` is None for rows of features.
PROTOCOLS: Registry[Callable[[int | None], Protocol]] = Registry("protocol")


@PROTOCOLS.register("plain")
def _plain(n_channels: int | None) -> Protocol:
    return Protocol("plain", None, 300)


@PROTOCOLS.register("dc")
def _dc(n_channels: int | None) -> Protocol:
    if n_channels == 1:
        return Protocol("dc", "dc", 1000)
    return Protocol("dc", None, 300)


@PROTOCOLS.register("dsa")
def _dsa(n_channels: int | None) -> Protocol:
    if n_channels is None:
        return Protocol("dsa", None, 300)
    return Protocol("dsa", "dsa", 1000, {"flip": False} if n_channels == 1 else {})


def paper_protocol_name(method: str | None) -> str:
    """Name of the protocol that ``method``'s paper evaluates with.

    Raises
    ------
    ValueError
        If ``method`` is None (a bare pair of arrays) or not registered.
    """

    if method is None:
        raise ValueError(
            "protocol='paper' needs the method that made the set: pass a fitted condenser or a "
            f"CondensedSet, or name a protocol ({PROTOCOLS.names()})."
        )
    return METHODS.get(method).paper_protocol


def resolve_protocol(name: str, method: str | None, n_channels: int | None) -> Protocol:
    """Resolve a protocol name (or ``"paper"``) for a method and a kind of data.

    Parameters
    ----------
    name : str
        ``"paper"`` or a name of :data:`PROTOCOLS`.
    method : str or None
        Method that made the set (needed for ``"paper"`` only).
    n_channels : int or None
        Channels of the images, None for rows of features.

    Returns
    -------
    Protocol
    """
    if name == "paper":
        name = paper_protocol_name(method)
    return PROTOCOLS.get(name)(n_channels)
