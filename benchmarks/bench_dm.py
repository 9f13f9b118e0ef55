"""Benchmark: distribution matching vs random selection on real data, plus DM iteration cost.

Every cell (dataset x method x ipc) runs in its own process, so the peak memory reported is that
cell's. Figures: test accuracy of the default CondensedEvaluator (ConvNet-3 for images, 5
networks, 300 epochs, final epoch), condensation time, peak resident memory.

Usage::

    python benchmarks/bench_dm.py                          # the whole quick (CPU) table
    python benchmarks/bench_dm.py --datasets digits --ipc 1 10
    python benchmarks/bench_dm.py --speed-only             # DM iteration cost ratio on MNIST
    python benchmarks/bench_dm.py --budget paper --device cuda

Results are printed as a markdown table and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import time

from _common import (
    FLIP,
    add_run_arguments,
    add_sections,
    cell_spec,
    load,
    run_cells,
    table,
)

from condensekit.benchmark import BUDGETS as PACKAGE_BUDGETS

#: DM settings per budget and dataset, from the package's named budgets (one source for the
#: scripts and ``condensekit benchmark``). "quick" fits every condensation into 10 minutes on a
#: 2-core CPU; "paper" is the DM paper's setting (20,000 iterations, 256 real images per class,
#: lr 1). In the quick budget the synthetic learning rate grows with ipc: the gradient reaching
#: each synthetic sample scales as 1/ipc (it enters a class mean over ipc samples), so lr = ipc
#: keeps the per-sample step of the paper's ipc=1 setting within a short run.
BUDGETS = {name: table["distribution"] for name, table in PACKAGE_BUDGETS.items()}


def dm_settings(budget: str, dataset: str, ipc: int) -> dict:
    """Condenser keyword arguments of DM for one cell."""
    settings = dict(BUDGETS[budget][dataset])
    per_ipc = settings.pop("lr_per_ipc", None)
    if per_ipc is not None:
        settings["strategy__lr_syn"] = per_ipc * ipc
    return settings


def dm_iteration_cost(data_root: str | None, device: str, repeats: int = 5) -> dict:
    """Time of one full DM iteration vs the network passes it cannot avoid (MNIST, ipc=10).

    The full iteration is measured black-box from ``fit_time_`` of two fits that differ only in
    ``max_iter``: ``(T(1 + k) - T(1)) / k`` (setup and the first iteration cancel out). The
    passes are a no-grad forward of 10 x 256 real images plus forward and backward of the 100
    synthetic images through the same ConvNet-3.
    """
    import torch

    from condensekit import DatasetCondenser
    from condensekit._torch_utils import resolve_device
    from condensekit.models import build_model

    X, y = load("mnist", data_root)[:2]
    common = {
        "ipc": 10,
        "random_state": 0,
        "device": device,
        "verbose": 0,
        "strategy__batch_real": 256,
        "augment__flip": False,
    }
    k = repeats
    t1 = DatasetCondenser("dm", max_iter=1, **common).fit(X, y).fit_time_
    tk = DatasetCondenser("dm", max_iter=1 + k, **common).fit(X, y).fit_time_
    per_iter = (tk - t1) / k

    dev = resolve_device(device)
    gen = torch.Generator(device=dev).manual_seed(0)
    net = build_model("convnet", (1, 28, 28), 10, generator=gen, device=dev).requires_grad_(False)
    x = torch.as_tensor(X[:2560], dtype=torch.float32, device=dev)[:, None] / 255
    s = torch.as_tensor(X[-100:], dtype=torch.float32, device=dev)[:, None].div(255)
    s.requires_grad_(True)

    def passes():
        with torch.no_grad():
            net.embed(x)
        net.embed(s).sum().backward()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    passes()  # warm-up
    start = time.perf_counter()
    for _ in range(k):
        passes()
    pass_time = (time.perf_counter() - start) / k
    return {
        "dm_iteration_s": per_iter,
        "network_passes_s": pass_time,
        "ratio": per_iter / pass_time,
        "real_per_class": 256,
        "ipc": 10,
        "iterations_timed": k,
        "device": str(dev),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "cifar10"])
    parser.add_argument("--methods", nargs="+", default=["random", "dm"])
    parser.add_argument(
        "--ipc",
        nargs="+",
        type=int,
        default=None,
        help="default: 1 10 for digits and MNIST, 10 for CIFAR-10",
    )
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="quick")
    add_run_arguments(parser, out="benchmarks/results/dm.json")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)

    def settings(dataset: str, method: str, ipc: int) -> dict:
        if method == "random":
            return {}
        return dm_settings(args.budget, dataset, ipc) | {"augment__flip": FLIP[dataset]}

    if not args.speed_only:
        specs = (
            cell_spec(args, dataset, method, ipc, seed, settings(dataset, method, ipc))
            for dataset in args.datasets
            for ipc in args.ipc or ([10] if dataset == "cifar10" else [1, 10])
            for seed in args.seeds
            for method in args.methods
        )
        rows = run_cells(specs, args.out, args.resume)
        print(table(rows))
    speed = None if args.no_speed else dm_iteration_cost(args.data_root, args.device)
    if speed:
        print(
            f"DM iteration (MNIST, ipc=10, 256 real/class): {speed['dm_iteration_s']:.3f} s; "
            f"network passes alone: {speed['network_passes_s']:.3f} s; ratio "
            f"{speed['ratio']:.3f}"
        )
    add_sections(args.out, dm_iteration_cost=speed)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
