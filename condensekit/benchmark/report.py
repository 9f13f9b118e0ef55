"""Tables and charts of benchmark cells: markdown for the docs, bar charts with error bars."""

from __future__ import annotations

import numpy as np

from ..charts import SVGFigure, accuracy_bars


def _summarise(cells: list[dict]) -> tuple[float, float, str]:
    """Mean and std in %: over seeds' means with several seeds, else over networks."""
    if len(cells) == 1:
        return 100 * cells[0]["acc_mean"], 100 * cells[0]["acc_std"], ""
    acc = 100 * np.array([c["acc_mean"] for c in cells])
    return float(acc.mean()), float(acc.std()), f" ({len(cells)} seeds)"


def _protocol(row: dict) -> str:
    return row.get("protocol", "default")


def _cells(rows: list[dict], dataset: str, ipc: int, method: str, protocol: str) -> list[dict]:
    """The rows of one (dataset, ipc, method, protocol) entry of a table or chart."""
    key = (dataset, ipc, method, protocol)
    return [r for r in rows if (r["dataset"], r["ipc"], r["method"], _protocol(r)) == key]


def markdown_table(rows: list[dict]) -> str:
    """One line per (dataset, ipc, protocol), one column per method: mean ± std accuracy in %.

    The protocol column appears when the rows were scored under more than one protocol; a cell
    left empty ("-") was not scored under that line's protocol.
    """
    methods = list(dict.fromkeys(r["method"] for r in rows))
    protocols = list(dict.fromkeys(_protocol(r) for r in rows))
    several = len(protocols) > 1
    head = "| dataset | ipc | " + ("protocol | " if several else "")
    lines = [
        head + " | ".join(methods) + " |",
        "|---|---|" + ("---|" if several else "") + "---|" * len(methods),
    ]
    lines_keys = sorted(
        {(r["dataset"], r["ipc"], _protocol(r)) for r in rows},
        key=lambda k: (k[0], k[1], protocols.index(k[2])),
    )
    for dataset, ipc, protocol in lines_keys:
        cells = []
        for m in methods:
            chosen = _cells(rows, dataset, ipc, m, protocol)
            if chosen:
                mean, std, note = _summarise(chosen)
                cells.append(f"{mean:.2f} ± {std:.2f}{note}")
            else:
                cells.append("-")
        lead = f"| {dataset} | {ipc} | " + (f"{protocol} | " if several else "")
        lines.append(lead + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_chart(rows: list[dict], dataset: str) -> SVGFigure:
    """Bar chart (:class:`~condensekit.charts.SVGFigure`) of one dataset's cells (labelled
    with their protocol when there are several)."""

    protocols = list(dict.fromkeys(_protocol(r) for r in rows))
    labels, means, stds = [], [], []
    for ipc in sorted({r["ipc"] for r in rows if r["dataset"] == dataset}):
        for protocol in protocols:
            for m in dict.fromkeys(r["method"] for r in rows):
                chosen = _cells(rows, dataset, ipc, m, protocol)
                if chosen:
                    mean, std, _ = _summarise(chosen)
                    suffix = f" {protocol}" if len(protocols) > 1 else ""
                    labels.append(f"{m} {ipc}{suffix}")
                    means.append(mean)
                    stds.append(std)
    return accuracy_bars(labels, means, stds, title=f"{dataset}: accuracy by method and ipc")


def cell_table(rows: list[dict]) -> str:
    """Markdown table with one line per cell: label, ipc, budget, accuracy, fit time, memory."""
    lines = [
        "| dataset | method | ipc | budget | accuracy % (mean ± std) | fit s | peak MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peak = f"{r['peak_rss_mib']:.0f}" if "peak_rss_mib" in r else "-"
        lines.append(
            f"| {r['dataset']} | {r.get('label', r['method'])} | {r['ipc']} | "
            f"{r.get('budget', '-')} | {100 * r['acc_mean']:.2f} ± {100 * r['acc_std']:.2f} | "
            f"{r['fit_time_s']:.1f} | {peak} |"
        )
    return "\n".join(lines)
