"""Condense scikit-learn's digits with distribution matching, look at the result, save it.

Writes ``digits_dm.png`` (the condensed images, one row per class), ``digits_dm_loss.svg`` (the
matching loss) and ``digits_dm.npz`` (the set and its metadata), then reloads the file and
scores it beside random real samples.

Run ``python examples/condense_and_look.py``; ``CONDENSEKIT_FAST=1`` makes it take seconds.
In a notebook, the last expression of a cell ``image_grid(cond)`` shows the grid inline.
"""

import logging
import os

from condensekit import CondensedEvaluator, DatasetCondenser, RandomSelector, load_condensed
from condensekit.data import load_digits_split
from condensekit.plotting import image_grid, loss_curve

logging.basicConfig(level=logging.INFO, format="%(message)s")
FAST = os.environ.get("CONDENSEKIT_FAST") == "1"

X_train, X_test, y_train, y_test = load_digits_split()  # 8x8 images, pixel values 0..16
cond = DatasetCondenser(
    "dm",
    ipc=10,
    max_iter=20 if FAST else 1000,
    random_state=0,
    verbose=0 if FAST else 1,
    augment__flip=False,  # mirrored digits are not digits
    strategy__lr_syn=10.0,  # the quick budget's lr = ipc (see docs/benchmarks.md)
    **({"model__width": 16, "strategy__batch_real": 32} if FAST else {}),
)
cond.fit(X_train, y_train)

image_grid(cond).save("digits_dm.png")
loss_curve(cond).save("digits_dm_loss.svg")
cond.save("digits_dm.npz")
logging.info("condensed %d digits into %d in %.1f s", len(y_train), cond.ipc * 10, cond.fit_time_)

quick = {"n_models": 1, "epochs": 20, "model__width": 16} if FAST else {}
evaluator = CondensedEvaluator(random_state=0, **quick)
loaded = load_condensed("digits_dm.npz")  # no pickle: safe to open files from others
logging.info("dm (reloaded): %s", evaluator.evaluate(loaded, X_test, y_test))
random = RandomSelector(ipc=10, random_state=0, verbose=0).fit(X_train, y_train)
logging.info("random:        %s", evaluator.evaluate(random, X_test, y_test))
