"""Small SVG charts: a fit's loss curve, accuracy bars with error bars, accuracy curves.

Written as SVG text (no plotting library: matplotlib would be a dependency for three charts);
each function returns an :class:`SVGFigure` that notebooks show inline (``_repr_svg_``) and that
``.save(path)`` writes. :mod:`condensekit.plotting` re-exports them beside the image grid.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from .callbacks import History


@dataclass(frozen=True)
class SVGFigure:
    """A small chart as SVG text; shown inline by notebooks, ``.save(path)`` writes it."""

    svg: str

    def save(self, path: str | os.PathLike) -> None:
        """Write the chart as an ``.svg`` file."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.svg)

    def _repr_svg_(self) -> str:
        return self.svg


_W, _H = 560, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 36, 48


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round numbers spanning ``[lo, hi]``."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _frame(title: str, xlabel: str, ylabel: str, yticks: list[tuple[float, str]]) -> list[str]:
    """SVG header, title, axes and horizontal grid lines at ``yticks`` (pixel y, label)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    for y, label in yticks:
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
    parts += [
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_H - _BOTTOM}" stroke="black"/>',
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_H - _BOTTOM}" y2="{_H - _BOTTOM}" '
        'stroke="black"/>',
        f'<text x="{(_LEFT + _W - _RIGHT) / 2}" y="{_H - 8}" text-anchor="middle">'
        f"{escape(xlabel)}</text>",
        f'<text transform="translate(16 {(_TOP + _H - _BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(ylabel)}</text>',
    ]
    return parts


def loss_curve(
    history: Any, *, title: str = "matching loss", log_scale: bool | None = None
) -> SVGFigure:
    """Line chart of a loss per outer iteration.

    Parameters
    ----------
    history : fitted condenser, History or array-like of float
        A condenser, its ``history_`` (the ``"loss"`` column is drawn) or the values themselves.
    title : str, default="matching loss"
        Title above the chart.
    log_scale : bool or None, default=None
        Logarithmic y axis; ``None`` chooses it when all values are positive and span more
        than a factor of 100.

    Returns
    -------
    SVGFigure
    """
    history = getattr(history, "history_", history)
    if isinstance(history, History):
        history = history["loss"] if history else []
    values = np.asarray(history, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("loss_curve needs at least one finite value (selections have none).")
    if log_scale is None:
        log_scale = bool(values.min() > 0 and values.max() / values.min() > 100)
    if log_scale and values.min() <= 0:
        raise ValueError("log_scale=True needs positive values.")
    shown = np.log10(values) if log_scale else values
    lo, hi = float(shown.min()), float(shown.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    plot_h, plot_w = _H - _TOP - _BOTTOM, _W - _LEFT - _RIGHT

    def py(v: float) -> float:
        return _TOP + plot_h * (hi - v) / (hi - lo)

    def px(i: float) -> float:
        return _LEFT + plot_w * i / max(1, len(values) - 1)

    ticks = [(py(t), f"{10**t:.3g}" if log_scale else f"{t:.3g}") for t in _ticks(lo, hi)]
    parts = _frame(title, "outer iteration", "loss (log scale)" if log_scale else "loss", ticks)
    for t in _ticks(0, len(values) - 1):
        parts.append(
            f'<text x="{px(t):.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{t:g}</text>'
        )
    points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(shown))
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/>')
    parts.append("</svg>")
    return SVGFigure("\n".join(parts))


def accuracy_bars(
    labels: Sequence[str],
    means: Sequence[float],
    stds: Sequence[float] | None = None,
    *,
    title: str = "accuracy",
    ylabel: str = "test accuracy %",
) -> SVGFigure:
    """Bar chart of mean accuracies with ± std error bars.

    Parameters
    ----------
    labels : sequence of str
        One label per bar.
    means : sequence of float
        Bar heights (e.g. accuracy in %).
    stds : sequence of float, optional
        Half-lengths of the error bars.
    title, ylabel : str
        Texts of the chart.

    Returns
    -------
    SVGFigure
    """
    means = np.asarray(means, dtype=float)
    stds = np.zeros_like(means) if stds is None else np.asarray(stds, dtype=float)
    if not (len(labels) == means.size == stds.size) or means.size == 0:
        raise ValueError(
            f"accuracy_bars needs as many labels, means and stds (got {len(labels)}, "
            f"{means.size}, {stds.size}), at least one."
        )
    if not (np.isfinite(means).all() and np.isfinite(stds).all()) or (stds < 0).any():
        raise ValueError("accuracy_bars needs finite means and non-negative finite stds.")
    hi = float((means + stds).max())
    hi = hi * 1.1 if hi > 0 else 1.0
    lo = min(0.0, float((means - stds).min()))
    plot_h, plot_w = _H - _TOP - _BOTTOM, _W - _LEFT - _RIGHT

    def py(v: float) -> float:
        return _TOP + plot_h * (hi - v) / (hi - lo)

    parts = _frame(title, "", ylabel, [(py(t), f"{t:g}") for t in _ticks(lo, hi)])
    slot = plot_w / means.size
    for k, (label, m, s) in enumerate(zip(labels, means, stds, strict=True)):
        x = _LEFT + k * slot
        parts.append(
            f'<rect x="{x + 0.15 * slot:.1f}" y="{py(m):.1f}" width="{0.7 * slot:.1f}" '
            f'height="{py(lo) - py(m):.1f}" fill="#4c78a8"><title>{escape(str(label))}: '
            f"{m:.2f} ± {s:.2f}</title></rect>"
        )
        cx = x + slot / 2
        if s > 0:
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{py(m + s):.1f}" y2="{py(m - s):.1f}" '
                'stroke="black"/>'
                f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{py(m + s):.1f}" '
                f'y2="{py(m + s):.1f}" stroke="black"/>'
                f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{py(m - s):.1f}" '
                f'y2="{py(m - s):.1f}" stroke="black"/>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">'
            f"{escape(str(label))}</text>"
        )
    parts.append("</svg>")
    return SVGFigure("\n".join(parts))


_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f")


def accuracy_curves(
    series: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    *,
    baselines: Mapping[str, tuple[float, float]] | None = None,
    title: str = "accuracy",
    xlabel: str = "outer iterations",
    ylabel: str = "test accuracy %",
    log_x: bool = False,
) -> SVGFigure:
    """Line chart of accuracy against a budget, one line per method with a shaded ± std band.

    Parameters
    ----------
    series : mapping of str to (x, mean, std)
        One line per label: budgets (iterations, seconds...), mean accuracies and their std.
    baselines : mapping of str to (mean, std), optional
        Horizontal dashed lines with a band (a random subset of the same size, say).
    title, xlabel, ylabel : str
        Texts of the chart.
    log_x : bool, default=False
        Logarithmic x axis (budgets that double).

    Returns
    -------
    SVGFigure
    """
    lines = {k: tuple(np.asarray(v, dtype=float) for v in vals) for k, vals in series.items()}
    baselines = dict(baselines or {})
    if not lines or any(not (x.size == m.size == s.size > 0) for x, m, s in lines.values()):
        raise ValueError("accuracy_curves needs at least one series of equal-length x, mean, std.")
    xs = np.concatenate([x for x, _, _ in lines.values()])
    if log_x and (xs <= 0).any():
        raise ValueError("log_x=True needs positive budgets.")
    lows = [m - s for _, m, s in lines.values()] + [
        np.array([b[0] - b[1]]) for b in baselines.values()
    ]
    highs = [m + s for _, m, s in lines.values()] + [
        np.array([b[0] + b[1]]) for b in baselines.values()
    ]
    lo, hi = float(np.concatenate(lows).min()), float(np.concatenate(highs).max())
    pad = max(0.05 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
    tx = np.log10 if log_x else (lambda v: v)
    x_lo, x_hi = float(tx(xs.min())), float(tx(xs.max()))
    if x_hi - x_lo < 1e-12:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    plot_h, plot_w = _H - _TOP - _BOTTOM, _W - _LEFT - _RIGHT

    def py(v: float) -> float:
        return _TOP + plot_h * (hi - v) / (hi - lo)

    def px(v: float) -> float:
        return _LEFT + plot_w * (float(tx(v)) - x_lo) / (x_hi - x_lo)

    parts = _frame(title, xlabel, ylabel, [(py(t), f"{t:g}") for t in _ticks(lo, hi)])
    if log_x:  # 1, 2, 5 times the powers of ten inside the range
        decades = range(math.floor(x_lo), math.ceil(x_hi) + 1)
        xticks = [m * 10.0**k for k in decades for m in (1, 2, 5)]
        xticks = [t for t in xticks if x_lo - 1e-9 <= math.log10(t) <= x_hi + 1e-9]
    else:
        xticks = _ticks(x_lo, x_hi)
    for v in xticks:
        parts.append(
            f'<text x="{px(v):.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{v:g}</text>'
        )
    entries = [(k, _COLOURS[i % len(_COLOURS)], "") for i, k in enumerate(lines)]
    entries += [(k, "#555", ' stroke-dasharray="6 4"') for k in baselines]
    for label, (mean, std) in baselines.items():
        y0, y1 = py(mean + std), py(mean - std)
        parts.append(
            f'<rect x="{_LEFT}" y="{y0:.1f}" width="{plot_w}" height="{y1 - y0:.1f}" '
            'fill="#555" fill-opacity="0.12"/>'
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{py(mean):.1f}" y2="{py(mean):.1f}" '
            f'stroke="#555" stroke-dasharray="6 4"><title>{escape(label)}: {mean:.2f} ± '
            f"{std:.2f}</title></line>"
        )
    for (label, colour, _), (x, mean, std) in zip(entries, lines.values()):
        order = np.argsort(x)
        x, mean, std = x[order], mean[order], std[order]
        band = [f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, mean + std)]
        band += [f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x[::-1], (mean - std)[::-1])]
        parts.append(f'<polygon points="{" ".join(band)}" fill="{colour}" fill-opacity="0.18"/>')
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, mean))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        parts += [
            f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="3" fill="{colour}"/>'
            for a, b in zip(x, mean)
        ]
    x = float(_LEFT)
    for label, colour, dash in entries:  # legend: one row between the title and the plot
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + 20:.1f}" y1="29" y2="29" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{x + 24:.1f}" y="33" font-size="11">{escape(label)}</text>'
        )
        x += 34 + 6.5 * len(label)
    parts.append("</svg>")
    return SVGFigure("\n".join(parts))
