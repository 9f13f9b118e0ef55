"""Helper networks of the selections: one routine trains them and counts what they cost.

Every selection that needs a trained network (EL2N, GraNd, forgetting events, and the feature
networks of herding and k-center) gets it from :func:`train_helper`, which builds a fresh network
of the fit's ``model``, trains it with the one training loop
(:func:`condensekit.models.training.train_network`) and counts the networks and epochs in a
:class:`HelperCost`; the selection's base times the whole scoring. The fitted condenser reports
the total as ``helper_cost_``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Any, ClassVar

from torch import nn

from .._validation import NONE, Interval, Options
from ..augment import build_augment
from ..models.training import train_network
from ..strategies.base import FitContext


@dataclass
class HelperCost:
    """Helper networks trained during one selection, their epochs and their seconds.

    Attributes
    ----------
    networks : int
        Networks built (trained or scored at initialisation).
    epochs : int
        Training epochs over the whole real set, summed over networks.
    seconds : float
        Wall-clock seconds of the whole scoring: training the helpers and scoring every sample
        with them (per-sample gradients for GraNd, features for herding), timed by
        :meth:`~condensekit.selection.SelectionStrategy.run`.
    """

    networks: int = 0
    epochs: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The cost as a plain dict (for fitted attributes, saved files and JSON)."""
        return asdict(self)


class HelperSettings:
    """Mixin of the settings every helper-trained selection shares: ``lr`` and
    ``helper_augment`` (named apart from the condenser's own ``augment``, which selectors
    share)."""

    _parameter_constraints: ClassVar[dict] = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "helper_augment": [Options(["auto", "dsa", "dc"]), NONE],
    }

    lr: float
    helper_augment: str | None

    def resolve_helper_augment(self, ctx: FitContext) -> Any:
        """The augmentation the helpers train with.

        ``"auto"``: DSA's (crop, scale, rotate, colour, cutout) on images, without flips on
        single-channel images, where no digit keeps its label mirrored; none on rows of features.
        """
        if not ctx.data.is_image or self.helper_augment is None:
            return None
        if self.helper_augment == "auto":
            single = ctx.data.sample_shape[0] == 1
            return build_augment("dsa", **({"flip": False} if single else {}))
        return build_augment(self.helper_augment)


def train_helper(
    ctx: FitContext,
    cost: HelperCost,
    *,
    epochs: int,
    lr: float = 0.01,
    augment: Any = None,
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
    desc: str = "helper network",
) -> nn.Module:
    """A fresh network of the fit's model, trained on the real data; counted in ``cost``.

    Parameters
    ----------
    ctx : FitContext
        The fit: real data, network factory, random generator, verbosity.
    cost : HelperCost
        Counts the networks and epochs.
    epochs : int
        Training epochs; 0 returns the network at initialisation.
    lr : float, default=0.01
        SGD learning rate (momentum 0.9, weight decay 5e-4, batch 256, x0.1 halfway: the
        evaluator's schedule).
    augment : augmentation object or None
        Applied to every mini-batch.
    on_epoch_end : callable, optional
        ``on_epoch_end(net, epoch)`` after every epoch (forgetting events record there).
    desc : str
        Label of the progress bar.
    """
    net = ctx.make_network()
    if epochs:
        train_network(
            net,
            ctx.data.X,
            ctx.data.y,
            epochs=epochs,
            lr=lr,
            augment=augment,
            generator=ctx.generator,
            on_epoch_end=on_epoch_end,
            verbose=ctx.verbose,
            desc=f"{ctx.description}: {desc}",
        )
    cost.networks += 1
    cost.epochs += epochs
    return net
