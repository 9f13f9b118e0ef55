"""``condensekit continual``: the class-incremental benchmark from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._cli_inputs import (
    CLIError,
    add_set_option,
    load_data,
    parse_method_settings,
    positive_int,
)
from ..benchmark import budget_settings, budgeted_datasets
from ..evaluation import CondensedEvaluator
from .benchmark import ClassIncrementalBenchmark

DESCRIPTION = (
    "Class-incremental learning with condensed sets as replay memory: the classes are split "
    "into --steps groups in --orders seeded orders; every step condenses its new classes into "
    "--ipc samples per class with each method and adds them to the memory, then fresh networks "
    "are trained on the memory and tested on every class seen. Writes OUT_DIR/cells.json after "
    "every cell (a rerun resumes), then results.md and accuracy.svg."
)


def add_parser(
    sub: Any,
    common: Callable[[argparse.ArgumentParser], None],
    methods: Sequence[str],
    protocols: Sequence[str],
    data_help: str,
) -> None:
    """Add the ``continual`` command to the subparsers ``sub`` of the ``condensekit`` parser."""
    p = sub.add_parser(
        "continual",
        help="class-incremental learning with each method's sets as memory (resumable)",
        description=DESCRIPTION,
    )
    p.add_argument("--data", required=True, help=data_help + "; its test part is the test data")
    p.add_argument("--methods", nargs="+", default=["random", "herding", "dm"], choices=methods)
    p.add_argument("--steps", type=positive_int, default=5, help="class groups (5)")
    p.add_argument("--ipc", type=positive_int, default=10, help="samples per class (10)")
    p.add_argument("--orders", type=positive_int, default=3, help="class orders (3)")
    p.add_argument(
        "--budget",
        choices=["auto", "quick", "paper", "default"],
        default="auto",
        help="named condensation settings (as for condense): auto is quick for a named dataset "
        "and default for a file",
    )
    p.add_argument("--seed", type=int, default=0, help="random_state of orders and fits (0)")
    p.add_argument("--n-models", type=positive_int, default=5, help="networks per step (5)")
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="epochs per network under the default protocol (300)",
    )
    p.add_argument(
        "--protocol",
        default="default",
        choices=list(protocols),
        help="how the memory is scored (the papers train on it with dsa, 1000 epochs)",
    )
    add_set_option(p, per_method=True)
    p.add_argument("--out-dir", default="continual_results", help="where results go")
    common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the arguments describe; print the per-step table."""
    X, y = load_data(args.data, args.data_root)
    X_test, y_test = load_data(args.data, args.data_root, test=True)
    budget = args.budget
    if budget == "auto":
        budget = "quick" if args.data in budgeted_datasets() else "default"
    if budget != "default" and args.data not in budgeted_datasets(budget):
        raise CLIError(
            f"--budget {args.budget} is defined for {budgeted_datasets(budget)}; for other data "
            "use --budget default and --set"
        )
    overrides = parse_method_settings(args.set)
    unknown = sorted(set(overrides) - {"*", *args.methods})
    if unknown:
        raise CLIError(f"--set names methods {unknown} that --methods does not run")
    methods = {
        m: {
            **({} if budget == "default" else budget_settings(budget, m, args.data, args.ipc)),
            **overrides["*"],
            **overrides.get(m, {}),
        }
        for m in args.methods
    }
    evaluator = CondensedEvaluator(
        n_models=args.n_models,
        epochs="auto" if args.epochs is None else args.epochs,
        protocol=args.protocol,
        device=args.device,
    )
    bench = ClassIncrementalBenchmark(
        steps=args.steps,
        ipc=args.ipc,
        orders=args.orders,
        condenser_params={"device": args.device},
        evaluator=evaluator,
        random_state=args.seed,
        path=args.out_dir,
        verbose=0 if args.quiet else 1,
    )
    result = bench.run(methods, X, y, X_test, y_test)
    out = Path(args.out_dir)
    table = result.to_markdown()
    (out / "results.md").write_text(table + "\n", encoding="utf-8")
    result.plot(f"{args.data}: {args.steps} steps, ipc {args.ipc}").save(out / "accuracy.svg")
    print(table)
    print(f"wrote {out / 'cells.json'}, results.md and accuracy.svg")
    return 0
