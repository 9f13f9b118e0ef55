"""What every method shares: the real data on the device, the fit context, the result, and the
two method families (matching strategies and selections) behind one ``run`` interface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, ClassVar

import torch
from sklearn.base import BaseEstimator
from torch import nn

from .._torch_utils import init_parameters
from .._validation import InvalidParameterError, validate_params
from ..callbacks import Callback, History
from ..data.real import RealData
from ..distributed import Ranks
from ..loop import run_outer_loop


@dataclass
class FitContext:
    """Everything a method needs from the condenser during one fit.

    The condenser owns validation, the budget, the device and the randomness; it hands them to
    the method through this object.
    """

    data: RealData
    ipc: int
    max_iter: int
    init: str
    device: torch.device
    generator: torch.Generator
    make_network: Callable[[], nn.Module]
    augment: Any
    verbose: int = 0
    description: str = "condense"
    #: Samples to keep of every class, ``(n_classes,)`` on the device; every entry is ``ipc``
    #: unless the user gave per-class budgets (selections only). None: ``ipc`` everywhere.
    class_budget: torch.Tensor | None = None
    #: Callbacks of the outer loop (:mod:`condensekit.callbacks`), in calling order.
    callbacks: Sequence[Callback] = ()
    #: Digest of the fit's settings, seed and data (checkpoints refuse another fit's state).
    fingerprint: str = ""
    #: ``warm_start``: the previous fit's set, normalised, ``ipc`` per class grouped by class.
    initial: torch.Tensor | None = None
    #: Whether a callback restores a saved set before the first iteration (a resumed fit):
    #: ``init_synthetic`` may then skip work whose result is overwritten.
    resuming: bool = False
    #: This process's rank among the processes of a distributed fit (one process: rank 0 of 1).
    ranks: Ranks = field(default_factory=Ranks)

    @property
    def budget(self) -> torch.Tensor:
        """Samples of every class, ``(n_classes,)``: ``class_budget`` or ``ipc`` everywhere."""
        if self.class_budget is not None:
            return self.class_budget
        return torch.full((self.data.n_classes,), self.ipc, device=self.data.y.device)


@dataclass
class CondensedResult:
    """What a method returns.

    Attributes
    ----------
    X : torch.Tensor
        Condensed samples, normalised, ``(n_syn, *sample_shape)``.
    y : torch.Tensor
        Their class indices.
    sample_indices : torch.Tensor or None
        Rows of the real data that were kept (selection methods only).
    scores : torch.Tensor or None
        Score of every real sample (selection methods only; higher is kept first).
    generator : torch.nn.Module or None
        The learned conditional generator ``G(z, y)`` (``method="generative"`` only; ``X`` is
        then None and the condenser draws the set from ``latents``).
    latents : torch.Tensor or None
        The generated set's latent codes, ``(n_classes, ipc, latent_dim)``.
    history : History
        Loss per outer iteration (empty for selections).
    n_iter : int
        Number of outer iterations run.
    helper_cost : dict or None
        Helper networks a selection trained: ``{"networks", "epochs", "seconds"}``
        (selections only; see :class:`condensekit.selection.helpers.HelperCost`).
    """

    X: torch.Tensor | None
    y: torch.Tensor | None
    sample_indices: torch.Tensor | None = None
    scores: torch.Tensor | None = None
    generator: nn.Module | None = None
    latents: torch.Tensor | None = None
    history: History = field(default_factory=History)
    n_iter: int = 0
    helper_cost: dict | None = None


class Method(BaseEstimator):
    """Base of every method: a small estimator-like object holding the method's own settings.

    Subclasses declare their settings as ``__init__`` parameters (reachable from the condenser as
    ``strategy__<name>``) with a ``_parameter_constraints`` table, and implement :meth:`run`.
    """

    _parameter_constraints: ClassVar[dict] = {}
    #: Outer iterations used when the condenser's ``max_iter`` is None (the paper's setting).
    paper_max_iter: ClassVar[int] = 0
    #: Augmentation used with ``augment="auto"`` on images (a registered name or None).
    default_augment: ClassVar[str | None] = None
    #: Initialisation used with ``init="auto"``.
    default_init: ClassVar[str] = "real"
    #: Whether the method learns synthetic samples (False for selections of real samples).
    learns_samples: ClassVar[bool] = True
    #: Evaluation protocol of the method's paper (a name of
    #: :data:`condensekit.evaluation.protocols.PROTOCOLS`), used by
    #: ``CondensedEvaluator(protocol="paper")``.
    #: DC's by default: the DC paper scores its selection baselines as it scores DC.
    paper_protocol: ClassVar[str] = "dc"
    #: Family of the benchmark runner's named budgets (:data:`condensekit.benchmark.BUDGETS`):
    #: ``"gradient"``, ``"distribution"`` or ``"selection"``; None: the runner uses the method's
    #: own defaults (``max_iter=None`` is its ``paper_max_iter``) and says so in its log.
    budget_family: ClassVar[str | None] = None
    #: Whether a budget's ``lr_per_ipc`` sets this method's ``lr_syn`` (DM's pixel step shrinks
    #: as 1/ipc); False for methods that keep their own optimiser's learning rate.
    lr_scales_with_ipc: ClassVar[bool] = True
    #: What the method's result is (a name of :data:`condensekit.kinds.KINDS`).
    result_kind: ClassVar[str] = "pixels"
    #: Whether ``warm_start=True`` can start the method from the previous fit's set.
    supports_warm_start: ClassVar[bool] = False
    #: Whether the method only gathers rows of the real data (``ctx.data.gather``), so that a
    #: fit can stream them (``data_mode="stream"``); False for methods that read every sample.
    supports_streaming: ClassVar[bool] = False
    #: Whether a fit can span processes (:mod:`condensekit.distributed`): the method sums its
    #: real statistics over the ranks (``ctx.ranks``).
    supports_distributed: ClassVar[bool] = False

    def validate(self, prefix: str = "strategy__") -> None:
        """Check the settings against ``_parameter_constraints``."""
        validate_params(
            type(self).__name__,
            self.get_params(deep=False),
            self._parameter_constraints,
            prefix=prefix,
        )

    def needs_real_samples(self, init: str) -> bool:
        """Whether ``ipc`` real samples of every class are needed (to start from or to keep)."""
        return not self.learns_samples or init == "real"

    def resolve_init(self, init: str) -> str:
        """The initialisation of a fit given the condenser's ``init`` (``"auto"``: the
        method's default)."""
        return self.default_init if init == "auto" else init

    def default_augment_for(self, is_image: bool) -> str | None:
        """The augmentation ``augment="auto"`` stands for on this data."""
        return self.default_augment if is_image else None

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Refuse condenser settings this method gives no meaning to (called before the data
        is read). ``settings``: the condenser's parameters (``method``, ``ipc``, ``augment``,
        ``callbacks``...).

        A learned set has the same number of samples in every class: per-class budgets (a
        float or a dict ``ipc``) are refused here; selections accept them.
        """
        if settings.get("warm_start") and not self.supports_warm_start:
            raise InvalidParameterError(
                f"warm_start=True: method {settings['method']!r} cannot start from a previous "
                f"set (its result is {self.result_kind!r}); use warm_start=False."
            )
        ipc = settings.get("ipc")
        if self.learns_samples and not isinstance(ipc, Integral):
            raise InvalidParameterError(
                f"ipc={ipc!r} asks for per-class budgets, which only the selection methods "
                f"support; method {settings['method']!r} learns the same number of samples for "
                "every class. Pass an int."
            )

    def check(self, ctx: FitContext) -> None:
        """Refuse settings that do not fit this data or budget, before any work is done.

        Called by the condenser once the fit's context is built, before :meth:`prepare` and
        :meth:`run`; raise :class:`~condensekit._validation.InvalidParameterError` naming the
        ``strategy__`` setting.
        """

    def prepare(self, ctx: FitContext) -> None:
        """One-off work before :meth:`run` (statistics of the real data, say)."""

    def run(self, ctx: FitContext) -> CondensedResult:  # pragma: no cover - abstract
        """Produce the condensed set."""
        raise NotImplementedError


class SyntheticSet:
    """Learned synthetic pixels with fixed labels.

    Other parameterisations (a generator's weights, see
    :class:`~condensekit.strategies.generator_set.GeneratorSet`) provide the same three members.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.X = X.detach().clone().requires_grad_(True)
        self.y = y

    def parameters(self) -> list[torch.Tensor]:
        """Tensors the outer loop optimises."""
        return [self.X]

    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current synthetic samples and their labels."""
        return self.X, self.y

    def to_result(self, history: History, n_iter: int) -> CondensedResult:
        """The learned set as the method's result."""
        return CondensedResult(X=self.X.detach(), y=self.y, history=history, n_iter=n_iter)


class MatchingStrategy(Method):
    """Base of methods that learn a synthetic set by matching it to the real data.

    The outer loop (:func:`condensekit.loop.run_outer_loop`) calls, every outer iteration,
    :meth:`refresh_network`, then :meth:`steps_per_iteration` times :meth:`loss` (followed by an
    optimiser step on the synthetic parameters and :meth:`after_step`). Subclasses define only
    what differs: the loss, how the network is refreshed, and the inner training, if any.
    """

    lr_syn: float
    momentum_syn: float
    supports_warm_start: ClassVar[bool] = True

    def init_synthetic(self, ctx: FitContext) -> SyntheticSet:
        """Start from the previous set (``warm_start``), ``ipc`` random real samples per
        class, or Gaussian noise."""
        labels = torch.arange(ctx.data.n_classes, device=ctx.device).repeat_interleave(ctx.ipc)
        if ctx.initial is not None:
            return SyntheticSet(ctx.initial, labels)
        if ctx.init == "real":
            rows, labels = ctx.data.sample_per_class(ctx.ipc, ctx.generator)
            X = ctx.data.gather(rows)
        else:
            X = torch.randn(
                (len(labels), *ctx.data.sample_shape), generator=ctx.generator, device=ctx.device
            )
        return SyntheticSet(X, labels)

    def make_network(self, ctx: FitContext) -> nn.Module:
        """The network used for matching (refreshed every outer iteration)."""
        return ctx.make_network()

    def refresh_network(self, net: nn.Module, ctx: FitContext, iteration: int) -> None:
        """Prepare the network for a new outer iteration (by default: fresh random weights)."""
        init_parameters(net, ctx.generator)

    def make_optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        """The optimiser of the synthetic parameters: SGD with ``lr_syn`` and ``momentum_syn``."""
        return torch.optim.SGD(params, lr=self.lr_syn, momentum=self.momentum_syn)

    def steps_per_iteration(self, ctx: FitContext, iteration: int) -> int:
        """Synthetic optimiser steps in one outer iteration."""
        return 1

    def loss(  # pragma: no cover - abstract
        self, net: nn.Module, syn: SyntheticSet, ctx: FitContext, iteration: int, step: int
    ) -> torch.Tensor:
        """The matching loss to minimise with respect to the synthetic parameters."""
        raise NotImplementedError

    def after_step(
        self, net: nn.Module, syn: SyntheticSet, ctx: FitContext, iteration: int, step: int
    ) -> None:
        """Hook after each synthetic step (for instance, training the network on the set)."""

    def run(self, ctx: FitContext) -> CondensedResult:
        """Run the shared outer loop with this strategy."""
        return run_outer_loop(self, ctx, ctx.callbacks)


def class_means(features: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean feature vector of every class, shape ``(n_classes, d)``, in one matrix product.

    A one-hot matrix product instead of a scatter (``index_add``) keeps the reduction
    deterministic on GPUs too, and costs little next to the network passes.
    """
    onehot = torch.nn.functional.one_hot(labels, n_classes).to(features.dtype)
    counts = onehot.sum(0).clamp_min(1)
    return (onehot.T @ features) / counts[:, None]


def shared_class_means(
    features: torch.Tensor, labels: torch.Tensor, n_classes: int, ranks: Ranks
) -> torch.Tensor:
    """:func:`class_means` of rows spread over the ranks of a distributed fit: each rank's
    per-class sums and counts, summed over the ranks in one collective (in one process,
    :func:`class_means` itself)."""
    if not ranks.active:
        return class_means(features, labels, n_classes)
    onehot = torch.nn.functional.one_hot(labels, n_classes).to(features.dtype)
    both = ranks.sum(torch.cat([onehot.T @ features, onehot.sum(0)[:, None]], dim=1))
    return both[:, :-1] / both[:, -1:].clamp_min(1)
