"""Every method at a glance: one table built from the cells in ``benchmarks/results/*.json``.

A cell enters the table only if it ran with the package's quick budget for its method, dataset
and ipc (``condensekit.benchmark.budget_settings``) and the default evaluator (5 networks), so
every entry is comparable; cells of other budgets (probes, reduced runs) stay in their own
sections of docs/benchmarks.md. With several seeds an entry is the mean ± std over seeds' means.
A selection cell's smaller budgets (scored from its ranking,
``condensekit.benchmark.ranked_rows``) count as cells of their own ipc. A cell marked
``"superseded"`` (with the reason: its method has changed since it ran) is kept in its file for
the record but left out. A ``strategy__`` setting equal to the method's current default counts
as the default.

Usage::

    python benchmarks/summarize.py                       # prints the markdown table
    python benchmarks/summarize.py --results benchmarks/results --out summary.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from condensekit.benchmark import budget_settings, budgeted_datasets, markdown_table, ranked_rows
from condensekit.methods import METHODS

ORDER = [
    "random",
    "herding",
    "kcenter",
    "el2n",
    "grand",
    "forgetting",
    "dm",
    "ddm",
    "dc",
    "dsa",
    "dcc",
    "dsa_dcc",
    "generative",
]


def _beyond_defaults(method: str, settings: dict) -> dict:
    """A cell's settings without the cell key and without ``strategy__`` settings that equal
    the method's current defaults (a cell that named the default order is a default cell)."""
    defaults = METHODS.get(method)().get_params(deep=False)
    missing = object()
    return {
        k: v
        for k, v in settings.items()
        if k not in ("ipc", "random_state", "device")
        and not (k.startswith("strategy__") and defaults.get(k[len("strategy__") :], missing) == v)
    }


def quick_cells(folder: Path) -> list[dict]:
    """The quick-budget, default-evaluator cells of every results file, one per cell key."""
    found: dict[tuple, dict] = {}
    budgeted = budgeted_datasets("quick")
    for path in sorted(folder.glob("*.json")):
        for cell in ranked_rows(json.loads(path.read_text()).get("cells", [])):
            dataset, method, ipc = cell["dataset"], cell["method"], cell["ipc"]
            if dataset not in budgeted or method not in ORDER or len(cell["accuracies"]) != 5:
                continue
            if cell.get("superseded"):  # the method has changed since; the reason is recorded
                continue
            if cell.get("eval_epochs") not in (None, 300):  # the protocol's evaluator only
                continue
            settings = _beyond_defaults(method, cell["settings"])
            if settings != _beyond_defaults(method, budget_settings("quick", method, dataset, ipc)):
                continue
            found[(dataset, ipc, method, cell["seed"])] = {**cell, "source": path.name}
    return sorted(found.values(), key=lambda c: (ORDER.index(c["method"]), c["seed"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--out", default=None, help="also write the chosen cells as JSON")
    args = parser.parse_args(argv)
    cells = quick_cells(Path(args.results))
    print(markdown_table(cells))
    if args.out:
        Path(args.out).write_text(json.dumps(cells, indent=2))


if __name__ == "__main__":
    main()
