"""One benchmark cell: condense, score under each protocol, and keep the result (resumable).

A cell is one condensation (dataset x method x ipc x settings x seed) scored by
:class:`~condensekit.CondensedEvaluator`. It is described by a JSON-able *spec*, so that it can
run in a fresh process whose peak memory is its own
(``python -m condensekit.benchmark.cells '<spec>'`` prints its row):

``dataset``, ``method``, ``ipc``, ``seed``
    The cell: a name of :data:`~condensekit.benchmark.datasets.DATASETS`, a registered method,
    samples per class, and the seed of condensation and evaluation.
``settings``
    Condenser keyword arguments besides ``ipc`` and ``random_state`` (``{}``).
``label``, ``budget``
    The cell's name in tables (the method's name) and the name of its settings' budget (``"-"``).
``n_models``, ``eval_epochs``
    The default evaluator: networks (5) and epochs (300; DESIGN.md's protocol).
``device``, ``data_root``
    Where it runs (``"auto"``) and the folder of the local datasets.
``protocols``
    Further evaluation protocols (names :class:`~condensekit.CondensedEvaluator` takes as
    ``protocol``), reported under ``"protocols"`` by the name asked for; a protocol that trains
    exactly as the default evaluator reuses its networks.
``draws``
    Other numbers per class to score from the same fit: a selection's first ``n`` of every class
    of its ranking (the set a fit with ``ipc=n`` keeps) or a generator's ``n`` draws, reported
    under ``"draws"``.

The row of a cell holds the spec's cell, ``settings`` (with ``ipc``, ``random_state`` and
``device``), the default evaluator's ``acc_mean``, ``acc_std``, ``accuracies``, ``eval_epochs``
and ``eval_time_s``, ``fit_time_s``, ``n_iter``, the device, the set's size, the helper
networks' cost of a selection, the peak memory of a cell run in its own process, and the
``protocols`` and ``draws`` asked for.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import resource
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..condenser import DatasetCondenser
from ..evaluation import CondensedEvaluator
from ..evaluation.protocols import resolve_protocol
from ..methods import METHODS
from .datasets import load_dataset

logger = logging.getLogger("condensekit")


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_protocols(
    spec: dict, cond: Any, res: Any, X_test: Any, y_test: Any, n_per_class: int | None = None
) -> dict:
    """Scores of ``cond`` (its first ``n_per_class`` of every class) under each of
    ``spec["protocols"]``, by the name asked for; ``res`` is its default evaluation, reused where
    a protocol trains exactly as the default evaluator does."""
    out = {}
    layout = cond.input_layout_
    channels = layout.internal_shape[0] if layout.is_image else None
    for name in spec.get("protocols", []):
        resolved = resolve_protocol(name, spec["method"], channels)
        if resolved.augment is None and resolved.epochs == res.epochs:
            # the same training as the default evaluator's (same seeds, no augmentation,
            # same epochs): its networks, not trained twice
            scored = dataclasses.replace(res, protocol=resolved.name, time=0.0)
        else:
            scored = CondensedEvaluator(
                n_models=spec.get("n_models", 5),
                random_state=spec["seed"],
                device=cond.device_,  # where the fit ran (a settings override included)
                protocol=name,
            ).evaluate(cond, X_test, y_test, n_per_class=n_per_class)
        out[name] = {
            "resolved": scored.protocol,
            "augment": scored.augment,
            "eval_epochs": scored.epochs,
            "acc_mean": scored.mean,
            "acc_std": scored.std,
            "accuracies": scored.accuracies,
            "eval_time_s": scored.time,
        }
    return out


def _scaled_size(size: dict, n: int, ipc: int) -> dict:
    """The size of the first ``n`` of every class of a set of ``ipc`` per class."""
    return {
        **size,
        "values": size["values"] * n // ipc,
        "pixel_values": size["pixel_values"] * n // ipc,
    }


def run_cell(
    spec: dict, data: tuple | None = None, *, isolated: bool = False, verbose: int = 0
) -> dict:
    """Condense and evaluate one cell in this process; returns its row.

    Parameters
    ----------
    spec : dict
        The cell (see the module's documentation).
    data : tuple, optional
        ``(X_train, y_train, X_test, y_test)`` already loaded; else the spec's dataset is read.
    isolated : bool, default=False
        Whether this process runs this cell alone; only then is its peak memory recorded.
    verbose : int, default=0
        The condenser's progress output.
    """
    if data is None:
        data = load_dataset(spec["dataset"], spec.get("data_root"))
    X_train, y_train, X_test, y_test = data
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()  # this cell's peak, also in a shared process
    params = {
        "ipc": spec["ipc"],
        "random_state": spec["seed"],
        "device": spec.get("device", "auto"),
        **spec.get("settings", {}),
    }
    cond = DatasetCondenser(spec["method"], verbose=verbose, **params).fit(X_train, y_train)
    evaluator = CondensedEvaluator(
        n_models=spec.get("n_models", 5),
        epochs=spec.get("eval_epochs", 300),
        random_state=spec["seed"],
        device=params["device"],
    )
    res = evaluator.evaluate(cond, X_test, y_test)
    row = {
        "dataset": spec["dataset"],
        "method": spec["method"],
        "label": spec.get("label", spec["method"]),
        "ipc": spec["ipc"],
        "budget": spec.get("budget", "-") if spec["method"] != "random" else "-",
        "settings": params,
        "seed": spec["seed"],
        "acc_mean": res.mean,
        "acc_std": res.std,
        "accuracies": res.accuracies,
        "eval_epochs": res.epochs,
        "fit_time_s": cond.fit_time_,
        "eval_time_s": res.time,
        "n_iter": cond.n_iter_,
        "device": cond.device_,
        "condensed_size": cond.condensed_size_,
    }
    if isolated:
        row["peak_rss_mib"] = peak_rss_mib()
    if spec.get("protocols"):
        row["protocols"] = score_protocols(spec, cond, res, X_test, y_test)
    ranked = not cond.method_.learns_samples
    if spec.get("draws"):
        row["draws"] = {}
        for n in spec["draws"]:
            drawn = evaluator.evaluate(cond, X_test, y_test, n_per_class=n)
            scores = {
                "acc_mean": drawn.mean,
                "acc_std": drawn.std,
                "accuracies": drawn.accuracies,
                "eval_time_s": drawn.time,
            }
            if ranked:  # a selection's smaller budget: a set of its own
                scores["condensed_size"] = _scaled_size(cond.condensed_size_, n, spec["ipc"])
                if spec.get("protocols"):
                    scores["protocols"] = score_protocols(
                        spec, cond, drawn, X_test, y_test, n_per_class=n
                    )
            row["draws"][str(n)] = scores
    if getattr(cond, "helper_cost_", None) is not None:
        row["helper_cost"] = cond.helper_cost_
    if torch.cuda.is_available() and cond.device_.startswith("cuda"):
        row["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def run_cell_in_subprocess(spec: dict) -> dict:
    """:func:`run_cell` in a fresh Python process (its own peak memory); returns its row."""
    cmd = [sys.executable, "-m", "condensekit.benchmark.cells", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cell {spec} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _device_type(device: str) -> str:
    """``"cpu"`` or ``"cuda"``: where ``device`` (``"auto"`` included) runs on this machine."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device).type


def same_cell(row: dict, spec: dict, *, any_protocols: bool = False) -> bool:
    """Whether a finished ``row`` is the cell that ``spec`` would run (same data, method, label,
    ipc, seed, evaluator, draw sizes, every setting, and the kind of device it actually ran on)
    and was scored under at least the protocols ``spec`` asks for (with ``any_protocols``,
    whatever they were: the same fit, to be replaced by a rerun)."""
    if any(row.get(k) != spec[k] for k in ("dataset", "method", "ipc", "seed")):
        return False
    if row.get("label", row["method"]) != spec.get("label", spec["method"]):
        return False
    if len(row["accuracies"]) != spec.get("n_models", 5):
        return False
    if row.get("eval_epochs", 300) != spec.get("eval_epochs", 300):
        return False
    if "device" in row and _device_type(row["device"]) != _device_type(spec.get("device", "auto")):
        return False
    if sorted(row.get("draws", {})) != sorted(str(n) for n in spec.get("draws", [])):
        return False
    wanted_protocols = set(spec.get("protocols", []))
    if not any_protocols and not wanted_protocols <= set(row.get("protocols", {})):
        return False
    if (
        not any_protocols
        and not METHODS.get(row["method"]).learns_samples
        and any(
            not wanted_protocols <= set(drawn.get("protocols", {}))
            for drawn in row.get("draws", {}).values()
        )
    ):  # a selection's smaller budgets scored under fewer protocols than asked
        return False
    settings = {k: v for k, v in row["settings"].items() if k not in ("ipc", "random_state")}
    wanted = {"device": spec.get("device", "auto"), **spec.get("settings", {})}
    # as written to JSON: a tuple setting of a spec reads back as a list
    return settings == json.loads(json.dumps(wanted, default=str))


def previous_cells(out: str | Path) -> list[dict]:
    """The cells already written to ``out`` (empty if there is no such file)."""
    path = Path(out)
    if not path.exists():
        return []
    return json.loads(path.read_text())["cells"]


def write_report(out: str | Path, cells: list[dict], **sections: Any) -> None:
    """Write ``cells`` (and any further ``sections``) as JSON to ``out``, atomically.

    A section already in ``out`` that this call does not give (``None`` counts as not given),
    such as a ``note`` (a person's remark on how its cells ran) or a speed measurement a run
    skipped, is kept while every cell it was written beside is still there; a run that drops or
    replaces one of those cells drops it.
    """
    path = Path(out)
    sections = {key: value for key, value in sections.items() if value is not None}
    if path.exists():
        old = json.loads(path.read_text())
        if all(cell in cells for cell in old["cells"]):
            for key, value in old.items():
                if key not in ("cells", "machine", "condensekit_version") and key not in sections:
                    sections[key] = value
    report = {
        "cells": cells,
        **sections,
        "condensekit_version": __version__,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(path)  # never leave a half-written results file behind


def add_sections(out: str | Path, **sections: Any) -> None:
    """Add (or replace) sections of the results file ``out``, its cells unchanged."""
    write_report(out, previous_cells(out), **sections)


def run_cells(
    specs: Iterable[dict],
    out: str | Path,
    *,
    resume: bool = True,
    isolate: bool = False,
    verbose: int = 0,
) -> list[dict]:
    """Run every cell of ``specs``, writing the results file ``out`` after each one.

    Parameters
    ----------
    specs : iterable of dict
        The cells (see the module's documentation).
    out : path
        The JSON results file. Its cells that no spec repeats are always kept.
    resume : bool, default=True
        Reuse a finished cell of ``out`` that a spec repeats (:func:`same_cell`). ``False``
        reruns it and replaces its row.
    isolate : bool, default=False
        Run every cell in a fresh Python process, so that its peak memory is its own (and
        recorded); else in this process, each dataset read once.
    verbose : int, default=0
        The condensers' progress output (cells run in this process only).

    Returns
    -------
    list of dict
        The rows of ``specs``, reused or new, in their order.
    """
    rows = previous_cells(out)
    done = list(rows) if resume else []
    grid: list[dict] = []
    loaded: dict[tuple, tuple] = {}
    for spec in specs:
        reused = [row for row in done if same_cell(row, spec)]
        if reused:
            logger.info("skipping the finished cell %s", describe(reused[-1]))
            grid.append(reused[-1])
            continue
        if isolate:
            row = run_cell_in_subprocess(spec)
        else:
            key = (spec["dataset"], spec.get("data_root"))
            if key not in loaded:
                loaded[key] = load_dataset(*key)
            row = run_cell(spec, loaded[key], verbose=verbose)
        # the same fit scored before (under other protocols, or asked to rerun): replaced
        rows = [r for r in rows if not same_cell(r, spec, any_protocols=True)]
        rows.append(row)
        grid.append(row)
        logger.info("%s", describe(row))
        write_report(out, rows)
    return grid


def describe(row: dict) -> str:
    """One progress line for a finished cell."""
    peak = f"  peak {row['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in row else ""
    return (
        f"{row['dataset']} {row.get('label', row['method'])} ipc={row['ipc']} "
        f"seed={row['seed']}: {100 * row['acc_mean']:.2f} ± "
        f"{100 * row['acc_std']:.2f} %  fit {row['fit_time_s']:.1f} s  "
        f"eval {row['eval_time_s']:.1f} s{peak}"
    )


def ranked_rows(rows: list[dict]) -> list[dict]:
    """``rows`` with every smaller budget that a selection cell scored (its ``draws``) as a row
    of its own.

    A selection cell fit at the largest ipc scores each smaller ipc ``n`` as the first ``n``
    samples of every class of its ranking (``DatasetCondenser.sample(n)``: the set that a fit
    with ``ipc=n`` keeps). Such a row carries the cell's settings and fit time, and
    ``ranked_at_ipc``: the ipc the ranking was fit at. Generative draws (more samples than the
    fit's ipc, from a generator) stay inside their cells.
    """
    out = []
    for row in rows:
        out.append(row)
        if METHODS.get(row["method"]).learns_samples:
            continue
        for n, drawn in row.get("draws", {}).items():
            out.append(
                {
                    **{k: v for k, v in row.items() if k not in ("draws", "protocols")},
                    **drawn,  # with its own "protocols" and size
                    "ipc": int(n),
                    "ranked_at_ipc": row["ipc"],
                }
            )
    return out


def protocol_rows(rows: list[dict]) -> list[dict]:
    """One row per cell and protocol: the default evaluator's score as ``protocol="default"``,
    then each score of the cell's ``"protocols"`` as a row of its own, with its epochs and
    augmentation. A row that already names its ``protocol`` is kept as it is."""
    out = []
    for row in rows:
        if "protocol" in row:
            out.append(row)
            continue
        base = {k: v for k, v in row.items() if k not in ("protocols", "draws")}
        out.append({**base, "protocol": "default", "eval_augment": None})
        for name, scored in row.get("protocols", {}).items():
            out.append(
                {
                    **base,
                    "protocol": name,
                    "eval_augment": scored["augment"],
                    **{k: scored[k] for k in scored if k not in ("resolved", "augment")},
                }
            )
    return out


if __name__ == "__main__":
    print(json.dumps(run_cell(json.loads(sys.argv[1]), isolated=True)))
