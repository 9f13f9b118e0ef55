"""Benchmark runner: methods x ipc x datasets under a named budget, resumable.

Every cell condenses (or selects) with the budget's settings and is scored by
:class:`~condensekit.CondensedEvaluator` under each asked protocol: ``"default"`` (DESIGN.md's:
no augmentation, 300 epochs) and/or ``"paper"`` (each method's paper protocol, see
:mod:`condensekit.evaluation.protocols`), with every selection also scored under the paper
protocol of each synthesis method of the grid, so a random subset sits beside every method under
that method's own protocol. Results go to
``<out_dir>/results.json`` after every cell, so an interrupted run resumes where it stopped
(finished cells are skipped), then to ``results.md`` (a table) and ``accuracy_<dataset>.svg``
(bar charts with error bars).

Budgets:

* ``"quick"``: settings that fit a cell at ipc 1 or 10 into minutes of a 2-core CPU (at ipc 50
  on MNIST, evaluating the 500 images per network dominates: about 1.5 hours of one thread per
  cell); the figures of docs/benchmarks.md were measured with them.
* ``"paper"``: the papers' settings (20,000 DM iterations, 1,000 gradient-matching iterations,
  256 real images per class); meant for a GPU.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._registry import Registry
from ._torch_utils import resolve_device
from ._version import __version__
from .condenser import DatasetCondenser
from .data import load_cifar10_subset, load_digits_split, load_mnist
from .evaluation import CondensedEvaluator
from .evaluation.protocols import PROTOCOLS, paper_protocol_name
from .methods import METHODS
from .plotting import accuracy_bars

logger = logging.getLogger("condensekit")

#: Loaders of the datasets known to the package: ``loader(data_root) -> (X_train, y_train,
#: X_test, y_test)``. MNIST and the CIFAR-10 subset are read from ``data_root`` (or
#: ``$CONDENSEKIT_DATA``); nothing is downloaded.
DATASETS: Registry[Callable[[Any], tuple]] = Registry("dataset")


@DATASETS.register("digits")
def _digits(data_root: Any = None) -> tuple:

    X_train, X_test, y_train, y_test = load_digits_split(test_size=0.3, random_state=0)
    return X_train, y_train, X_test, y_test


@DATASETS.register("mnist")
def _mnist(data_root: Any = None) -> tuple:

    return (*load_mnist(data_root, train=True), *load_mnist(data_root, train=False))


@DATASETS.register("cifar10")
def _cifar10(data_root: Any = None) -> tuple:

    return load_cifar10_subset(data_root)[:4]


def load_dataset(name: str, data_root: Any = None) -> tuple:
    """``(X_train, y_train, X_test, y_test)`` of a dataset known to the package."""
    return DATASETS.get(name)(data_root)


#: Horizontal flips are no label-preserving augmentation for digits (DESIGN.md, DSA).
FLIP = {"digits": False, "mnist": False, "cifar10": True}

#: Budget families a method may declare (``Method.budget_family``).
_FAMILIES = ("gradient", "distribution", "selection")
#: Helper networks of the quick budget's selections on the larger datasets, a few CPU minutes
#: each: herding and k-center features from 5 epochs of the CIFAR-10 subset (5,085 images, 20
#: steps of 256 an epoch) and 1 epoch of MNIST (60,000 images, 235 steps); EL2N from 2 networks
#: (the library default is 5) at epoch 10 and 2 of the default 20 (forgetting: a run of 10 and
#: 4 epochs, counting events between them); GraNd at initialisation (its default) over 3 and 2
#: networks instead of 10. The library defaults are the ``paper`` budget.
_SELECTION_QUICK_CIFAR = {
    "herding": {"strategy__epochs": 5},
    "kcenter": {"strategy__epochs": 5},
    "el2n": {"strategy__n_networks": 2, "strategy__epochs": 10},
    "grand": {"strategy__n_networks": 3},
    "forgetting": {"strategy__epochs": 10},
}
_SELECTION_QUICK_MNIST = {
    "herding": {"strategy__epochs": 1},
    "kcenter": {"strategy__epochs": 1},
    "el2n": {"strategy__n_networks": 2, "strategy__epochs": 2},
    "grand": {"strategy__n_networks": 2},
    "forgetting": {"strategy__epochs": 4},
}

#: Settings of every budget: ``BUDGETS[budget][family][dataset]``, and for gradient matching
#: ``[(dataset, ipc)]`` with a fallback under ``dataset``. ``lr_per_ipc`` sets
#: ``strategy__lr_syn = lr_per_ipc * ipc`` (DM's per-sample step shrinks as 1/ipc).
BUDGETS: dict[str, dict[str, dict]] = {
    "quick": {
        "distribution": {
            "digits": {"max_iter": 1000, "strategy__batch_real": 256, "lr_per_ipc": 1.0},
            "mnist": {"max_iter": 400, "strategy__batch_real": 64, "lr_per_ipc": 1.0},
            "cifar10": {"max_iter": 400, "strategy__batch_real": 64, "lr_per_ipc": 1.0},
        },
        "gradient": {
            ("digits", 1): {"max_iter": 200, "strategy__batch_real": 64},
            ("digits", 10): {"max_iter": 30, "strategy__batch_real": 64},
            ("mnist", 1): {"max_iter": 300, "strategy__batch_real": 64},
            # ipc 10 runs the papers' loop (10 pixel steps, each followed by 50 training
            # epochs of the set): about 160 s an outer iteration on this CPU, so 5 of them.
            ("mnist", 10): {"max_iter": 5, "strategy__batch_real": 64},
            ("cifar10", 10): {"max_iter": 5, "strategy__batch_real": 64},
            "digits": {"max_iter": 20, "strategy__batch_real": 64},
            "mnist": {"max_iter": 20, "strategy__batch_real": 64},
            "cifar10": {"max_iter": 20, "strategy__batch_real": 64},
        },
        # At ipc 1 the contrastive variants run the DCC authors' loop (10 pixel steps with 5
        # training epochs between them on every network, where DC takes 1 step): an outer
        # iteration costs about 9 times DC's (digits: 2.35 s against 0.26 s, one thread), so
        # they get the iterations that take DC's time.
        "gradient_method": {
            ("digits", 1, "dcc"): {"max_iter": 25},
            ("digits", 1, "dsa_dcc"): {"max_iter": 25},
            ("mnist", 1, "dcc"): {"max_iter": 30},
            ("mnist", 1, "dsa_dcc"): {"max_iter": 30},
        },
        "selection": {
            "digits": {},
            "mnist": _SELECTION_QUICK_MNIST,
            "cifar10": _SELECTION_QUICK_CIFAR,
        },
    },
    "paper": {
        "distribution": {
            d: {"max_iter": 20000, "strategy__batch_real": 256, "strategy__lr_syn": 1.0}
            for d in ("digits", "mnist", "cifar10")
        },
        "gradient": {
            d: {"max_iter": 1000, "strategy__batch_real": 256}
            for d in ("digits", "mnist", "cifar10")
        },
        "gradient_method": {},
        "selection": {"digits": {}, "mnist": {}, "cifar10": {}},
    },
}


def budget_settings(budget: str, method: str, dataset: str, ipc: int) -> dict[str, Any]:
    """Condenser keyword arguments of one cell (without ``ipc`` and ``random_state``).

    Parameters
    ----------
    budget : {"quick", "paper"}
        Named budget.
    method : str
        A registered method.
    dataset : str
        ``"digits"``, ``"mnist"`` or ``"cifar10"``.
    ipc : int
        Samples per class.

    Returns
    -------
    dict
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}; got {budget!r}.")
    if dataset not in FLIP:
        raise ValueError(f"no budget for dataset {dataset!r}; known: {sorted(FLIP)}.")
    table = BUDGETS[budget]
    cls = METHODS.get(method)
    family = cls.budget_family
    if family is None:
        logger.info(
            "method %r declares no budget family; the %s budget runs it with its own defaults.",
            method,
            budget,
        )
        return {}
    if family not in _FAMILIES:
        raise ValueError(
            f"method {method!r} declares the budget family {family!r}; known: {list(_FAMILIES)}."
        )
    if family == "selection":
        return dict(table["selection"][dataset].get(method, {}))
    families = table[family]
    settings = dict(families.get((dataset, ipc), families[dataset]))
    settings.update(table.get(f"{family}_method", {}).get((dataset, ipc, method), {}))
    per_ipc = settings.pop("lr_per_ipc", None)
    if not cls.lr_scales_with_ipc:
        settings.pop("strategy__lr_syn", None)
    elif per_ipc is not None:
        settings["strategy__lr_syn"] = per_ipc * ipc
    if cls.default_augment == "dsa":  # no flips where they change the label (digits)
        settings["augment__flip"] = FLIP[dataset]
    return settings


def _same_cell(row: dict, key: dict) -> bool:
    """Whether ``row`` is the cell ``key`` names. A row without ``protocol`` was scored under
    the default protocol; ``eval_epochs=None`` in ``key`` means the protocol decides them."""
    for k, v in key.items():
        got = row.get(k, "default" if k == "protocol" else None)
        if k == "eval_epochs" and v is None and key.get("protocol", "default") != "default":
            continue
        if got != v:
            return False
    return True


def resolve_cell_protocols(
    protocols: Sequence[str], method: str, methods: Sequence[str]
) -> list[str]:
    """The resolved protocols a cell of ``method`` is scored under (``"default"`` kept as is).

    ``"paper"`` is the method's own paper protocol; for a selection it is the paper protocol of
    every synthesis method in ``methods`` (its own if there is none), so each method has its
    random baseline under the same protocol.
    """

    out: list[str] = []
    for name in protocols:
        if name == "default" or name in PROTOCOLS:
            names = [name]
        elif name != "paper":
            raise ValueError(
                f"protocols holds {name!r}; expected 'default', 'paper' or one of "
                f"{PROTOCOLS.names()}."
            )
        elif METHODS.get(method).learns_samples:
            names = [paper_protocol_name(method)]
        else:
            synth = [m for m in methods if METHODS.get(m).learns_samples]
            names = sorted({paper_protocol_name(m) for m in synth or [method]})
        out += [n for n in names if n not in out]
    return out


def run_benchmark(
    datasets: Sequence[str],
    methods: Sequence[str],
    ipcs: Sequence[int],
    *,
    budget: str = "quick",
    seeds: Sequence[int] = (0,),
    n_models: int = 5,
    epochs: int = 300,
    protocols: Sequence[str] = ("default",),
    overrides: dict[str, dict[str, Any]] | None = None,
    device: str = "auto",
    data_root: Any = None,
    out_dir: str | os.PathLike = "benchmark_results",
    resume: bool = True,
    verbose: int = 1,
) -> list[dict]:
    """Run every (dataset, ipc, method, seed) cell and write JSON, markdown and charts.

    Parameters
    ----------
    datasets, methods, ipcs : sequences
        The grid. Datasets are those of :data:`DATASETS`; methods are registered names.
    budget : {"quick", "paper"}, default="quick"
        Named settings (:data:`BUDGETS`).
    seeds : sequence of int, default=(0,)
        Condensation seeds (also the evaluator's seed).
    n_models : int, default=5
        Networks trained by the evaluator per cell.
    epochs : int, default=300
        Training epochs of every evaluation network under the ``"default"`` protocol (its 300
        unless testing); named protocols set their own.
    protocols : sequence of str, default=("default",)
        Evaluation protocols every cell is scored under: ``"default"``, ``"paper"`` (the
        method's own; a selection gets the paper protocol of every synthesis method of the grid,
        or its own when there is none) or a name of
        :data:`~condensekit.evaluation.protocols.PROTOCOLS`. A cell is fit once and gives one
        row per resolved protocol (``"protocol"`` in the row).
    overrides : dict, optional
        ``{method: {parameter: value}}`` applied over the budget's settings of that method
        (``{"herding": {"strategy__features": "raw"}}``); ``"*"`` applies to every method.
    device : str, default="auto"
        Device of condensation and evaluation.
    data_root : path, optional
        Folder of MNIST and the CIFAR-10 subset (default ``$CONDENSEKIT_DATA`` or
        ``../shared/data``).
    out_dir : path, default="benchmark_results"
        Where ``results.json``, ``results.md`` and ``accuracy_<dataset>.svg`` go.
    resume : bool, default=True
        Reuse the cells of an existing ``results.json`` that match a cell of this grid exactly
        (settings, budget, evaluator, resolved device) and run only the others. ``False`` reruns
        every cell of the grid; cells of ``results.json`` outside the grid are kept either way.
    verbose : int, default=1
        Passed to the condensers; cells are logged to the ``"condensekit"`` logger.

    Notes
    -----
    Selections (random, herding, k-center, EL2N, GraNd, forgetting) are fit once per dataset,
    method and seed, at the largest ipc of the grid; a smaller ipc ``n`` is scored as the first
    ``n`` of every class of that ranking (``DatasetCondenser.sample(n)``, the set a fit with
    ``ipc=n`` keeps). Its row has ``"ranked_at_ipc"`` and the fit time of that one fit.

    Returns
    -------
    list of dict
        One row per cell of this grid (accuracy mean, std and per network, times, settings).
        ``results.md`` and the charts show these cells only, never cells of other settings that
        ``results.json`` also holds.
    """

    for m in methods:
        METHODS.get(m)  # unknown names fail before any work
    if isinstance(protocols, str) or not protocols:
        raise ValueError(
            f"protocols must be a non-empty sequence of protocol names; got {protocols!r}."
        )
    for m in methods:
        resolve_cell_protocols(protocols, m, methods)  # unknown protocols fail here too
    for d in datasets:
        DATASETS.get(d)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    resolved = str(resolve_device(device, "run_benchmark"))
    rows: list[dict] = json.loads(results.read_text())["cells"] if results.exists() else []
    grid: list[dict] = []  # this call's cells, finished before or now
    top_ipc = max(ipcs)
    for dataset in datasets:
        data = None
        rankings: dict[tuple, Any] = {}  # a selection fit at top_ipc serves every smaller ipc
        for ipc in ipcs:
            for seed in seeds:
                for method in methods:
                    settings = budget_settings(budget, method, dataset, ipc)
                    settings.update((overrides or {}).get("*", {}))
                    settings.update((overrides or {}).get(method, {}))
                    base = {
                        "dataset": dataset,
                        "method": method,
                        "ipc": ipc,
                        "seed": seed,
                        "budget": budget,
                        "n_models": n_models,
                        "settings": settings,
                        "device": resolved,
                    }
                    keys = [
                        {
                            **base,
                            "protocol": name,
                            "eval_epochs": epochs if name == "default" else None,
                        }
                        for name in resolve_cell_protocols(protocols, method, methods)
                    ]
                    todo = []
                    for key in keys:
                        done = [r for r in rows if _same_cell(r, key)]
                        if done and resume:
                            logger.info("skipping finished cell %s", key)
                            grid.append(done[-1])
                        else:
                            rows = [r for r in rows if not _same_cell(r, key)]
                            todo.append(key)
                    if not todo:
                        continue
                    if data is None:
                        data = load_dataset(dataset, data_root)
                    X_train, y_train, X_test, y_test = data
                    ranked = not METHODS.get(method).learns_samples
                    fit_ipc = top_ipc if ranked else ipc
                    cache_key = (method, seed, json.dumps(settings, sort_keys=True, default=str))
                    cond = rankings.get(cache_key) if ranked else None
                    if cond is None:
                        cond = DatasetCondenser(
                            method,
                            ipc=fit_ipc,
                            random_state=seed,
                            device=device,
                            verbose=verbose,
                            **settings,
                        ).fit(X_train, y_train)
                        if ranked:
                            rankings[cache_key] = cond
                    for key in todo:
                        named = key["protocol"] != "default"
                        res = CondensedEvaluator(
                            n_models=n_models,
                            epochs="auto" if named else epochs,
                            random_state=seed,
                            device=device,
                            protocol=key["protocol"],
                        ).evaluate(cond, X_test, y_test, n_per_class=ipc if ipc < fit_ipc else None)
                        row = {
                            **key,
                            "eval_epochs": res.epochs,
                            "eval_augment": res.augment,
                            "acc_mean": res.mean,
                            "acc_std": res.std,
                            "accuracies": res.accuracies,
                            "fit_time_s": cond.fit_time_,
                            "eval_time_s": res.time,
                            "n_iter": cond.n_iter_,
                            "device": cond.device_,
                            "condensed_size": cond.condensed_size_,
                        }
                        if getattr(cond, "helper_cost_", None) is not None:
                            row["helper_cost"] = cond.helper_cost_
                        if fit_ipc != ipc:  # the first ipc of every class of the ranking
                            row["ranked_at_ipc"] = fit_ipc
                            row["condensed_size"] = {
                                **cond.condensed_size_,
                                "values": cond.condensed_size_["values"] * ipc // fit_ipc,
                                "pixel_values": cond.condensed_size_["pixel_values"]
                                * ipc
                                // fit_ipc,
                            }
                        rows.append(row)
                        grid.append(row)
                        logger.info(
                            "%s %s ipc=%d seed=%d protocol=%s: %.2f ± %.2f %% (fit %.1f s)",
                            dataset,
                            method,
                            ipc,
                            seed,
                            key["protocol"],
                            100 * res.mean,
                            100 * res.std,
                            cond.fit_time_,
                        )
                        _write_json(results, rows, __version__)
    _write_json(results, rows, __version__)
    (out / "results.md").write_text(markdown_table(grid) + "\n")
    for dataset in sorted({r["dataset"] for r in grid}):
        accuracy_chart(grid, dataset).save(out / f"accuracy_{dataset}.svg")
    return grid


def _write_json(path: Path, rows: list[dict], version: str) -> None:
    report = {
        "cells": rows,
        "condensekit_version": version,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(path)  # never leave a half-written results file behind


def _summarise(cells: list[dict]) -> tuple[float, float, str]:
    """Mean and std in %: over seeds' means with several seeds, else over networks."""
    if len(cells) == 1:
        return 100 * cells[0]["acc_mean"], 100 * cells[0]["acc_std"], ""
    acc = 100 * np.array([c["acc_mean"] for c in cells])
    return float(acc.mean()), float(acc.std()), f" ({len(cells)} seeds)"


def _protocol(row: dict) -> str:
    return row.get("protocol", "default")


def _cells(rows: list[dict], dataset: str, ipc: int, method: str, protocol: str) -> list[dict]:
    """The rows of one (dataset, ipc, method, protocol) entry of a table or chart."""
    key = (dataset, ipc, method, protocol)
    return [r for r in rows if (r["dataset"], r["ipc"], r["method"], _protocol(r)) == key]


def markdown_table(rows: list[dict]) -> str:
    """One line per (dataset, ipc, protocol), one column per method: mean ± std accuracy in %.

    The protocol column appears when the rows were scored under more than one protocol; a cell
    left empty ("-") was not scored under that line's protocol.
    """
    methods = list(dict.fromkeys(r["method"] for r in rows))
    protocols = list(dict.fromkeys(_protocol(r) for r in rows))
    several = len(protocols) > 1
    head = "| dataset | ipc | " + ("protocol | " if several else "")
    lines = [
        head + " | ".join(methods) + " |",
        "|---|---|" + ("---|" if several else "") + "---|" * len(methods),
    ]
    lines_keys = sorted(
        {(r["dataset"], r["ipc"], _protocol(r)) for r in rows},
        key=lambda k: (k[0], k[1], protocols.index(k[2])),
    )
    for dataset, ipc, protocol in lines_keys:
        cells = []
        for m in methods:
            chosen = _cells(rows, dataset, ipc, m, protocol)
            if chosen:
                mean, std, note = _summarise(chosen)
                cells.append(f"{mean:.2f} ± {std:.2f}{note}")
            else:
                cells.append("-")
        lead = f"| {dataset} | {ipc} | " + (f"{protocol} | " if several else "")
        lines.append(lead + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_chart(rows: list[dict], dataset: str):
    """Bar chart (:class:`~condensekit.plotting.SVGFigure`) of one dataset's cells (labelled
    with their protocol when there are several)."""

    protocols = list(dict.fromkeys(_protocol(r) for r in rows))
    labels, means, stds = [], [], []
    for ipc in sorted({r["ipc"] for r in rows if r["dataset"] == dataset}):
        for protocol in protocols:
            for m in dict.fromkeys(r["method"] for r in rows):
                chosen = _cells(rows, dataset, ipc, m, protocol)
                if chosen:
                    mean, std, _ = _summarise(chosen)
                    suffix = f" {protocol}" if len(protocols) > 1 else ""
                    labels.append(f"{m} {ipc}{suffix}")
                    means.append(mean)
                    stds.append(std)
    return accuracy_bars(labels, means, stds, title=f"{dataset}: accuracy by method and ipc")
