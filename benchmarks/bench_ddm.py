"""Benchmark: decomposed distribution matching (ddm) against dm, and each of its terms alone.

Variants, all with the same budget and seeds: ``dm``; ``ddm`` (style and diversity terms);
``style`` (ddm with ``diversity_weight=0``); ``diversity`` (ddm with ``style_weight=0``).
Every (dataset, variant, seed) cell condenses with the DM quick budget of bench_dm.py (400
iterations, 64 real images per class, ``lr_syn = ipc``, siamese augmentation) and is scored by
the default CondensedEvaluator (5 networks); the table gives the mean ± std over condensation
seeds of each seed's mean accuracy.

Usage::

    python benchmarks/bench_ddm.py                    # CIFAR-10 subset and MNIST, ipc 10
    python benchmarks/bench_ddm.py --datasets cifar10 --seeds 0 1 2 --device cuda
    python benchmarks/bench_ddm.py --set strategy__style_weight=3e3  # tune a setting of ddm
    python benchmarks/bench_ddm.py --datasets cifar10 --max-iter 200 --n-models 3  # CPU, ~2 h
    python benchmarks/bench_ddm.py ... --resume   # keep finished cells of --out, run the rest
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import FLIP, add_run_arguments, cell_spec, parse_set, run_cells
from bench_dm import dm_settings

VARIANTS = {
    "dm": ("dm", {}),
    "ddm": ("ddm", {}),
    "style": ("ddm", {"strategy__diversity_weight": 0}),
    "diversity": ("ddm", {"strategy__style_weight": 0}),
}


def summary(rows: list[dict]) -> str:
    """Markdown table: mean ± std over seeds of the per-seed mean accuracy.

    Cells are grouped by dataset, ipc, variant *and* settings and evaluator, so cells of
    another budget or ``--set`` in the same file are never averaged together; a variant with
    several such groups is listed once per group, marked ``#1``, ``#2``...
    """
    lines = [
        "| dataset | ipc | variant | accuracy % (mean ± std over seeds) | seeds | fit s (mean) |",
        "|---|---|---|---|---|---|",
    ]

    def settings_of(r: dict) -> str:
        kept = {k: v for k, v in r["settings"].items() if k not in ("ipc", "random_state")}
        return json.dumps([kept, len(r["accuracies"]), r.get("eval_epochs", 300)], sort_keys=True)

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["ipc"], r["label"], settings_of(r)), []).append(r)
    seen: dict[tuple, int] = {}
    for dataset, ipc, label, _ in sorted(groups):
        seen[(dataset, ipc, label)] = seen.get((dataset, ipc, label), 0) + 1
    counter: dict[tuple, int] = {}
    for key in sorted(groups):
        dataset, ipc, label, _ = key
        cell = groups[key]
        name = label
        if seen[(dataset, ipc, label)] > 1:
            counter[(dataset, ipc, label)] = counter.get((dataset, ipc, label), 0) + 1
            name = f"{label} #{counter[(dataset, ipc, label)]}"
        acc = 100 * np.array([r["acc_mean"] for r in cell])
        fit = np.mean([r["fit_time_s"] for r in cell])
        lines.append(
            f"| {dataset} | {ipc} | {name} | {acc.mean():.2f} ± {acc.std():.2f} | "
            f"{len(cell)} | {fit:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["cifar10", "mnist"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--budget", choices=["quick", "paper"], default="quick")
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="outer iterations of every variant (default: budget's)",
    )
    parser.add_argument(
        "--set", nargs="*", default=[], help="extra ddm settings, e.g. strategy__style_weight=3e3"
    )
    add_run_arguments(parser, out="benchmarks/results/ddm.json", seeds=[0, 1, 2])
    args = parser.parse_args(argv)
    extra = parse_set(args.set)

    def settings(dataset: str, label: str) -> dict:
        method, variant = VARIANTS[label]
        out = dm_settings(args.budget, dataset, args.ipc)
        out["augment__flip"] = FLIP[dataset]
        if args.max_iter is not None:
            out["max_iter"] = args.max_iter
        out |= variant
        return out | extra if method == "ddm" else out

    specs = (
        cell_spec(
            args, dataset, VARIANTS[label][0], args.ipc, seed, settings(dataset, label), label=label
        )
        for dataset in args.datasets
        for seed in args.seeds
        for label in args.variants
    )
    rows = run_cells(specs, args.out, args.resume)
    print(summary(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
