"""Grid-search ipc and a strategy parameter, scoring each condensed set with CondensedEvaluator.

``CondensedEvaluator`` is a scikit-learn scorer: on every split it trains fresh networks on the
set condensed from the training folds and tests them on the held-out fold.

Run ``python examples/grid_search.py``; ``CONDENSEKIT_FAST=1`` makes it take seconds.
"""

import logging
import os

from sklearn.model_selection import GridSearchCV, StratifiedKFold

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit.data import load_digits_split

logging.basicConfig(level=logging.INFO, format="%(message)s")
FAST = os.environ.get("CONDENSEKIT_FAST") == "1"

X_train, X_test, y_train, y_test = load_digits_split()
condenser = DatasetCondenser(
    "dm",
    max_iter=10 if FAST else 500,
    random_state=0,
    verbose=0,
    augment__flip=False,
    strategy__batch_real=32 if FAST else 256,
    **({"model__width": 16} if FAST else {}),
)
small = {"model__width": 16} if FAST else {}  # a narrower network in the fast mode
search = GridSearchCV(
    condenser,
    {"ipc": [1, 5], "strategy__lr_syn": [1.0, 5.0]},
    scoring=CondensedEvaluator(n_models=1, epochs=20 if FAST else 300, random_state=0, **small),
    # stratified folds: a condenser is not a classifier, so an integer cv would be plain KFold
    cv=StratifiedKFold(2 if FAST else 3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    logging.info("%s: %.3f", params, score)
logging.info("best: %s (%.3f)", search.best_params_, search.best_score_)
final = CondensedEvaluator(
    n_models=1 if FAST else 5, epochs=20 if FAST else 300, random_state=0, **small
)
logging.info("best on the test split: %s", final.evaluate(search.best_estimator_, X_test, y_test))
