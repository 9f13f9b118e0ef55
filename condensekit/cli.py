"""The ``condensekit`` console command: condense, evaluate, show, export,
benchmark and continual.

Examples
--------
::

    condensekit condense --data digits --method dm --ipc 10 --output digits_dm.npz
    condensekit evaluate digits_dm.npz --test digits
    condensekit show digits_dm.npz --output digits_dm.png
    condensekit benchmark --datasets digits --methods random herding dm --ipc 1 10 \\
        --out-dir results/
    condensekit continual --data mnist --methods random herding dm --steps 5 --ipc 10
    condensekit export digits_dm.npz --format imagefolder -o digits_dm_pngs/

Errors are one line on stderr and a non-zero exit status (2 for bad arguments, 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch.distributed as dist

from ._cli_inputs import (
    DATA_HELP,
    INPUT_SHAPE_HELP,
    CLIError,
    add_set_option,
    check_writable,
    image_shape,
    load_data,
    parse_method_settings,
    parse_settings,
    positive_int,
)
from ._validation import InvalidParameterError
from ._version import __version__
from .benchmark import (
    budget_settings,
    budgeted_datasets,
    markdown_table,
    run_benchmark,
)
from .condenser import DatasetCondenser
from .continual.cli import add_parser as add_continual_parser
from .distributed import init_from_environment, is_main_process
from .evaluation import CondensedEvaluator
from .evaluation.protocols import PROTOCOLS
from .export import add_parser as add_export_parser
from .io import CondensedFileError, load_condensed
from .methods import list_methods
from .plotting import image_grid


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``condensekit <command>: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cmd_condense(args: argparse.Namespace) -> int:

    npz = args.output if args.output.endswith(".npz") else args.output + ".npz"
    check_writable(npz, "--output")
    check_writable(args.grid, "--grid")
    X, y = load_data(args.data, args.data_root)
    if args.grid and not args.input_shape and np.ndim(X) == 2:
        raise CLIError(
            f"--grid draws images, but {args.data} holds rows of features; add --input-shape "
            "H,W (or C,H,W) to read them as images"
        )
    settings: dict[str, Any] = {}
    budget = args.budget
    if budget == "auto":
        budget = "quick" if args.data in budgeted_datasets() else "default"
    if budget != "default":
        if args.data not in budgeted_datasets(budget):
            raise CLIError(
                f"--budget {args.budget} is defined for {budgeted_datasets(budget)}; for other "
                "data use --budget default and --max-iter/--set"
            )
        settings = budget_settings(budget, args.method, args.data, args.ipc)
    if args.max_iter is not None:
        settings["max_iter"] = args.max_iter
    settings.update(parse_settings(args.set))
    created = init_from_environment()  # under torchrun: one fit across its processes
    try:
        cond = DatasetCondenser(
            args.method,
            ipc=args.ipc,
            device=args.device,
            random_state=args.seed,
            input_shape=args.input_shape,
            verbose=0 if args.quiet else 1,
            **settings,
        ).fit(X, y)
        main_rank = is_main_process()
    finally:
        if created:
            dist.destroy_process_group()
    if not main_rank:
        return 0  # rank 0 writes the files and reports
    written = cond.save(args.output)
    print(
        f"condensed {len(y)} samples into {len(cond.y_syn_)} with {args.method} in "
        f"{cond.fit_time_:.1f} s; wrote {written}"
    )
    if args.grid:
        image_grid(cond).save(args.grid)
        print(f"wrote {args.grid}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:

    check_writable(args.json, "--json")
    condensed = load_condensed(args.set_file)
    X_test, y_test = load_data(args.test, args.data_root, test=True)
    res = CondensedEvaluator(
        n_models=args.n_models,
        epochs="auto" if args.epochs is None else args.epochs,
        device=args.device,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        protocol=args.protocol,
    ).evaluate(condensed, X_test, y_test, n_per_class=args.n_per_class)
    drawn = "" if args.n_per_class is None else f", {args.n_per_class} sampled per class"
    protocol = "" if res.protocol == "default" else f", protocol {res.protocol}"
    print(
        f"{args.set_file}: {100 * res.mean:.2f} ± {100 * res.std:.2f} % test accuracy "
        f"({args.n_models} networks, {res.epochs} epochs{protocol}{drawn}, {res.time:.1f} s)"
    )
    if args.json:
        report = {
            "file": args.set_file,
            "method": condensed.method,
            "ipc": condensed.ipc,
            "test": args.test,
            "acc_mean": res.mean,
            "acc_std": res.std,
            "accuracies": res.accuracies,
            "epochs": res.epochs,
            "protocol": res.protocol,
            "augment": res.augment,
            "n_models": args.n_models,
            "seed": args.seed,
            "n_per_class": args.n_per_class,
        }
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:

    check_writable(args.output, "--output")
    condensed = load_condensed(args.set_file)
    grid = image_grid(
        condensed, n_per_class=args.per_class, zoom=args.zoom, input_shape=args.input_shape
    )
    grid.save(args.output)
    print(f"wrote {args.output} ({len(grid.classes)} classes)")
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    overrides = parse_method_settings(args.set)
    unknown = sorted(set(overrides) - {"*", *args.methods})
    if unknown:
        raise CLIError(f"--set names methods {unknown} that --methods does not run")
    rows = run_benchmark(
        args.datasets,
        args.methods,
        args.ipc,
        budget=args.budget,
        seeds=args.seeds,
        n_models=args.n_models,
        epochs=args.epochs,
        protocols=args.protocol,
        overrides=overrides,
        device=args.device,
        data_root=args.data_root,
        out_dir=args.out_dir,
        resume=not args.no_resume,
        verbose=0 if args.quiet else 1,
    )
    print(markdown_table(rows))
    print(f"wrote {Path(args.out_dir) / 'results.json'}, results.md and accuracy_<dataset>.svg")
    return 0


def _protocol_names() -> list[str]:

    return ["default", "paper", *PROTOCOLS.names()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``condensekit`` command."""

    parser = _Parser(
        prog="condensekit",
        description="Dataset condensation: turn a labelled dataset into a few synthetic samples "
        "per class, evaluate them, look at them, and benchmark methods.",
    )
    parser.add_argument("--version", action="version", version=f"condensekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    methods = list_methods()

    def common(p: argparse.ArgumentParser, data_root: bool = True) -> None:
        p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        if data_root:
            p.add_argument(
                "--data-root",
                default=None,
                help="folder with MNIST and the CIFAR-10 subset (default: $CONDENSEKIT_DATA, "
                "else ~/condensekit_data or shared/data beside the checkout)",
            )

    p = sub.add_parser(
        "condense", help="condense a dataset and save the set (.npz)", description=_cmd_doc("c")
    )
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--method", default="dm", choices=methods, help="method (default: dm)")
    p.add_argument("--ipc", type=positive_int, default=10, help="samples per class (10)")
    p.add_argument(
        "--budget",
        choices=["auto", "quick", "paper", "default"],
        default="auto",
        help="named settings for digits/mnist/cifar10: quick (CPU minutes), paper (the papers'"
        ", for a GPU) or default (the library's defaults, the only one for .npz data); auto "
        "(the default) is quick for a named dataset and default for a file",
    )
    p.add_argument("--max-iter", type=positive_int, default=None, help="outer iterations")
    p.add_argument("--seed", type=int, default=0, help="random_state (0)")
    add_set_option(p, per_method=False)
    p.add_argument("--output", "-o", required=True, help="the .npz file to write")
    p.add_argument("--grid", default=None, help="also write the image grid to this PNG")
    p.add_argument(
        "--input-shape",
        type=image_shape,
        default=None,
        help=INPUT_SHAPE_HELP + "; the fit then uses an image network",
    )
    common(p)
    p.set_defaults(run=_cmd_condense)

    p = sub.add_parser(
        "evaluate",
        help="train fresh networks on a saved set and test them",
        description=_cmd_doc("e"),
    )
    p.add_argument("set_file", metavar="SET.npz", help="a set written by condense")
    p.add_argument(
        "--test", required=True, help=DATA_HELP.replace("X_train, y_train", "X_test, y_test")
    )
    p.add_argument("--n-models", type=positive_int, default=5, help="networks trained (5)")
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="epochs per network (300; set by the protocol unless it is 'default')",
    )
    p.add_argument(
        "--protocol",
        default="default",
        choices=_protocol_names(),
        help="evaluation protocol: default (no augmentation, 300 epochs), paper (the set's "
        "method's own), or by name (see condensekit.evaluation.protocols)",
    )
    p.add_argument("--seed", type=int, default=0, help="evaluator random_state (0)")
    p.add_argument(
        "--n-per-class",
        type=positive_int,
        default=None,
        help="score this many per class instead of the saved set: a draw from a generative "
        "set's generator, or the first of every class of a selection (its smaller budget)",
    )
    p.add_argument("--json", default=None, help="also write the result as JSON here")
    common(p)
    p.set_defaults(run=_cmd_evaluate)

    p = sub.add_parser(
        "show", help="write the image grid of a saved set (PNG)", description=_cmd_doc("s")
    )
    p.add_argument("set_file", metavar="SET.npz", help="a set written by condense")
    p.add_argument("--output", "-o", required=True, help="the PNG file to write")
    p.add_argument("--per-class", type=positive_int, default=None, help="images per row")
    p.add_argument("--zoom", type=positive_int, default=None, help="integer upscaling")
    p.add_argument("--input-shape", type=image_shape, default=None, help=INPUT_SHAPE_HELP)
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser(
        "benchmark",
        help="methods x ipc x datasets under a named budget (resumable)",
        description=_cmd_doc("b"),
    )
    p.add_argument("--datasets", nargs="+", default=["digits"], help="digits, mnist, cifar10")
    p.add_argument("--methods", nargs="+", default=["random", "dm"], choices=methods)
    p.add_argument("--ipc", nargs="+", type=positive_int, default=[1, 10])
    p.add_argument("--budget", choices=["quick", "paper"], default="quick")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--n-models", type=positive_int, default=5, help="networks per cell (5)")
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=300,
        help="epochs per network under the default protocol (300)",
    )
    p.add_argument(
        "--protocol",
        nargs="+",
        default=["default"],
        choices=_protocol_names(),
        help="score every cell under each of these protocols; under 'paper' each selection is "
        "scored under the paper protocol of every synthesis method of the grid",
    )
    add_set_option(p, per_method=True)
    p.add_argument("--out-dir", default="benchmark_results", help="where results go")
    p.add_argument(
        "--no-resume",
        action="store_true",
        help="rerun the cells of this grid that results.json holds (it keeps the others)",
    )
    common(p)
    p.set_defaults(run=_cmd_benchmark)
    add_continual_parser(sub, common, methods, _protocol_names(), DATA_HELP)
    add_export_parser(sub)
    return parser


def _cmd_doc(kind: str) -> str:
    return {
        "c": "Condense a dataset with one method and save the condensed set, with its metadata, "
        "as a pickle-free .npz file.",
        "e": "Score a saved condensed set: train fresh networks on it (the papers' protocol) "
        "and report the test accuracy.",
        "s": "Write the images of a saved set as a PNG grid, one row per class.",
        "b": "Run every dataset x ipc x seed x method cell with the evaluator, writing "
        "results.json after each cell (a rerun skips finished cells), then results.md and "
        "accuracy_<dataset>.svg.",
    }[kind]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``condensekit`` command; returns the exit status."""

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "quiet", False):
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.run(args)
    except (
        CLIError,
        CondensedFileError,
        InvalidParameterError,
        OSError,
        ValueError,
        TypeError,
        KeyError,
        RuntimeError,
        ArithmeticError,  # FloatingPointError: a fit whose loss diverged
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"condensekit {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
