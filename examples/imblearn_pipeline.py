"""A condenser as the sampling step of an imbalanced-learn pipeline.

The pipeline fits the classifier on the condensed set only (``fit_resample`` is called on the
condenser during ``fit``; at prediction time the step is skipped), here 10 synthetic digits per
class instead of 1,257 real ones, and is cross-validated like any estimator.

Run ``python examples/imblearn_pipeline.py``; ``CONDENSEKIT_FAST=1`` makes it take seconds.
"""

import logging
import os

from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from condensekit import DatasetCondenser, HerdingSelector
from condensekit.data import load_digits_split

logging.basicConfig(level=logging.INFO, format="%(message)s")
FAST = os.environ.get("CONDENSEKIT_FAST") == "1"

# flat rows of 64 features; input_shape lets the condenser treat them as 8x8 images
X_train, X_test, y_train, y_test = load_digits_split(as_images=False)
steps = {
    "dm": DatasetCondenser(
        "dm",
        ipc=10,
        max_iter=5 if FAST else 1000,
        input_shape=(8, 8),
        random_state=0,
        verbose=0,
        augment__flip=False,
        strategy__lr_syn=10.0,
        **({"model__width": 16, "strategy__batch_real": 32} if FAST else {}),
    ),
    "herding": HerdingSelector(ipc=10, features="raw", random_state=0, verbose=0),
}
for name, step in steps.items():
    pipe = make_pipeline(step, LogisticRegression(max_iter=5000))
    scores = cross_val_score(pipe, X_train, y_train, cv=2 if FAST else 5)
    pipe.fit(X_train, y_train)
    logging.info(
        "%-7s + logistic regression: cv %.3f ± %.3f, test %.3f (trained on %d samples)",
        name,
        scores.mean(),
        scores.std(),
        pipe.score(X_test, y_test),
        len(pipe[0].y_syn_),
    )
