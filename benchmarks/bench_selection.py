"""Benchmark: selection baselines (random, herding, k-center, EL2N, GraNd, forgetting) beside DM.

Every (dataset, ipc, method, seed) cell selects (or condenses) with the budget's settings and is
scored by the default CondensedEvaluator (5 ConvNets, 300 epochs), so the rows are comparable
with each other and with bench_dm.py. The table gives mean ± std over the evaluation networks
(one seed) or over seeds' means (several seeds).

Budgets of the selectors' helper networks:

* ``quick``: the library defaults on digits; on MNIST and the CIFAR-10 subset lighter helpers
  (condensekit.benchmark's ``_SELECTION_QUICK_*``: herding/k-center features from 5 and 1
  epochs, EL2N over 2 networks at epoch 10 and 2, GraNd at initialisation over 3 and 2
  networks, forgetting over runs of 10 and 4 epochs), minutes of a 2-core CPU per helper.
* ``paper``: the library defaults everywhere (herding/k-center features from 20 epochs, EL2N
  over 5 networks at epoch 20 with lr 0.05 and DSA augmentation, GraNd over 10 networks at
  initialisation, forgetting over a 20-epoch run). EL2N, GraNd and forgetting keep the median
  window of their ranking by default (``strategy__order="middle"``).

Every selection cell records ``helper_cost`` (networks, epochs, seconds of helper training).

DM uses bench_dm.py's settings of the same budget.

Scores and rankings do not depend on the budget, so every selection is fit once per dataset and
seed, at the largest ``--ipc``, and each smaller ipc ``n`` is scored as the first ``n`` samples
of every class of that ranking (``DatasetCondenser.sample(n)``; the set that a fit with
``ipc=n`` keeps, which the tests check). The JSON keeps them in that cell's ``draws``; the
table lists them as rows of their own. ``--fit-each-ipc`` fits every ipc on its own instead;
random, which trains nothing, always does.

Usage::

    python benchmarks/bench_selection.py --datasets digits                 # ipc 1, 10, 50
    python benchmarks/bench_selection.py --datasets cifar10 --ipc 10 --data-root ../shared/data
    python benchmarks/bench_selection.py ... --resume   # keep finished cells of --out
    python benchmarks/bench_selection.py --datasets mnist --ipc 1 10 50 --data-root ../shared/data
    python benchmarks/bench_selection.py --methods el2n --set strategy__offset=0.5  # el2n_offset0.5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import add_run_arguments, cell_spec, parse_set, ranked_rows, run_cells

from condensekit.benchmark import budget_settings, markdown_table
from condensekit.methods import METHODS as REGISTRY

METHODS = ["random", "herding", "kcenter", "el2n", "grand", "forgetting", "dm"]


def settings_for(budget: str, dataset: str, method: str, ipc: int) -> dict:
    """Condenser keyword arguments of one cell (the package's named budgets)."""
    return budget_settings(budget, method, dataset, ipc)


def label_table(rows: list[dict]) -> str:
    """Markdown table of labelled cells (``el2n_orderspread``...): mean ± std over seeds (the
    population std, as in the glance table) of each ipc under each protocol scored, with the
    mean fit seconds (a selection's fit is its helpers' training and scoring; ``helper_cost``
    in the JSON splits out networks and epochs). Superseded cells are left out."""
    import statistics

    scores: dict[tuple, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for row in ranked_rows([r for r in rows if not r.get("superseded")]):
        key = (row["dataset"], row.get("label", row["method"]))
        scores.setdefault((*key, row["ipc"], "default"), []).append(100 * row["acc_mean"])
        for name, scored in row.get("protocols", {}).items():
            scores.setdefault((*key, row["ipc"], name), []).append(100 * scored["acc_mean"])
        if "ranked_at_ipc" not in row:
            seconds.setdefault(key, []).append(row["fit_time_s"])
    columns = sorted({(k[2], k[3]) for k in scores}, key=lambda c: (c[0], c[1] != "default", c[1]))
    lines = [
        "| dataset | selection | "
        + " | ".join(f"ipc {ipc} {protocol}" for ipc, protocol in columns)
        + " | fit s |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]

    def cell(values: list[float]) -> str:
        if not values:
            return "-"
        if len(values) == 1:
            return f"{values[0]:.2f} (1 seed)"
        text = f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}"
        return text + ("" if len(values) == 3 else f" ({len(values)} seeds)")

    for key in sorted(seconds):
        entries = [cell(scores.get((*key, ipc, protocol), [])) for ipc, protocol in columns]
        lines.append(
            f"| {key[0]} | {key[1]} | "
            + " | ".join(entries)
            + f" | {statistics.mean(seconds[key]):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument("--ipc", nargs="+", type=int, default=[1, 10, 50])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--budget", choices=["quick", "paper"], default="quick")
    add_run_arguments(parser, out="benchmarks/results/selection.json")
    parser.add_argument(
        "--fit-each-ipc",
        action="store_true",
        help="fit every selection at every ipc, instead of once at the largest ipc",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="extra settings of every method, e.g. strategy__offset=0.5; the cells are labelled "
        "with them (el2n_offset0.5)",
    )
    parser.add_argument(
        "--report",
        nargs="+",
        default=None,
        help="print the table by label (orders...) of these JSON files, under every protocol",
    )
    args = parser.parse_args(argv)
    if args.report:
        rows = [row for path in args.report for row in json.loads(Path(path).read_text())["cells"]]
        print(label_table(rows))
        return
    extra = parse_set(args.set)
    suffix = "".join(f"_{k.removeprefix('strategy__')}{v}" for k, v in extra.items())

    def spec(dataset: str, method: str, ipc: int, seed: int, **more) -> dict:
        settings = settings_for(args.budget, dataset, method, ipc) | extra
        label = {"label": method + suffix} if suffix else {}
        return cell_spec(args, dataset, method, ipc, seed, settings, **label, **more)

    def specs_of(dataset: str, method: str, seed: int):
        ipcs = sorted(set(args.ipc))
        ranked = not REGISTRY.get(method).learns_samples and method != "random"  # free to fit
        if args.fit_each_ipc or not ranked or len(ipcs) == 1:
            return (spec(dataset, method, n, seed) for n in ipcs)
        return [spec(dataset, method, ipcs[-1], seed, draws=ipcs[:-1])]

    specs = (
        spec
        for dataset in args.datasets
        for seed in args.seeds
        for method in args.methods
        for spec in specs_of(dataset, method, seed)
    )
    rows = run_cells(specs, args.out, args.resume)
    print(markdown_table(ranked_rows(rows)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
