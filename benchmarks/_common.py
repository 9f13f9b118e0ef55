"""The benchmark scripts' command-line options, on top of the package's one cell runner.

Datasets, budgets, running a cell (each in a fresh process here, so that its peak memory is its
own), resuming, the results file and tables all live in :mod:`condensekit.benchmark`; a script
under ``benchmarks/`` only chooses its cells and settings.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from condensekit import list_methods
from condensekit.benchmark import (
    FLIP,
    add_sections,
    cell_table,
    load_dataset,
    previous_cells,
    ranked_rows,
    resolve_cell_protocols,
    write_report,
)
from condensekit.benchmark import run_cells as _run_cells

__all__ = [
    "FLIP",
    "add_run_arguments",
    "add_sections",
    "cell_protocols",
    "cell_spec",
    "load",
    "parse_set",
    "previous_cells",
    "ranked_rows",
    "run_cells",
    "table",
    "write_report",
]

load = load_dataset
table = cell_table


def add_run_arguments(
    parser: argparse.ArgumentParser, out: str, seeds: Sequence[int] = (0,), n_models: int = 5
) -> None:
    """The options every script shares: seeds, evaluator networks, device, data, output, resume."""
    parser.add_argument("--seeds", nargs="+", type=int, default=list(seeds))
    parser.add_argument("--n-models", type=int, default=n_models)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", default=out)
    parser.add_argument(
        "--protocols",
        nargs="*",
        default=[],
        help="also score every cell under these evaluation protocols ('paper', 'dc', 'dsa'); "
        "under 'paper' a selection is scored under the paper protocol of every other method "
        "of the run, so each has its random baseline under its own protocol",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the cells already in --out that this run would repeat (without it they "
        "are rerun and replaced; other cells of --out are kept either way)",
    )


def parse_set(items: Sequence[str]) -> dict:
    """``--set key=json`` items as condenser keyword arguments."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs key=value, got {item!r}")
        settings[key] = json.loads(value)
    return settings


def cell_protocols(protocols: Sequence[str], method: str, methods: Sequence[str]) -> list[str]:
    """The extra protocols one cell is scored under: as asked, except that a selection asked
    for ``"paper"`` gets the resolved paper protocol of every synthesis method of ``methods``
    (of every registered one when the script has no method list)."""
    if not protocols:
        return []
    methods = list(methods) or list_methods()
    return [p for p in resolve_cell_protocols(protocols, method, methods) if p != "default"]


def cell_spec(
    args: argparse.Namespace,
    dataset: str,
    method: str,
    ipc: int,
    seed: int,
    settings: dict,
    **extra,
) -> dict:
    """The spec of one cell (:mod:`condensekit.benchmark.cells`) with the options of ``args``."""
    protocols = cell_protocols(getattr(args, "protocols", []), method, getattr(args, "methods", []))
    if protocols and "protocols" not in extra:
        extra["protocols"] = protocols
    return {
        "dataset": dataset,
        "method": method,
        "ipc": ipc,
        "settings": settings,
        "budget": args.budget,
        "seed": seed,
        "n_models": args.n_models,
        "device": args.device,
        "data_root": args.data_root,
        **extra,
    }


def run_cells(specs: Iterable[dict], out: str | Path, resume: bool) -> list[dict]:
    """Run every cell of ``specs``, each in a fresh process, writing ``out`` after each one
    and logging a line per cell; returns the rows of ``specs``
    (:func:`condensekit.benchmark.run_cells`)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return _run_cells(specs, out, resume=resume, isolate=True)
