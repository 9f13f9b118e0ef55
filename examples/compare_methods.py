"""Compare every method on digits at ipc=1 under the quick budget, with one evaluator.

Writes ``compare_digits/results.json``, ``results.md`` and ``accuracy_digits.svg``; a second run
skips the cells already finished. The same from a terminal::

    condensekit benchmark --datasets digits --methods random herding dm dc --ipc 1

Run ``python examples/compare_methods.py``; ``CONDENSEKIT_FAST=1`` makes it take a minute
(tiny budgets: the numbers then mean nothing).
"""

import logging
import os

from condensekit import list_methods
from condensekit.benchmark import markdown_table, run_benchmark

logging.basicConfig(level=logging.INFO, format="%(message)s")
FAST = os.environ.get("CONDENSEKIT_FAST") == "1"

methods = list_methods()  # every registered method: selections, matching, generative
overrides = {}
if FAST:
    overrides = {
        "*": {"max_iter": 2, "model__width": 16},
        **{m: {"strategy__batch_real": 16} for m in ("dm", "ddm", "dc", "dsa", "dcc", "dsa_dcc")},
        "generative": {"strategy__warmup_iter": 2, "strategy__batch_real": 16},
        "herding": {"strategy__features": "raw"},
        "kcenter": {"strategy__features": "raw"},
        "el2n": {"strategy__n_networks": 1, "strategy__epochs": 1},
        "grand": {"strategy__n_networks": 1, "strategy__epochs": 0},
        "forgetting": {"strategy__epochs": 2},
    }
rows = run_benchmark(
    ["digits"],
    methods,
    [1],
    budget="quick",
    n_models=1 if FAST else 5,
    epochs=20 if FAST else 300,
    overrides=overrides,
    out_dir="compare_digits",
    verbose=0,
)
logging.info("\n%s", markdown_table(rows))
