"""What a continual-learning run gives: :class:`ContinualResult`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..charts import SVGFigure, accuracy_curves


@dataclass
class ContinualResult:
    """Accuracy of every method after every step of a class-incremental run.

    Attributes
    ----------
    cells : list of dict
        One per (method, order, step): ``method`` (its label), ``order``, ``step``,
        ``classes`` (the classes the step added), ``classes_seen``, ``memory_size`` (samples in
        the memory after the step), ``accuracies`` (one per evaluation network, on the test
        samples of every class seen so far), ``acc_mean``, ``acc_std``, ``fit_time_s`` and
        ``eval_time_s`` (0 for a set or an evaluation read back from the run's folder).
    settings : dict
        The run's settings: steps, ipc, orders, class orders, random_state, evaluator.
    """

    cells: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """Method labels, in the order they were run."""
        return list(dict.fromkeys(c["method"] for c in self.cells))

    def curve(self, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(classes seen, mean, std)`` of ``method`` at every step: the mean and std are
        taken over every order and every evaluation network (the paper's pooling), in %."""
        rows = [c for c in self.cells if c["method"] == method]
        if not rows:
            raise KeyError(f"no method {method!r} in this result; it has {self.methods}.")
        steps = sorted({c["step"] for c in rows})
        seen, mean, std = [], [], []
        for step in steps:
            accs = [a for c in rows if c["step"] == step for a in c["accuracies"]]
            seen.append(next(c["classes_seen"] for c in rows if c["step"] == step))
            mean.append(100 * float(np.mean(accs)))
            std.append(100 * float(np.std(accs)))
        return np.array(seen), np.array(mean), np.array(std)

    def final(self) -> dict[str, tuple[float, float]]:
        """``{method: (mean, std)}`` at the last step (the headline), in %."""
        return {m: (float(self.curve(m)[1][-1]), float(self.curve(m)[2][-1])) for m in self.methods}

    def to_markdown(self) -> str:
        """One row per method, one column per step (classes seen): mean ± std in %."""
        seen = self.curve(self.methods[0])[0]
        lines = [
            "| method | " + " | ".join(f"{int(n)} classes" for n in seen) + " |",
            "|---|" + "---|" * len(seen),
        ]
        for method in self.methods:
            _, mean, std = self.curve(method)
            cells = " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in zip(mean, std, strict=True))
            lines.append(f"| {method} | {cells} |")
        return "\n".join(lines)

    def plot(self, title: str = "class-incremental learning") -> SVGFigure:
        """Accuracy against classes seen, one line per method with a shaded ± std band."""
        return accuracy_curves(
            {m: self.curve(m) for m in self.methods},
            title=title,
            xlabel="classes seen",
            ylabel="test accuracy % (classes seen)",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return {"settings": self.settings, "cells": self.cells}

    def save_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1)

    def __str__(self) -> str:
        return self.to_markdown()
