"""What a fit does around its method: before it, validate and read the data into the method's
:class:`~condensekit.strategies.base.FitContext` (:func:`setup_fit`: per-class budgets,
augmentation, networks, normalisation, the ``warm_start`` set, the loop's callbacks); after it,
the fitted attributes (:func:`fitted_attributes`), whatever kind of result the method gave.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral
from typing import Any

import numpy as np
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from ._torch_utils import make_generator, resolve_device, seed_from_random_state
from ._validation import InvalidParameterError
from .augment import build_augment
from .base import PreparedData
from .callbacks import Callback, DivergenceCheck, ProgressBar, data_fingerprint
from .data.adapters import Normalizer
from .data.reading import read_real_data
from .data.real import StreamedRealData
from .distributed import Ranks, check_same, current_ranks
from .kinds import KINDS
from .methods import METHODS, list_methods
from .models import build_model, resolve_model_name
from .sets import CondensedSet
from .strategies.base import CondensedResult, FitContext, Method

logger = logging.getLogger("condensekit")


@dataclass
class FitSetup:
    """What :func:`setup_fit` prepares for the method and the fitted attributes."""

    strategy: Method
    ctx: FitContext
    prepared: PreparedData
    normalizer: Normalizer
    budget: np.ndarray
    seed: int
    model_name: str
    value_range: tuple[float, float]


def class_budget(
    ipc: Any, prepared: PreparedData, strategy: Method, init: str, method: str
) -> np.ndarray:
    """Samples to keep of every class (in ``classes_`` order) from ``ipc``, checked.

    An int is the same for every class; a float in (0, 1] is that fraction of each class,
    rounded down; a dict gives every class its own (every class named once). The last two
    are per-class budgets, which only selections support (``Method.check_settings``).
    """
    counts = np.asarray(prepared.class_counts)
    classes = prepared.classes
    if isinstance(ipc, Integral):
        budget = np.full(len(classes), int(ipc))
    elif isinstance(ipc, dict):
        known = set(classes.tolist())
        extra = [k for k in ipc if k not in known]
        missing = [c for c in classes.tolist() if c not in ipc]
        if extra or missing:
            raise InvalidParameterError(
                f"ipc as a dict must give a budget to every class of y and to nothing else; "
                f"missing {missing!r}, unknown {extra!r}."
            )
        bad = {
            k: v
            for k, v in ipc.items()
            if isinstance(v, bool) or not isinstance(v, Integral) or v < 1
        }
        if bad:
            raise InvalidParameterError(
                f"ipc as a dict takes an int >= 1 for every class; got {bad!r}."
            )
        budget = np.array([int(ipc[c]) for c in classes.tolist()])
    else:
        share = Fraction(str(float(ipc)))  # exact: 0.29 of 100 is 29, not 28.999...
        budget = np.array([int(share * int(n)) for n in counts])
        if (budget < 1).any():
            c = int(np.argmin(budget))
            raise InvalidParameterError(
                f"ipc={ipc!r} keeps no sample of class {classes[c].tolist()!r} "
                f"({counts[c]} samples; the fraction is rounded down); raise ipc or pass an "
                "int or a dict."
            )
    over = np.flatnonzero(budget > counts)
    if strategy.needs_real_samples(init) and len(over):
        c = int(over[0])
        label = classes[c].tolist()
        start = (
            f"ipc={ipc} is larger than class {label!r} holds ({counts[c]} samples); "
            if isinstance(ipc, Integral)
            else f"ipc={ipc!r} asks for {budget[c]} samples of class {label!r}, which holds "
            f"{counts[c]}; "
        )
        if not strategy.learns_samples:
            raise InvalidParameterError(
                start + f"the selection method {method!r} keeps ipc real samples of "
                "every class. Lower ipc."
            )
        raise InvalidParameterError(
            start + f"method {method!r} with init='real' needs ipc real samples of "
            "every class. Lower ipc (or use init='noise')."
        )
    return budget


def resolve_augment(condenser: Any, strategy: Method, is_image: bool) -> Any:
    """The fit's augmentation: ``augment`` resolved (``"auto"``: the method's default for
    images) and built with the ``augment__`` settings, checked even when left unused."""
    spec = condenser.augment
    settings = condenser.routed_params("augment")
    if spec == "auto":
        spec = strategy.default_augment_for(is_image)
        if spec is None:
            if settings:  # checked against the default augmentation, then left unused
                build_augment("dsa", **settings)
                logger.info(
                    "%s: method %r does not augment here; the settings %s are not used.",
                    type(condenser).__name__,
                    condenser.method,
                    sorted(f"augment__{k}" for k in settings),
                )
            return None
    elif spec is not None and not is_image:
        raise InvalidParameterError(
            f"augment={condenser.augment!r} needs images, but X holds rows of features; pass "
            "input_shape=(H, W) to read rows as images, or augment=None."
        )
    return build_augment(spec, **settings)


def warm_start_set(
    previous: CondensedSet | None,
    prepared: PreparedData,
    normalizer: Normalizer,
    budget: np.ndarray,
    device: Any,
) -> torch.Tensor | None:
    """The previous fit's set for ``warm_start``, normalised, checked against this fit."""
    if previous is None:
        return None
    layout = prepared.layout
    counts = np.unique(np.asarray(previous.y), return_counts=True)[1]
    problems = []
    if not np.array_equal(previous.classes, prepared.classes):
        problems.append(f"classes {previous.classes.tolist()!r}")
    elif len(counts) != len(budget) or not (counts == budget).all():
        problems.append(f"{counts.tolist()} samples per class, not {budget.tolist()}")
    if tuple(previous.input_layout.sample_shape) != tuple(layout.sample_shape):
        problems.append(f"samples of shape {previous.input_layout.sample_shape}")
    if problems:
        raise InvalidParameterError(
            "warm_start=True needs the previous set to fit this fit; it has "
            + " and ".join(problems)
            + ". Use warm_start=False."
        )
    return normalizer.normalize(layout.to_internal(previous.X)).to(device)


def device_memory(device: torch.device) -> int:
    """Bytes of memory of ``device`` (a GPU's, or this machine's RAM)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[1])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_set_size(n: int, shape: tuple[int, ...], device: torch.device, ipc: Any) -> None:
    """Refuse, before anything is allocated, a synthetic set of ``n`` samples of ``shape``
    that cannot fit the device's memory (as float32, with its gradient)."""
    needed = 2 * 4 * n * int(np.prod(shape))
    available = device_memory(device)
    if needed > available:
        raise InvalidParameterError(
            f"ipc={ipc!r} asks for a synthetic set of {n} samples of shape {tuple(shape)}: "
            f"{needed / 2**30:.3g} GiB as float32 with its gradient, more than the "
            f"{available / 2**30:.3g} GiB of {device}. Lower ipc."
        )


def loop_callbacks(condenser: Any, ranks: Ranks) -> tuple[Callback, ...]:
    """The outer loop's callbacks: the divergence check, the user's, the progress bar (shown
    by rank 0 only)."""
    user = tuple(condenser.callbacks or ())
    bar = (ProgressBar(),) if condenser.verbose and ranks.main else ()
    return (DivergenceCheck(), *user, *bar)


def setup_fit(condenser: Any, X: Any, y: Any) -> FitSetup:
    """Validate, read the data and build the fit's context: everything before the method.

    ``condenser`` is the :class:`~condensekit.DatasetCondenser` (or a selector) being fit: its
    parameters, its ``_build_method`` and, for ``warm_start``, its previous set.
    """
    name = type(condenser).__name__
    condenser._check_params()
    strategy = condenser._build_method()
    strategy.check_settings(
        {
            k: getattr(condenser, k)
            for k in ("method", "ipc", "max_iter", "augment", "callbacks", "warm_start")
        }
    )
    init = strategy.resolve_init(condenser.init)
    device = resolve_device(condenser.device, name)
    ranks = current_ranks(device)
    if ranks.active and not strategy.supports_distributed:
        raise InvalidParameterError(
            f"method {condenser.method!r} cannot yet run one fit across processes (this is "
            f"rank {ranks.rank} of {ranks.world}); distributed fits support "
            f"{[m for m in list_methods() if METHODS.get(m).supports_distributed]}. Run it in "
            "one process."
        )
    seed = ranks.broadcast_int(seed_from_random_state(condenser.random_state))
    prepared, data, normalizer, value_range, sampled = read_real_data(
        condenser, X, y, strategy, device, seed
    )
    layout = prepared.layout
    budget = class_budget(condenser.ipc, prepared, strategy, init, condenser.method)
    if strategy.learns_samples:
        check_set_size(int(budget.sum()), prepared.layout.internal_shape, device, condenser.ipc)
    augment = resolve_augment(condenser, strategy, layout.is_image)
    model_name = resolve_model_name(condenser.model, layout.is_image)
    model_kwargs = condenser.routed_params("model")
    generator = make_generator(seed, device)
    n_classes = len(prepared.classes)

    def make_network() -> torch.nn.Module:
        return build_model(
            model_name,
            layout.internal_shape,
            n_classes,
            generator=generator,
            device=device,
            **model_kwargs,
        )

    if strategy.learns_samples:
        probe = make_network()  # fail fast on a network that cannot take these inputs
        if ranks.active and any(isinstance(m, _BatchNorm) for m in probe.modules()):
            raise InvalidParameterError(
                f"model={model_name!r} has batch normalisation, whose statistics would differ "
                "between one rank's share of the real batch and the whole batch; a distributed "
                "fit needs a network without it (model__norm='instance')."
            )
    else:
        # A selection may never build one (random, raw features), yet a bad ``model`` or
        # ``model__*`` is still reported; checked on the CPU from a throwaway generator,
        # so the fit's own random stream is not touched.
        build_model(
            model_name,
            layout.internal_shape,
            n_classes,
            generator=torch.Generator().manual_seed(0),
            **model_kwargs,
        )
    check_same(
        ranks,
        [data.counts.float(), torch.as_tensor(normalizer.mean), torch.as_tensor(normalizer.std)],
        "real data (class counts or normalisation statistics)",
    )
    previous = getattr(condenser, "_previous", None)  # set by a warm_start fit
    initial = warm_start_set(previous, prepared, normalizer, budget, device)
    ctx = FitContext(
        data=data,
        ipc=int(budget.max()),
        class_budget=torch.as_tensor(budget, device=device),
        max_iter=(
            int(condenser.max_iter or strategy.paper_max_iter) if strategy.learns_samples else 0
        ),
        init=init,
        device=device,
        generator=generator,
        make_network=make_network,
        augment=augment,
        verbose=int(condenser.verbose),
        description=f"{condenser.method} ipc={condenser.ipc}",
        callbacks=loop_callbacks(condenser, ranks),
        fingerprint=data_fingerprint(
            sampled,
            data.y,
            repr((condenser.method, budget.tolist(), condenser.max_iter, seed, init, model_name)),
            repr((sorted(strategy.get_params().items()), sorted(model_kwargs.items()))),
            repr(augment),
            *(() if initial is None else (initial,)),
        ),
        initial=initial,
        ranks=ranks,
    )
    return FitSetup(strategy, ctx, prepared, normalizer, budget, seed, model_name, value_range)


def result_tensors(result: CondensedResult) -> list[torch.Tensor]:
    """The tensors that make a result: its samples, or its generator's weights and codes."""
    if result.generator is not None:
        return [*result.generator.state_dict().values(), result.latents]
    return [t for t in (result.X, result.sample_indices) if t is not None]


def fitted_attributes(setup: FitSetup, result: CondensedResult, fit_time: float) -> dict[str, Any]:
    """The fitted attributes of a finished fit (checked to be the same on every rank)."""
    check_same(setup.ctx.ranks, result_tensors(result), "condensed set")
    prepared, normalizer, budget = setup.prepared, setup.normalizer, setup.budget
    layout = prepared.layout
    n_values = int(np.prod(layout.sample_shape))
    state: dict[str, Any] = {
        "value_range_": setup.value_range,
        "data_mode_": "stream" if isinstance(setup.ctx.data, StreamedRealData) else "memory",
        "classes_": prepared.classes,
        "n_features_in_": n_values,
        "history_": result.history,
        "n_iter_": result.n_iter,
        "method_": setup.strategy,
        "model_name_": setup.model_name,
        "augment_": setup.ctx.augment,
        "normalizer_": normalizer,
        "input_layout_": layout,
        "device_": str(setup.ctx.device),
        "seed_": setup.seed,
        "fit_time_": fit_time,
        "ipc_per_class_": budget,
    }
    kind = KINDS.get(setup.strategy.result_kind)
    state.update(
        kind.fitted_attributes(result, prepared.X_source, layout, normalizer, setup.ctx.ipc)
    )
    state["y_syn_"] = prepared.classes[result.y.cpu().numpy()]
    stored = kind.stored_values(state, n_values)
    state["condensed_size_"] = {
        "kind": kind.name,
        "values": stored,
        "bytes": 4 * stored,
        "pixel_values": int(budget.sum()) * n_values,
    }
    return state
