"""Streaming real data: memory flat in the number of samples, throughput against the in-memory path.

Every cell is one DM fit (ipc 10, 20 iterations, 256 real images per class and iteration) in a
fresh Python process, so that its peak resident memory is its own:

* ``memory``: the same ``n`` samples materialised as one uint8 array, ``data_mode="memory"``
  (every sample normalised into one float32 tensor: the fastest path, memory growing with n);
* ``stream``: a lazily decoded dataset of ``n`` MNIST-sized samples, ``data_mode="stream"``.
  Sample ``i`` is MNIST image ``i mod 60,000`` rolled by ``i // 60,000`` pixels (decoded on
  access, as images read from files would be), so 600,000 samples are 600,000 distinct images
  that are never held in memory together; the labels are a ``targets`` array.

Usage::

    python benchmarks/bench_streaming.py --data-root ../shared/data \\
        --out benchmarks/results/streaming_mnist_cpu.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from condensekit import DatasetCondenser
from condensekit.benchmark import write_report
from condensekit.data import load_mnist


class LazyMNIST(Dataset):
    """``n`` MNIST-sized samples decoded on access (see the module's documentation)."""

    def __init__(self, data_root: str | None, n: int) -> None:
        self.images, labels = load_mnist(data_root, train=True)
        self.n = n
        self.targets = np.resize(labels, n)  # label of sample i: that of image i mod 60,000

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        base = len(self.images)
        image = np.roll(self.images[i % base], i // base, axis=1)
        return torch.from_numpy(image), int(self.targets[i])


def run_cell(spec: dict) -> dict:
    """One fit in this process; its figures."""
    torch.set_num_threads(spec["threads"])
    settings = {
        "ipc": 10,
        "max_iter": spec["iterations"],
        "random_state": 0,
        "verbose": 0,
        "strategy__batch_real": 256,
        "data_mode": spec["mode"],
        "num_workers": spec["workers"],
    }
    lazy = LazyMNIST(spec["data_root"], spec["n"])
    if spec["mode"] == "memory":
        base = len(lazy.images)
        copies = [np.roll(lazy.images, k, axis=2) for k in range(-(-spec["n"] // base))]
        args = (np.concatenate(copies)[: spec["n"]], lazy.targets)
    else:
        args = (lazy,)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    cond = DatasetCondenser("dm", **settings).fit(*args)
    wall = time.perf_counter() - start
    return {
        **spec,
        "data_mode_": cond.data_mode_,
        "fit_wall_s": wall,
        "loop_s": cond.fit_time_,
        "seconds_per_iteration": cond.fit_time_ / cond.n_iter_,
        "images_per_second": 256 * 10 * cond.n_iter_ / cond.fit_time_,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_fit_mib": rss_before,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[60_000, 600_000])
    parser.add_argument("--out", default="benchmarks/results/streaming_mnist_cpu.json")
    parser.add_argument("--cell", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        print(json.dumps(run_cell(json.loads(args.cell))))
        return
    base = {
        "data_root": args.data_root,
        "iterations": args.iterations,
        "threads": args.threads,
        "workers": args.workers,
    }
    specs = [{**base, "mode": mode, "n": n} for n in args.sizes for mode in ("memory", "stream")]
    rows = []
    for spec in specs:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--cell", json.dumps(spec)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(
            f"{r['mode']:6s} n={r['n']:>7d}: {r['seconds_per_iteration']:.3f} s/iteration, "
            f"{r['images_per_second']:.0f} real images/s, fit {r['fit_wall_s']:.1f} s, "
            f"peak {r['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    by = {(r["mode"], r["n"]): r for r in rows}
    small, large = min(args.sizes), max(args.sizes)
    summary = {
        f"stream_vs_memory_time_n{n}": by["stream", n]["seconds_per_iteration"]
        / by["memory", n]["seconds_per_iteration"]
        for n in args.sizes
    }
    for mode in ("stream", "memory"):
        summary[f"{mode}_peak_rss_ratio_n{large}_vs_n{small}"] = (
            by[mode, large]["peak_rss_mib"] / by[mode, small]["peak_rss_mib"]
        )
    print(json.dumps(summary, indent=2))
    write_report(args.out, rows, summary=summary)


if __name__ == "__main__":
    main()
