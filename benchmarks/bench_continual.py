"""Benchmark: class-incremental learning with each method's sets as replay memory.

Runs :class:`condensekit.continual.ClassIncrementalBenchmark` (5 steps of 2 classes, ipc 10,
3 class orders by default) with every ``--methods`` entry under the named ``quick`` budget of
the dataset, keeps the run (per-step sets and ``cells.json``) in ``--work`` so an interrupted
run resumes, and writes every cell to ``--out`` (JSON, with the settings) and the accuracy
against classes seen to ``--figure`` (SVG); the table goes to stdout. Several runs of other
methods (two processes on two cores, say) are put together with ``--merge``, which writes the
cells of every file given (same settings) to ``--out`` without running anything.

Usage::

    python benchmarks/bench_continual.py --dataset digits \\
        --methods random herding dm ddm dc dcc generative \\
        --work /tmp/cl_digits --out benchmarks/results/continual_digits_ipc10_cpu.json \\
        --figure docs/figures/continual_digits_ipc10.svg
    python benchmarks/bench_continual.py --dataset mnist --methods random herding dm \\
        --n-models 1 --data-root ../shared/data --work /tmp/cl_mnist_a --out a.json
    python benchmarks/bench_continual.py --merge a.json b.json --out both.json --figure both.svg
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from condensekit import CondensedEvaluator, list_methods
from condensekit.benchmark import budget_settings, load_dataset, write_report
from condensekit.continual import ClassIncrementalBenchmark, ContinualResult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--methods", nargs="+", default=["random", "herding", "dm"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", default="quick", choices=["quick", "paper"])
    parser.add_argument("--n-models", type=int, default=5)
    parser.add_argument("--protocol", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--work", default=None, help="folder of the resumable run")
    parser.add_argument("--merge", nargs="+", default=None, help="JSON files to put together")
    parser.add_argument("--out", required=True)
    parser.add_argument("--figure", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        cells = [c for part in parts for c in part["cells"]]
        methods = {k: v for part in parts for k, v in part["settings"]["methods"].items()}
        settings = {**parts[0]["settings"], "methods": methods}
        if any(p["settings"]["run"] != settings["run"] for p in parts):
            raise SystemExit("--merge needs runs with the same settings (steps, ipc, orders...)")
    else:
        unknown = sorted(set(args.methods) - set(list_methods()))
        if unknown:
            raise SystemExit(f"unknown methods {unknown}; known: {list_methods()}")
        X, y, X_test, y_test = load_dataset(args.dataset, args.data_root)
        methods = {m: budget_settings(args.budget, m, args.dataset, args.ipc) for m in args.methods}
        bench = ClassIncrementalBenchmark(
            steps=args.steps,
            ipc=args.ipc,
            orders=args.orders,
            condenser_params={"device": args.device},
            evaluator=CondensedEvaluator(
                n_models=args.n_models, protocol=args.protocol, device=args.device
            ),
            random_state=args.seed,
            path=args.work,
        )
        result = bench.run(methods, X, y, X_test, y_test)
        cells = result.cells
        settings = {
            "dataset": args.dataset,
            "budget": args.budget,
            "methods": methods,
            "n_models": args.n_models,
            "protocol": args.protocol,
            "run": result.settings,
        }
    result = ContinualResult(cells, settings["run"])
    write_report(args.out, cells, settings=settings)
    if args.figure:
        run = settings["run"]
        result.plot(f"{settings['dataset']}: {run['steps']} steps, ipc {run['ipc']}").save(
            args.figure
        )
    print(result.to_markdown())
    total = {m: sum(c["fit_time_s"] for c in cells if c["method"] == m) for m in result.methods}
    print("condensation seconds per method (all orders and steps):", total)


if __name__ == "__main__":
    main()
