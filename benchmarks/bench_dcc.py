"""Benchmark: accuracy of dc, dcc, dsa and dsa_dcc against outer iterations and seconds.

Every point is its own fit with ``max_iter=K`` (so DCC's outer warm-up is a quarter of that
run, as a user with that budget gets), with 64 real images per class and otherwise the library
defaults: the DC paper's loop table for dc and dsa, the DCC authors' for the contrastive
variants (10 synthetic steps and 5 training epochs per network at ipc 1). Each set is scored by
the default evaluator (300 epochs, no augmentation) and, at the largest K of its method (or at
every K with ``--paper-at all``), also under each method's paper protocol (``CondensedEvaluator(protocol="paper")``). Random subsets
of the same size are scored under every protocol the methods resolve to, so each method has a
random baseline under its own protocol.

Run each cell with one thread (``OMP_NUM_THREADS=1``) to compare seconds across cells; two
scripts may then share the two cores.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_dcc.py --ipc 1 --paper-at all --out benchmarks/results/dcc_curves_digits_ipc1_cpu.json --resume
    OMP_NUM_THREADS=1 python benchmarks/bench_dcc.py --ipc 10 --out benchmarks/results/dcc_curves_digits_ipc10_cpu.json --resume
    python benchmarks/bench_dcc.py --report benchmarks/results/dcc_curves_digits_ipc1_cpu.json benchmarks/results/dcc_curves_digits_ipc10_cpu.json
"""  # noqa: E501

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import (
    FLIP,
    add_run_arguments,
    add_sections,
    cell_spec,
    parse_set,
    previous_cells,
    run_cells,
)

METHODS = ["dc", "dcc", "dsa", "dsa_dcc"]
#: Outer iterations of each point, by ipc and method. At ipc 1 an outer iteration of the
#: contrastive variants runs 10 synthetic steps (DC: 1), about 5 times the seconds, so they get
#: fewer iterations for about the same total time.
ITERS = {
    1: {"dc": [25, 50, 100, 200], "dsa": [25, 50, 100, 200], "dcc": [25, 50, 100],
        "dsa_dcc": [25, 50, 100]},
    10: {m: [5, 15] for m in METHODS},
}  # fmt: skip


def settings(dataset: str, method: str, iters: int) -> dict:
    """Condenser keyword arguments of one point."""
    out = {"max_iter": iters, "strategy__batch_real": 64}
    if method in ("dsa", "dsa_dcc"):
        out["augment__flip"] = FLIP[dataset]
    return out


def specs(args: argparse.Namespace):
    """Every cell: random under each protocol, then the methods' points, seed by seed."""
    from condensekit.evaluation.protocols import paper_protocol_name

    for ipc in args.ipc:
        if args.iters is None and ipc not in ITERS:
            raise SystemExit(f"no default iterations for ipc {ipc}; give --iters as JSON")
        for seed in args.seeds:
            if args.no_random:
                break
            baseline = sorted({paper_protocol_name(m) for m in args.methods})
            yield cell_spec(args, args.dataset, "random", ipc, seed, {}, protocols=baseline)
        for seed in args.seeds:
            for method in args.methods:
                points = (args.iters or ITERS[ipc])[method]
                for iters in points:
                    paper = args.paper_at == "all" or iters == max(points)
                    extra = {"protocols": ["paper"]} if paper else {}
                    changed = parse_set(args.set)
                    tag = "".join(f" {k}={v}" for k, v in sorted(changed.items()))
                    yield cell_spec(
                        args,
                        args.dataset,
                        method,
                        ipc,
                        seed,
                        {**settings(args.dataset, method, iters), **changed},
                        label=f"{method}@{iters}{tag}",
                        **extra,
                    )


def summarise(rows: list[dict]) -> dict:
    """Mean ± std over seeds of every (ipc, method, iterations, protocol) point (a cell written
    twice, as when a rerun added a protocol, counts once: its last row)."""
    latest: dict[tuple, dict] = {}  # one row per cell and seed: the last one written
    for r in rows:
        latest[(r["dataset"], r["ipc"], r.get("label", r["method"]), r["seed"])] = r
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in latest.values():
        iters = r["settings"].get("max_iter", 0) if r["method"] != "random" else 0
        label = r.get("label", r["method"])
        variant = label.split(" ", 1)[1] if " " in label else ""
        groups[(r["ipc"], r["method"], iters, variant)].append(r)
    out = []
    for (ipc, method, iters, variant), cells in sorted(groups.items()):
        entry = {
            "ipc": ipc,
            "method": method + (f" ({variant})" if variant else ""),
            "iterations": iters,
            "seeds": sorted(c["seed"] for c in cells),
            "fit_s": float(np.mean([c["fit_time_s"] for c in cells])),
            "peak_rss_mib": float(max(c["peak_rss_mib"] for c in cells)),
            "default": _stats([c["acc_mean"] for c in cells]),
        }
        for name in sorted({p for c in cells for p in c.get("protocols", {})}):
            scored = [c["protocols"][name] for c in cells if name in c.get("protocols", {})]
            entry[name] = {
                **_stats([s["acc_mean"] for s in scored]),
                "resolved": scored[0]["resolved"],
            }
        out.append(entry)
    return {"points": out}


def _stats(values: list[float]) -> dict:
    a = 100 * np.asarray(values)
    return {"mean": float(a.mean()), "std": float(a.std()), "n": len(a)}


def report(paths: list[str]) -> str:
    """Markdown tables of the points in ``paths``."""
    lines = [
        "| ipc | method | outer it. | fit s | default % | paper % (protocol) | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        data = json.loads(Path(path).read_text())
        for p in summarise(data["cells"])["points"]:
            paper = p.get("paper")
            if p["method"] == "random":
                paper_txt = ", ".join(
                    f"{p[k]['mean']:.2f} ± {p[k]['std']:.2f} ({k})"
                    for k in p
                    if isinstance(p[k], dict) and "resolved" in p[k]
                )
            else:
                paper_txt = (
                    f"{paper['mean']:.2f} ± {paper['std']:.2f} ({paper['resolved']})"
                    if paper
                    else "-"
                )
            d = p["default"]
            lines.append(
                f"| {p['ipc']} | {p['method']} | {p['iterations'] or '-'} | {p['fit_s']:.0f} | "
                f"{d['mean']:.2f} ± {d['std']:.2f} | {paper_txt} | {len(p['seeds'])} |"
            )
    return "\n".join(lines)


def figures(paths: list[str], out_dir: str) -> list[str]:
    """Accuracy against outer iterations and against fit seconds under the default and the paper
    protocol, one SVG each per (dataset, ipc); returns the files written.

    The random subset is drawn as a dashed baseline when it lies within 5 points of the curves,
    and named in the title otherwise (so that it does not flatten them).
    """
    from condensekit.plotting import accuracy_curves

    points: dict[tuple, list[dict]] = defaultdict(list)
    for path in paths:
        data = json.loads(Path(path).read_text())
        dataset = data["cells"][0]["dataset"]
        for p in summarise(data["cells"])["points"]:
            points[(dataset, p["ipc"])].append(p)
    written = []
    for (dataset, ipc), entries in sorted(points.items()):
        curves = [p for p in entries if p["method"] != "random"]
        rnd = next((p for p in entries if p["method"] == "random"), None)
        for protocol in ("default", "paper"):
            series = {}
            for method in dict.fromkeys(p["method"] for p in curves):
                mine = [p for p in curves if p["method"] == method and protocol in p]
                if mine:
                    series[method] = mine
            if not series:
                continue
            lowest = min(p[protocol]["mean"] for mine in series.values() for p in mine)
            baseline, note = {}, ""
            if rnd is not None:
                # random under the protocol the methods resolved to (the first, if several)
                name = protocol
                if protocol == "paper":
                    name = next(p["paper"]["resolved"] for mine in series.values() for p in mine)
                scored = rnd.get(name, rnd["default"]) if name != "default" else rnd["default"]
                if scored["mean"] >= lowest - 5:
                    baseline = {"random": (scored["mean"], scored["std"])}
                else:
                    note = f"; random ({name}) {scored['mean']:.1f}"
            for axis, key in (("iterations", "iterations"), ("seconds", "fit_s")):
                fig = accuracy_curves(
                    {
                        m: (
                            [p[key] for p in sorted(mine, key=lambda p: p[key])],
                            [p[protocol]["mean"] for p in sorted(mine, key=lambda p: p[key])],
                            [p[protocol]["std"] for p in sorted(mine, key=lambda p: p[key])],
                        )
                        for m, mine in series.items()
                    },
                    baselines=baseline,
                    title=f"{dataset}, ipc {ipc}, {protocol} protocol{note}",
                    xlabel="outer iterations" if axis == "iterations" else "fit seconds (1 thread)",
                    ylabel="test accuracy % (mean ± std, seeds)",
                    log_x=True,
                )
                target = Path(out_dir) / f"dcc_curves_{dataset}_ipc{ipc}_{protocol}_{axis}.svg"
                target.parent.mkdir(parents=True, exist_ok=True)
                fig.save(target)
                written.append(str(target))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--ipc", nargs="+", type=int, default=[1, 10])
    parser.add_argument(
        "--iters",
        type=json.loads,
        default=None,
        help="outer iterations of each point by method, as JSON: '{\"dc\": [25, 50], ...}' "
        "(default: ITERS by ipc)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="condenser settings over every method's (strategy__outer_warmup=10); the cells are "
        "labelled with them",
    )
    parser.add_argument("--no-random", action="store_true", help="skip the random cells")
    parser.add_argument(
        "--paper-at",
        choices=["max", "all"],
        default="max",
        help="score under the paper protocol at the largest budget of each method (max) or at "
        "every budget (all)",
    )
    parser.add_argument("--report", nargs="+", help="print the tables of these JSON files")
    parser.add_argument("--figures", default=None, help="with --report: write SVG curves here")
    add_run_arguments(parser, out="benchmarks/results/dcc_curves_digits_cpu.json", seeds=(0, 1, 2))
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report))
        if args.figures:
            for path in figures(args.report, args.figures):
                print(f"wrote {path}")
        return
    args.budget = "curve"
    run_cells(specs(args), args.out, args.resume)
    add_sections(args.out, summary=summarise(previous_cells(args.out)))
    print(report([args.out]))


if __name__ == "__main__":
    main()
