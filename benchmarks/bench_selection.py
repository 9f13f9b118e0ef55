"""Benchmark: selection baselines (random, herding, k-center, EL2N, GraNd, forgetting) beside DM.

Every (dataset, ipc, method, seed) cell selects (or condenses) with the budget's settings and is
scored by the default CondensedEvaluator (5 ConvNets, 300 epochs), so the rows are comparable
with each other and with bench_dm.py. The table gives mean ± std over the evaluation networks
(one seed) or over seeds' means (several seeds).

Budgets of the selectors' helper networks:

* ``quick``: the library defaults on digits; on MNIST and the CIFAR-10 subset fewer epochs and
  networks, so a cell's helper training fits a few minutes of a 2-core CPU.
* ``paper``: the library defaults everywhere (herding/k-center features from 20 epochs, EL2N and
  GraNd over 5 networks at epoch 10, forgetting over 20 epochs).

DM uses bench_dm.py's settings of the same budget.

Usage::

    python benchmarks/bench_selection.py --datasets digits                 # ipc 1, 10, 50
    python benchmarks/bench_selection.py --datasets cifar10 --ipc 10 --data-root ../shared/data
    python benchmarks/bench_selection.py ... --resume   # keep finished cells of --out
"""

from __future__ import annotations

import argparse

from _common import add_run_arguments, cell_spec, run_cells, write_report

from condensekit.benchmark import budget_settings, markdown_table

METHODS = ["random", "herding", "kcenter", "el2n", "grand", "forgetting", "dm"]


def settings_for(budget: str, dataset: str, method: str, ipc: int) -> dict:
    """Condenser keyword arguments of one cell (the package's named budgets)."""
    return budget_settings(budget, method, dataset, ipc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument("--ipc", nargs="+", type=int, default=[1, 10, 50])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--budget", choices=["quick", "paper"], default="quick")
    add_run_arguments(parser, out="benchmarks/results/selection.json")
    args = parser.parse_args(argv)

    specs = (
        cell_spec(args, dataset, method, ipc, seed, settings_for(args.budget, dataset, method, ipc))
        for dataset in args.datasets
        for ipc in args.ipc
        for seed in args.seeds
        for method in args.methods
    )
    rows = run_cells(specs, args.out, args.resume)
    print(markdown_table(rows))
    write_report(args.out, rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
