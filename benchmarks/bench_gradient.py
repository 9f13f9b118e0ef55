"""Benchmark: the gradient-matching family (dc, dsa, dcc, dsa_dcc) vs random, and its cost.

Quality: every cell condenses with a quick budget that fits this 2-core CPU, then scores with the
default CondensedEvaluator (ConvNet, 5 networks, 300 epochs, no augmentation, final epoch),
the same for every method.

Speed (``--speed``): seconds per outer iteration of dc, dsa and dcc at ipc 1 and 10 on MNIST with
the paper's loop table and ``--speed-batch-real`` real images per class (default 64, the quick
budget's; the papers use 256), split into

* matching: real and synthetic gradients, the distance, its backward and the pixel step;
* training: the inner loop that trains the network on the synthetic set;
* augmentation: siamese augmentation of real and synthetic images (forward only; its backward is
  part of matching), wherever it runs.

The split comes from wall-clock timers wrapped around the strategy's methods by this script; on
a GPU every timer synchronises first. Per-class gradients are also timed both ways
(``class_batching="loop"`` and ``"vmap"``) at ipc 1 for dc.

Usage::

    python benchmarks/bench_gradient.py                      # quick quality table
    python benchmarks/bench_gradient.py --datasets digits --ipc 1
    python benchmarks/bench_gradient.py --speed-only
"""

from __future__ import annotations

import argparse
import time

from _common import (
    add_run_arguments,
    add_sections,
    cell_spec,
    load,
    run_cells,
    table,
)

from condensekit.benchmark import BUDGETS as PACKAGE_BUDGETS
from condensekit.benchmark import budget_settings

METHODS = ["dc", "dsa", "dcc", "dsa_dcc"]

#: Budgets come from the package (``condensekit.benchmark.BUDGETS``), one source for the
#: scripts and ``condensekit benchmark``. The quick budget fixes iterations and 64 real images per
#: class by dataset and ipc; everything else is the library default (the papers' lr_syn=0.1, loop
#: table of each method, layer-wise distance, real init). Per-method change: at ipc 1 the
#: contrastive variants run the DCC authors' loop (10 pixel steps per network), so they get the
#: outer iterations that take DC's time (``BUDGETS["quick"]["gradient_method"]``; measured with
#: ``bench_dcc.py``).
BUDGETS = PACKAGE_BUDGETS


def settings_for(budget: str, dataset: str, ipc: int, method: str) -> dict:
    """Condenser keyword arguments of one quality cell."""
    return budget_settings(budget, method, dataset, ipc)


class PhaseTimer:
    """Wall-clock time spent inside wrapped functions, by phase, excluding nested phases."""

    def __init__(self, sync) -> None:
        self.sync = sync
        self.totals: dict[str, float] = {}
        self._stack: list[list] = []  # [phase, start, time spent in nested phases]

    def wrap(self, phase: str, fn):
        def timed(*args, **kwargs):
            self.sync()
            self._stack.append([phase, time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                self.sync()
                name, start, nested = self._stack.pop()
                spent = time.perf_counter() - start
                self.totals[name] = self.totals.get(name, 0.0) + spent - nested
                if self._stack:
                    self._stack[-1][2] += spent

        return timed


def time_iterations(
    method: str,
    ipc: int,
    data,
    device: str,
    class_batching: str,
    iterations: int,
    warmup: bool,
    batch_real: int = 64,
) -> dict:
    """Seconds per outer iteration and its split over ``iterations`` timed iterations, after one
    untimed warm-up iteration when ``warmup`` (worth it only when an iteration is short)."""
    import torch

    from condensekit import DatasetCondenser, SiameseAugment
    from condensekit.strategies import gradient

    X, y = data
    dev_is_cuda = device.startswith("cuda")
    timer = PhaseTimer(torch.cuda.synchronize if dev_is_cuda else (lambda: None))
    marks: list[float] = []
    cls = gradient.GradientMatching
    originals = {
        "loss": cls.loss,
        "after_step": cls.after_step,
        "refresh_network": cls.refresh_network,
        "call": SiameseAugment.__call__,
        "draw": SiameseAugment.draw,
    }

    def refresh(self, net, ctx, iteration):
        timer.sync()
        marks.append(time.perf_counter())
        if warmup and iteration == 1:  # the first iteration was a warm-up: restart the totals
            timer.totals.clear()
        return originals["refresh_network"](self, net, ctx, iteration)

    cls.loss = timer.wrap("matching", originals["loss"])
    cls.after_step = timer.wrap("training", originals["after_step"])
    cls.refresh_network = refresh
    SiameseAugment.__call__ = timer.wrap("augmentation", originals["call"])
    SiameseAugment.draw = timer.wrap("augmentation", originals["draw"])
    try:
        cond = DatasetCondenser(
            method,
            ipc=ipc,
            max_iter=int(warmup) + iterations,
            random_state=0,
            device=device,
            verbose=0,
            strategy__batch_real=batch_real,
            strategy__class_batching=class_batching,
            augment__flip=False,
        )
        original_run = gradient.GradientMatching.run

        def run(self, ctx):
            result = original_run(self, ctx)
            timer.sync()
            marks.append(time.perf_counter())
            return result

        gradient.GradientMatching.run = run
        try:
            cond.fit(X, y)
        finally:
            gradient.GradientMatching.run = original_run
    finally:
        cls.loss = originals["loss"]
        cls.after_step = originals["after_step"]
        del cls.refresh_network  # back to the inherited method
        SiameseAugment.__call__ = originals["call"]
        SiameseAugment.draw = originals["draw"]
    timed = marks[-1] - marks[int(warmup)]
    per_iter = timed / iterations
    # matching = the rest of the iteration: loss forward (timed) + backward + optimiser step
    inner = {k: v / iterations for k, v in timer.totals.items()}
    training = inner.get("training", 0.0)
    augmentation = inner.get("augmentation", 0.0)
    matching = per_iter - training - augmentation
    return {
        "method": method,
        "ipc": ipc,
        "class_batching": class_batching,
        "device": cond.device_,
        "iteration_s": per_iter,
        "matching_s": matching,
        "training_s": training,
        "augmentation_s": augmentation,
        "iterations_timed": iterations,
        "warmup_iteration": warmup,
        "real_per_class": batch_real,
    }


def speed(data_root: str | None, device: str, iterations: int, batch_real: int) -> list[dict]:
    """Per-iteration timing of dc, dsa, dcc at ipc 1 and 10 on MNIST, plus loop vs vmap.

    At ipc 10 an iteration takes minutes on a CPU, so it is timed once, without a warm-up."""
    X, y = load("mnist", data_root)[:2]
    rows = []
    runs = [(m, ipc, "auto") for ipc in (1, 10) for m in ("dc", "dsa", "dcc")]
    runs += [("dc", 1, "loop"), ("dc", 1, "vmap")]
    for method, ipc, batching in runs:
        long = ipc >= 10 and not device.startswith("cuda")
        n_timed = 1 if long else iterations
        row = time_iterations(
            method, ipc, (X, y), device, batching, n_timed, warmup=not long, batch_real=batch_real
        )
        rows.append(row)
        print(
            f"{method} ipc={ipc} ({batching}): {row['iteration_s']:.2f} s/iteration = matching "
            f"{row['matching_s']:.2f} + training {row['training_s']:.2f} + augmentation "
            f"{row['augmentation_s']:.2f}",
            flush=True,
        )
    return rows


def speed_table(rows: list[dict]) -> str:
    """Markdown table of the timing rows."""
    lines = [
        "| method | ipc | real per class | per-class gradients | s / outer iteration | matching "
        "| training | augmentation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['ipc']} | {r['real_per_class']} | {r['class_batching']} | "
            f"{r['iteration_s']:.2f} | "
            f"{r['matching_s']:.2f} | {r['training_s']:.2f} | {r['augmentation_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    parser.add_argument("--methods", nargs="+", default=["random", *METHODS])
    parser.add_argument(
        "--ipc", nargs="+", type=int, default=None, help="default: 1 10 for digits, 1 for MNIST"
    )
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="quick")
    add_run_arguments(parser, out="benchmarks/results/gradient.json")
    parser.add_argument("--speed", action="store_true", help="also time outer iterations")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--speed-iterations", type=int, default=2)
    parser.add_argument("--speed-batch-real", type=int, default=64)
    args = parser.parse_args(argv)

    if not args.speed_only:
        specs = (
            cell_spec(
                args, dataset, method, ipc, seed, settings_for(args.budget, dataset, ipc, method)
            )
            for dataset in args.datasets
            for ipc in args.ipc or ([1, 10] if dataset == "digits" else [1])
            for seed in args.seeds
            for method in args.methods
        )
        rows = run_cells(specs, args.out, args.resume)
        print(table(rows))
    timing = None
    if args.speed or args.speed_only:
        from condensekit._torch_utils import resolve_device

        timing = speed(
            args.data_root,
            str(resolve_device(args.device)),
            args.speed_iterations,
            args.speed_batch_real,
        )
        print(speed_table(timing))
    add_sections(args.out, iteration_cost=timing)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
