"""Many classes: DM and the generative method on 1,000 classes cost what 10 classes cost.

The data is MNIST's 60,000 training images cut into pseudo-classes **by index** (image ``i``
gets label ``i mod k``; the labels say nothing about the digits, this measures cost, not
accuracy). Every fit takes the same number of real images an iteration (``--real`` in all,
``real / k`` per class), ipc 1, a ConvNet of width 32. The synthetic set grows with ``k`` (one
image a class), so a last cell takes the fewest classes at the ipc that gives the same number
of synthetic images as the most classes (10 classes at ipc 100 against 1,000 at ipc 1): equal
network work, so a difference between those two is per-class overhead (Python loops,
per-class kernels). The generator's size is reported too: only its class embedding may grow
with ``k``.

Usage::

    python benchmarks/bench_many_classes.py --data-root ../shared/data \\
        --out benchmarks/results/many_classes_mnist_cpu.json
"""

from __future__ import annotations

import argparse
import resource

import numpy as np

from condensekit import DatasetCondenser
from condensekit.benchmark import write_report
from condensekit.data import load_mnist


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--real", type=int, default=4000, help="real images an iteration")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=["dm", "generative"])
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="the generative warm-up's iterations (default: the library's); its cost grows with "
        "the synthetic images, and it is counted in the fit's seconds",
    )
    parser.add_argument("--out", default="benchmarks/results/many_classes_mnist_cpu.json")
    args = parser.parse_args(argv)
    X, _ = load_mnist(args.data_root, train=True)
    rows = []
    few, many = min(args.classes), max(args.classes)
    cells = [(k, 1) for k in args.classes] + [(few, many // few)]
    for method in args.methods:
        for k, ipc in cells:
            y = np.arange(len(X)) % k
            settings = {
                "ipc": ipc,
                "max_iter": args.iterations,
                "random_state": 0,
                "verbose": 0,
                "model__width": 32,
                "strategy__batch_real": args.real // k,
            }
            if method == "generative" and args.warmup is not None:
                settings["strategy__warmup_iter"] = args.warmup
            cond = DatasetCondenser(method, **settings).fit(X, y)
            row = {
                "method": method,
                "classes": k,
                "warmup_iter": settings.get("strategy__warmup_iter", "default"),
                "ipc": ipc,
                "synthetic_images": ipc * k,
                "real_per_iteration": args.real // k * k,
                "iterations": cond.n_iter_,
                "seconds_per_iteration": cond.fit_time_ / cond.n_iter_,
                "fit_s": cond.fit_time_,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "condensed_values": cond.condensed_size_["values"],
            }
            if method == "generative":
                embedding = sum(
                    p.numel() for n, p in cond.generator_.named_parameters() if "embed" in n
                )
                row["generator_parameters"] = sum(p.numel() for p in cond.generator_.parameters())
                row["generator_embedding_parameters"] = embedding
            rows.append(row)
            print(
                f"{method} {k} classes, ipc {ipc}: {row['seconds_per_iteration']:.2f} "
                f"s/iteration ({row['real_per_iteration']} real, {ipc * k} synthetic images)"
                + (
                    f", generator {row['generator_parameters']} parameters "
                    f"({row['generator_embedding_parameters']} in the class embedding)"
                    if method == "generative"
                    else ""
                ),
                flush=True,
            )
    write_report(args.out, rows)


if __name__ == "__main__":
    main()
