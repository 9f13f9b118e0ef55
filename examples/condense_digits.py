"""Condense scikit-learn's digits with distribution matching and compare with random samples.

Run ``python examples/condense_digits.py``; set ``CONDENSEKIT_FAST=1`` for a seconds-long run.
"""

import logging
import os

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit.data import load_digits_split

logging.basicConfig(level=logging.INFO, format="%(message)s")
FAST = os.environ.get("CONDENSEKIT_FAST") == "1"

X_train, X_test, y_train, y_test = load_digits_split()  # 8x8 images, pixel values 0..16
budget = {"max_iter": 20, "model__width": 16} if FAST else {"max_iter": 1000}
evaluator = CondensedEvaluator(
    n_models=2 if FAST else 5, epochs=50 if FAST else 300, random_state=0
)

for method in ("random", "dm"):
    cond = DatasetCondenser(
        method,
        ipc=1,
        random_state=0,
        verbose=0,
        augment__flip=False,
        **(budget if method == "dm" else {}),
    )
    cond.fit(X_train, y_train)
    X_syn, y_syn = cond.transform()  # (10, 8, 8) on the 0..16 scale, labels 0..9
    result = evaluator.evaluate(cond, X_test, y_test)
    logging.info("%-6s ipc=1: %s; condensed in %.1f s", method, result, cond.fit_time_)
