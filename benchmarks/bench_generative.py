"""Benchmark: condensation into a generative model against dm and random, with its ablations.

Rows, all with the same evaluator (default CondensedEvaluator, ``--n-models`` networks) and the
same seeds:

* ``random``: ``ipc`` random real samples per class;
* ``dm``: distribution matching with the DM quick budget of bench_dm.py;
* ``generative``: the generator trained with the same number of iterations and real images per
  iteration as ``dm``, scored on its ``ipc``-per-class set (``transform()``) and on draws of
  ``--draws`` samples per class from the same fitted generator (the variants named by
  ``--draw-variants``; by default only this one);
* ``no_intra``, ``no_inter``, ``neither``: the generator without the intra-class term, without
  the inter-class term, and without both (DM loss alone);
* ``bank``: the user guide's recipe for drawing ``n`` per class, with ``n`` the largest of
  ``--draws``: ``strategy__n_codes=n`` trained codes per class and ``strategy__fresh_per_class=
  n - ipc``, so that every code of the ``n``-per-class draw is trained (add it to
  ``--draw-variants`` to score that draw).

The table gives mean ± std over condensation seeds of each seed's mean accuracy, and the size
of the condensed artefact (learned values) beside that of the pixel set.

Usage::

    python benchmarks/bench_generative.py --datasets digits            # CPU, ~25 min
    python benchmarks/bench_generative.py ... --resume   # keep the finished cells of --out
    python benchmarks/bench_generative.py --datasets mnist cifar10 --device cuda \
        --data-root ../shared/data
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import FLIP, add_run_arguments, cell_spec, parse_set, run_cells
from bench_dm import BUDGETS as DM_BUDGETS
from bench_dm import dm_settings

VARIANTS = {
    "random": ("random", {}),
    "dm": ("dm", {}),
    "generative": ("generative", {}),
    "no_intra": ("generative", {"strategy__intra_weight": 0}),
    "no_inter": ("generative", {"strategy__inter_weight": 0}),
    "neither": ("generative", {"strategy__intra_weight": 0, "strategy__inter_weight": 0}),
    "bank": ("generative", {}),  # sized from --ipc and --draws by bank_settings
}


def bank_settings(ipc: int, draws: list[int]) -> dict:
    """The ``bank`` variant: trained codes for the largest draw, all of them trained as fresh."""
    n = max([ipc, *draws])
    if n == ipc:  # nothing larger to draw: the defaults
        return {}
    return {"strategy__n_codes": n, "strategy__fresh_per_class": n - ipc}


def generative_settings(budget: str, dataset: str) -> dict:
    """The DM budget's iterations and real batch; the generator's own learning rate."""
    dm = DM_BUDGETS[budget][dataset]
    return {"max_iter": dm["max_iter"], "strategy__batch_real": dm["strategy__batch_real"]}


def summary(rows: list[dict]) -> str:
    """Markdown table: mean ± std over seeds of the per-seed mean accuracy, per draw size
    (with a single seed, ± the std over the evaluator's networks, marked with *)."""
    lines = [
        "| dataset | ipc | variant | drawn per class | accuracy % (mean ± std over seeds) "
        "| seeds | learned values | pixel-set values | fit s (mean) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["dataset"], r["ipc"], r["label"]) for r in rows}, key=str)
    for dataset, ipc, label in keys:
        cell = [r for r in rows if (r["dataset"], r["ipc"], r["label"]) == (dataset, ipc, label)]
        size = cell[0].get("condensed_size", {})
        fit = np.mean([r["fit_time_s"] for r in cell])
        draws = [(str(ipc), [r["acc_mean"] for r in cell], [r["acc_std"] for r in cell])]
        for n in cell[0].get("draws", {}):
            draws.append(
                (
                    n,
                    [r["draws"][n]["acc_mean"] for r in cell],
                    [r["draws"][n]["acc_std"] for r in cell],
                )
            )
        for n, accs, stds in draws:
            acc = 100 * np.array(accs)
            # one seed: the spread over the evaluator's networks instead (marked with *)
            spread = f"{acc.std():.2f}" if len(cell) > 1 else f"{100 * stds[0]:.2f}*"
            lines.append(
                f"| {dataset} | {ipc} | {label} | {n} | {acc.mean():.2f} ± {spread} | "
                f"{len(cell)} | {size.get('values', '-')} | {size.get('pixel_values', '-')} | "
                f"{fit:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "cifar10"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--draws", nargs="*", type=int, default=[50])
    parser.add_argument("--budget", choices=sorted(DM_BUDGETS), default="quick")
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="outer iterations of dm and every generative variant (default: the budget's)",
    )
    parser.add_argument(
        "--draw-variants",
        nargs="*",
        default=["generative"],
        choices=[k for k, (m, _) in VARIANTS.items() if m == "generative"],
        help="generative variants also scored on the --draws sizes",
    )
    parser.add_argument(
        "--set", nargs="*", default=[], help="extra generative settings, e.g. strategy__lr_syn=3e-3"
    )
    add_run_arguments(parser, out="benchmarks/results/generative.json", seeds=[0, 1, 2])
    args = parser.parse_args(argv)
    extra = parse_set(args.set)

    def settings(dataset: str, label: str) -> dict:
        method, variant = VARIANTS[label]
        if method == "random":
            return {}
        if method == "dm":
            out = dm_settings(args.budget, dataset, args.ipc)
        else:
            out = generative_settings(args.budget, dataset) | extra
        out["augment__flip"] = FLIP[dataset]
        if args.max_iter is not None:
            out["max_iter"] = args.max_iter
        if label == "bank":
            variant = bank_settings(args.ipc, args.draws)
        return out | variant

    specs = (
        cell_spec(
            args,
            dataset,
            VARIANTS[label][0],
            args.ipc,
            seed,
            settings(dataset, label),
            label=label,
            draws=args.draws if label in args.draw_variants else [],
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
