"""Shared pieces of the benchmark scripts: real datasets, one cell in its own process, tables.

A cell is one condensation (dataset x method x ipc x settings x seed) followed by the default
:class:`condensekit.CondensedEvaluator`. Each cell runs in a fresh process so that its peak
memory is its own: ``python benchmarks/_common.py '<json spec>'`` prints the cell's JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: No horizontal flips for digit datasets (DESIGN.md, DSA).
FLIP = {
    "digits": False,
    "mnist": False,
    "cifar10": True,
    "mnist_on_cifar": False,
    "cifar10_quadrupeds": True,
}
#: CIFAR-10 classes of the fine-grained benchmark: the four four-legged mammals.
QUADRUPEDS = ("cat", "deer", "dog", "horse")


def cifar10_quadrupeds(data_root: str | None):
    """The fine-grained benchmark: the CIFAR-10 subset's cat, deer, dog and horse images.

    The DCC paper's evidence for contrastive matching is fine-grained ImageNet groups, whose
    classes share most of their appearance and their backgrounds. Of the CIFAR-10 classes, the
    four-legged mammals are the closest to that: similar bodies and fur, the same grass, fields
    and rooms behind them, and cat/dog is the pair that CIFAR-10 classifiers confuse most.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        uint8 images ``(n, 32, 32, 3)`` (about 2,000 train and 400 test) and labels 0..3 in the
        order of :data:`QUADRUPEDS`.
    """
    from condensekit.data import load_cifar10_subset

    X_train, y_train, X_test, y_test, names = load_cifar10_subset(data_root)
    new_label = {list(names).index(name): k for k, name in enumerate(QUADRUPEDS)}
    out = []
    for X, y in ((X_train, y_train), (X_test, y_test)):
        keep = np.isin(y, list(new_label))
        out += [X[keep], np.array([new_label[int(v)] for v in y[keep]], dtype=np.int64)]
    return tuple(out)


def mnist_on_cifar(data_root: str | None, seed: int = 0, n_train: int = 5000, alpha: float = 0.5):
    """MNIST digits drawn over CIFAR-10 photographs: task-irrelevant features dominate.

    Every 28x28 digit is blended (opacity ``alpha``, white strokes) at a random offset into a
    32x32 colour background cut from the CIFAR-10 subset. The background is drawn independently
    of the digit's label, so it carries no class information, but it holds most of the pixel
    variance. Training images use CIFAR training photographs, test images the CIFAR test
    photographs, so no background is shared between the splits.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        uint8 images ``(n, 32, 32, 3)`` and int64 digit labels; ``n_train`` balanced training
        images (``n_train // 10`` per class) and 1,000 test images (100 per class).
    """
    from condensekit.data import load_cifar10_subset, load_mnist

    rng = np.random.default_rng(seed)
    bg_train, _, bg_test, _, _ = load_cifar10_subset(data_root)
    out = []
    for (digits, labels), backgrounds, n in (
        (load_mnist(data_root, train=True), bg_train, n_train),
        (load_mnist(data_root, train=False), bg_test, 1000),
    ):
        rows = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), n // 10, replace=False) for c in range(10)]
        )
        rows = rng.permutation(rows)
        many = len(rows) > len(backgrounds)
        images = backgrounds[rng.choice(len(backgrounds), len(rows), replace=many)]
        images = images.astype(np.float32)
        offsets = rng.integers(0, 5, size=(len(rows), 2))
        for i, (row, (dy, dx)) in enumerate(zip(rows, offsets)):
            mask = alpha * digits[row].astype(np.float32)[..., None] / 255.0
            patch = images[i, dy : dy + 28, dx : dx + 28]
            images[i, dy : dy + 28, dx : dx + 28] = patch * (1 - mask) + 255.0 * mask
        out += [np.round(images).astype(np.uint8), labels[rows].astype(np.int64)]
    return tuple(out)


def load(dataset: str, data_root: str | None = None):
    """(X_train, y_train, X_test, y_test) of a benchmark dataset."""
    from condensekit.data import load_cifar10_subset, load_digits_split, load_mnist

    if dataset == "digits":
        X_train, X_test, y_train, y_test = load_digits_split(test_size=0.3, random_state=0)
        return X_train, y_train, X_test, y_test
    if dataset == "mnist":
        return (*load_mnist(data_root, train=True), *load_mnist(data_root, train=False))
    if dataset == "cifar10":
        return load_cifar10_subset(data_root)[:4]
    if dataset == "mnist_on_cifar":
        return mnist_on_cifar(data_root)
    if dataset == "cifar10_quadrupeds":
        return cifar10_quadrupeds(data_root)
    raise ValueError(f"unknown dataset {dataset!r}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_protocols(
    spec: dict, cond: Any, res: Any, X_test: Any, y_test: Any, n_per_class: int | None = None
) -> dict:
    """Scores of ``cond`` (its first ``n_per_class`` of every class) under each of
    ``spec["protocols"]``, by the name asked for; ``res`` is its default evaluation, reused where
    a protocol trains exactly as the default evaluator does."""
    from condensekit import CondensedEvaluator
    from condensekit.evaluation.protocols import resolve_protocol

    out = {}
    layout = cond.input_layout_
    channels = layout.internal_shape[0] if layout.is_image else None
    for name in spec["protocols"]:
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


def run_cell(spec: dict) -> dict:
    """Condense and evaluate one cell in this process.

    ``spec`` holds ``dataset``, ``method``, ``ipc``, ``settings`` (condenser keyword arguments),
    ``seed``, ``n_models``, ``device``, ``data_root``, an optional ``budget`` label, optional
    ``draws``: numbers per class to draw from a fitted generative condenser and score too (with
    the same evaluator), reported under ``"draws"``, and optional ``protocols``: further
    evaluation protocols (``CondensedEvaluator(protocol=...)``: ``"paper"``, ``"dc"``,
    ``"dsa"``...) under which the same set is scored too, reported under ``"protocols"`` by the
    name asked for, with the protocol it resolved to. The main score (``acc_mean``...) is always
    the default evaluator's.
    """
    import torch

    from condensekit import CondensedEvaluator, DatasetCondenser

    X_train, y_train, X_test, y_test = load(spec["dataset"], spec.get("data_root"))
    params = {
        "ipc": spec["ipc"],
        "random_state": spec["seed"],
        "device": spec.get("device", "auto"),
        "verbose": 0,
        **spec.get("settings", {}),
    }
    cond = DatasetCondenser(spec["method"], **params).fit(X_train, y_train)
    evaluator = CondensedEvaluator(
        n_models=spec.get("n_models", 5), random_state=spec["seed"], device=params["device"]
    )
    res = evaluator.evaluate(cond, X_test, y_test)
    out = {
        "dataset": spec["dataset"],
        "method": spec["method"],
        "label": spec.get("label", spec["method"]),
        "ipc": spec["ipc"],
        "budget": spec.get("budget", "-") if spec["method"] != "random" else "-",
        "settings": {k: v for k, v in params.items() if k != "verbose"},
        "seed": spec["seed"],
        "acc_mean": res.mean,
        "acc_std": res.std,
        "accuracies": res.accuracies,
        "eval_epochs": res.epochs,
        "fit_time_s": cond.fit_time_,
        "eval_time_s": res.time,
        "n_iter": cond.n_iter_,
        "peak_rss_mib": peak_rss_mib(),
        "device": cond.device_,
    }
    if spec.get("protocols"):
        out["protocols"] = score_protocols(spec, cond, res, X_test, y_test)
    if spec.get("draws"):
        out["draws"] = {}
        ranked = not cond.method_.learns_samples
        for n in spec["draws"]:
            drawn = evaluator.evaluate(cond, X_test, y_test, n_per_class=n)
            out["draws"][str(n)] = {
                "acc_mean": drawn.mean,
                "acc_std": drawn.std,
                "accuracies": drawn.accuracies,
                "eval_time_s": drawn.time,
            }
            if ranked and spec.get("protocols"):  # a selection's smaller budget: a set of its own
                out["draws"][str(n)]["protocols"] = score_protocols(
                    spec, cond, drawn, X_test, y_test, n_per_class=n
                )
    if hasattr(cond, "condensed_size_"):
        out["condensed_size"] = cond.condensed_size_
    if getattr(cond, "helper_cost_", None) is not None:
        out["helper_cost"] = cond.helper_cost_
    if torch.cuda.is_available() and cond.device_.startswith("cuda"):
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def run_cell_in_subprocess(spec: dict) -> dict:
    """:func:`run_cell` in a fresh Python process (its own peak memory); returns its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cell {spec} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_report(out: str | Path, cells: list[dict], **extra) -> None:
    """Write the cells so far (and any ``extra`` sections) as JSON to ``out``.

    Scripts call it after every cell, so an interrupted run keeps what it finished. A section
    already in ``out`` that this call does not give (``None`` counts as not given), such as a
    ``note`` (a person's remark on how its cells ran) or a speed measurement a ``--no-speed``
    run skipped, is kept while every cell it was written beside is still there, as in a
    ``--resume`` run; a run that drops those cells drops it.
    """
    path = Path(out)
    extra = {key: value for key, value in extra.items() if value is not None}
    if path.exists():
        old = json.loads(path.read_text())
        if all(cell in cells for cell in old["cells"]):
            for key, value in old.items():
                if key not in ("cells", "machine") and key not in extra:
                    extra[key] = value
    report = {
        "cells": cells,
        **extra,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def previous_cells(out: str | Path) -> list[dict]:
    """The cells already written to ``out`` (empty if there is no such file), for ``--resume``."""
    path = Path(out)
    if not path.exists():
        return []
    return json.loads(path.read_text())["cells"]


def _device_type(device: str) -> str:
    """``"cpu"`` or ``"cuda"``: where ``device`` (``"auto"`` included) runs on this machine."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device).type


def same_cell(row: dict, spec: dict, *, any_protocols: bool = False) -> bool:
    """Whether a finished ``row`` is the cell that ``spec`` would run (same data, method, label,
    ipc, seed, evaluator, extra draw sizes, every setting, and the kind of device it actually
    ran on) and was scored under at least the protocols ``spec`` asks for (with
    ``any_protocols``, whatever they were: the same fit, to be replaced by a rerun)."""
    from condensekit.methods import METHODS

    keys = ("dataset", "method", "ipc", "seed")
    if any(row[k] != spec[k] for k in keys):
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
    return settings == wanted


def run_or_reuse(spec: dict, done: list[dict]) -> tuple[dict, bool]:
    """Return ``(row, reused)``: a finished cell of ``done`` matching ``spec``, or a fresh run."""
    for row in done:
        if same_cell(row, spec):
            return row, True
    return run_cell_in_subprocess(spec), False


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
        help="keep the cells already in --out and skip the ones this run would repeat",
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


def cell_spec(
    args: argparse.Namespace,
    dataset: str,
    method: str,
    ipc: int,
    seed: int,
    settings: dict,
    **extra,
) -> dict:
    """The spec of one cell (see :func:`run_cell`) with the shared options of ``args``."""
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


def cell_protocols(protocols: Sequence[str], method: str, methods: Sequence[str]) -> list[str]:
    """The extra protocols one cell is scored under: as asked, except that a selection asked
    for ``"paper"`` gets the resolved paper protocol of every synthesis method of ``methods``
    (of every registered one when the script has no method list)."""
    from condensekit import list_methods
    from condensekit.benchmark import resolve_cell_protocols

    if not protocols:
        return []
    methods = list(methods) or list_methods()
    return [p for p in resolve_cell_protocols(protocols, method, methods) if p != "default"]


def run_cells(specs: Iterable[dict], out: str | Path, resume: bool) -> list[dict]:
    """Run every cell of ``specs`` (each in its own process), writing ``out`` after each one.

    With ``resume`` the cells already in ``out`` are kept, and a spec that matches one of them
    (:func:`same_cell`) is skipped. Returns all the cells, kept and new.
    """
    done = previous_cells(out) if resume else []
    rows = list(done)
    for spec in specs:
        row, reused = run_or_reuse(spec, done)
        if reused:
            continue
        # a rerun asked for protocols the kept row lacks: the new row replaces it
        rows = [r for r in rows if not same_cell(r, spec, any_protocols=True)]
        rows.append(row)
        print(describe(row), flush=True)
        write_report(out, rows)
    return rows


def describe(row: dict) -> str:
    """One progress line for a finished cell."""
    return (
        f"{row['dataset']} {row.get('label', row['method'])} ipc={row['ipc']} "
        f"seed={row['seed']}: {100 * row['acc_mean']:.2f} ± "
        f"{100 * row['acc_std']:.2f} %  fit {row['fit_time_s']:.1f} s  "
        f"eval {row['eval_time_s']:.1f} s  peak {row['peak_rss_mib']:.0f} MiB"
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
    from condensekit.methods import METHODS

    out = []
    for row in rows:
        out.append(row)
        if METHODS.get(row["method"]).learns_samples:
            continue
        for n, drawn in row.get("draws", {}).items():
            out.append(
                {
                    **{k: v for k, v in row.items() if k not in ("draws", "protocols")},
                    **drawn,  # with its own "protocols" where they were scored
                    "ipc": int(n),
                    "ranked_at_ipc": row["ipc"],
                }
            )
    return out


def table(rows: list[dict]) -> str:
    """Markdown table of finished cells."""
    lines = [
        "| dataset | method | ipc | budget | accuracy % (mean ± std) | fit s | peak MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r.get('label', r['method'])} | {r['ipc']} | {r['budget']} | "
            f"{100 * r['acc_mean']:.2f} ± {100 * r['acc_std']:.2f} | {r['fit_time_s']:.1f} | "
            f"{r['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(run_cell(json.loads(sys.argv[1]))))
