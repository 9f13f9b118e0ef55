"""Benchmarks: the datasets, the named budgets, one cell runner, the grid runner and reports.

The one runner of every benchmark, the ``condensekit benchmark`` command and the scripts under
``benchmarks/`` alike:

* :mod:`~condensekit.benchmark.datasets`: :data:`DATASETS` (local files only) and their flips;
* :mod:`~condensekit.benchmark.budgets`: :data:`BUDGETS`, looked up by the family a method
  declares;
* :mod:`~condensekit.benchmark.cells`: one cell (condense, score under each protocol) from a
  JSON-able spec, in this process or a fresh one, and the resumable results file;
* :mod:`~condensekit.benchmark.runner`: :func:`run_benchmark`, a grid of cells;
* :mod:`~condensekit.benchmark.report`: markdown tables and bar charts.
"""

from .budgets import BUDGETS, budget_settings, budgeted_datasets
from .cells import (
    add_sections,
    previous_cells,
    protocol_rows,
    ranked_rows,
    run_cell,
    run_cells,
    same_cell,
    write_report,
)
from .datasets import DATASETS, FLIP, BenchmarkDataset, load_dataset
from .report import accuracy_chart, cell_table, markdown_table
from .runner import resolve_cell_protocols, run_benchmark

__all__ = [
    "BUDGETS",
    "DATASETS",
    "FLIP",
    "BenchmarkDataset",
    "accuracy_chart",
    "add_sections",
    "budget_settings",
    "budgeted_datasets",
    "cell_table",
    "load_dataset",
    "markdown_table",
    "previous_cells",
    "protocol_rows",
    "ranked_rows",
    "resolve_cell_protocols",
    "run_benchmark",
    "run_cell",
    "run_cells",
    "same_cell",
    "write_report",
]
