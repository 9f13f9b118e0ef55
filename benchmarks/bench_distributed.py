"""One DM fit across processes (torch.distributed, gloo) against one process, on MNIST.

Every run is ``torchrun --standalone --nproc_per_node=N -m condensekit condense`` on MNIST
(ipc 10, ``--iterations`` iterations, 256 real images per class and iteration), with
``OMP_NUM_THREADS=threads`` in every process; ``N=1`` runs without torchrun. The wall-clock of
the whole command (start-up and data loading included) and the fit's own seconds (from its
report) are recorded, and the sets are compared (largest difference over the data's range).

Usage::

    python benchmarks/bench_distributed.py --data-root ../shared/data \\
        --out benchmarks/results/distributed_mnist_cpu.json
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from condensekit import load_condensed
from condensekit.benchmark import write_report


def run(processes: int, threads: int, args: argparse.Namespace, out: Path) -> dict:
    """One condensation with ``processes`` processes of ``threads`` threads each."""
    condense = [
        "-m", "condensekit", "condense", "--data", "mnist", "--method", "dm", "--ipc", "10",
        "--max-iter", str(args.iterations), "--seed", "0", "--quiet", "-o", str(out),
        "--set", "strategy__batch_real=256",
    ]  # fmt: skip
    if args.data_root:
        condense += ["--data-root", args.data_root]
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.run([*launcher, *condense], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    fit = float(re.search(r"in ([0-9.]+) s", proc.stdout).group(1))
    return {
        "processes": processes,
        "threads_per_process": threads,
        "iterations": args.iterations,
        "wall_s": wall,
        "fit_s": fit,
        "seconds_per_iteration": fit / args.iterations,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/distributed_mnist_cpu.json")
    args = parser.parse_args(argv)
    rows, sets = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for processes, threads in ((1, 1), (2, 1), (1, 2)):
            out = Path(folder, f"dm_{processes}x{threads}.npz")
            rows.append(run(processes, threads, args, out))
            sets[processes, threads] = load_condensed(out).X
            r = rows[-1]
            print(
                f"{processes} process(es) x {threads} thread(s): fit {r['fit_s']:.1f} s "
                f"({r['seconds_per_iteration']:.2f} s/iteration), command {r['wall_s']:.1f} s",
                flush=True,
            )
    base = sets[1, 1]
    scale = float(np.ptp(base))
    for row in rows:
        key = (row["processes"], row["threads_per_process"])
        row["max_difference_over_range"] = float(np.abs(sets[key] - base).max() / scale)
    one, two = rows[0], rows[1]
    summary = {
        "speedup_2_processes_vs_1": one["fit_s"] / two["fit_s"],
        "speedup_1_process_2_threads_vs_1": one["fit_s"] / rows[2]["fit_s"],
    }
    print(summary)
    write_report(args.out, rows, summary=summary)


if __name__ == "__main__":
    main()
