"""Benchmark runner: methods x ipc x datasets under a named budget, resumable.

Every cell condenses (or selects) with the budget's settings
(:mod:`condensekit.benchmark.budgets`) and is scored by :class:`~condensekit.CondensedEvaluator`
under each asked protocol: ``"default"`` (DESIGN.md's: no augmentation, 300 epochs) and/or
``"paper"`` (each method's paper protocol, see :mod:`condensekit.evaluation.protocols`), with
every selection also scored under the paper protocol of each synthesis method of the grid, so a
random subset sits beside every method under that method's own protocol. Results go to
``<out_dir>/results.json`` after every cell, so an interrupted run resumes where it stopped
(finished cells are skipped), then to ``results.md`` (a table) and ``accuracy_<dataset>.svg``
(bar charts with error bars).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..evaluation.protocols import PROTOCOLS, paper_protocol_name
from ..methods import METHODS
from .budgets import budget_settings
from .cells import protocol_rows, ranked_rows, run_cells
from .datasets import DATASETS
from .report import accuracy_chart, markdown_table


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
        (settings, evaluator, protocols, kind of device) and run only the others. ``False``
        reruns every cell of the grid; cells of ``results.json`` outside the grid are kept
        either way.
    verbose : int, default=1
        Passed to the condensers; cells are logged to the ``"condensekit"`` logger.

    Notes
    -----
    Cells run in this process through :func:`~condensekit.benchmark.cells.run_cells`, the runner
    of the scripts under ``benchmarks/`` too; ``results.json`` holds one row per fit, with its
    default score (always measured: DESIGN.md's reference) and its other protocols' scores
    under ``"protocols"``. Selections (random, herding, k-center, EL2N, GraNd, forgetting) are
    fit once per dataset, method and seed, at the largest ipc of the grid; a smaller ipc ``n``
    is scored as the first ``n`` of every class of that ranking (``DatasetCondenser.sample(n)``,
    the set a fit with ``ipc=n`` keeps). Its row has ``"ranked_at_ipc"`` and the fit time of
    that one fit.

    Returns
    -------
    list of dict
        One row per cell of this grid and protocol asked for (``"protocol"``; accuracy mean, std
        and per network, epochs, augmentation, times, settings).
        ``results.md`` and the charts show these cells only, never cells of other settings that
        ``results.json`` also holds.
    """
    for m in methods:
        METHODS.get(m)  # unknown names fail before any work
    if isinstance(protocols, str) or not protocols:
        raise ValueError(
            f"protocols must be a non-empty sequence of protocol names; got {protocols!r}."
        )
    wanted = {m: resolve_cell_protocols(protocols, m, methods) for m in methods}
    for d in datasets:
        DATASETS.get(d)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = list(_specs(datasets, methods, ipcs, budget, seeds, wanted, overrides or {}))
    for spec in specs:
        spec.update(
            n_models=n_models,
            eval_epochs=epochs,
            device=device,
            data_root=None if data_root is None else str(data_root),
        )
    cells = run_cells(specs, out / "results.json", resume=resume, verbose=verbose)
    grid = [
        row for row in protocol_rows(ranked_rows(cells)) if row["protocol"] in wanted[row["method"]]
    ]
    (out / "results.md").write_text(markdown_table(grid) + "\n")
    for dataset in sorted({r["dataset"] for r in grid}):
        accuracy_chart(grid, dataset).save(out / f"accuracy_{dataset}.svg")
    return grid


def _specs(
    datasets: Sequence[str],
    methods: Sequence[str],
    ipcs: Sequence[int],
    budget: str,
    seeds: Sequence[int],
    wanted: dict[str, list[str]],
    overrides: dict[str, dict[str, Any]],
) -> Iterator[dict]:
    """The cells of a grid: a pixel method at every ipc, a selection once per seed at the
    largest ipc with the smaller ones as draws of its ranking."""
    top = max(ipcs)
    for dataset in datasets:
        for ipc in ipcs:
            for seed in seeds:
                for method in methods:
                    ranked = not METHODS.get(method).learns_samples
                    if ranked and ipc != ipcs[0]:
                        continue  # every ipc is scored from the one fit at the largest
                    fit_ipc = top if ranked else ipc
                    settings = budget_settings(budget, method, dataset, fit_ipc)
                    settings.update(overrides.get("*", {}))
                    settings.update(overrides.get(method, {}))
                    yield {
                        "dataset": dataset,
                        "method": method,
                        "ipc": fit_ipc,
                        "seed": seed,
                        "budget": budget,
                        "settings": settings,
                        "protocols": [p for p in wanted[method] if p != "default"],
                        "draws": sorted({n for n in ipcs if n < top}) if ranked else [],
                    }
