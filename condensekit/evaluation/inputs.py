"""What the evaluator accepts as a condensed set, read into one form.

A fitted condenser, a ``Pipeline`` ending in one (its earlier steps transform the test data), a
:class:`~condensekit.CondensedSet` (saved and loaded) or a bare pair ``(X_syn, y_syn)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..base import BaseCondenser, encode_labels
from ..data.adapters import Normalizer, as_numeric_array, infer_layout, numpy_dtype
from ..kinds import KINDS
from ..sets import CondensedSet


def condensed_parts(
    condensed: Any, X_test: Any, input_shape: Any, n_per_class: int | None = None
) -> tuple:
    """Return (X_syn, y_syn, classes, layout, normalizer, X_test, method) from what the caller
    gave; ``method`` is the name of the method that made the set (None for a bare pair)."""
    if isinstance(condensed, Pipeline):
        if len(condensed) > 1:
            X_test = condensed[:-1].transform(X_test)
        condensed = condensed[-1]
    if isinstance(condensed, BaseCondenser):
        check_is_fitted(condensed)
        if n_per_class is not None and not hasattr(condensed, "sample"):
            raise ValueError(
                "n_per_class needs a condenser that can sample (a fitted method='generative' "
                f"condenser or a selection); {type(condensed).__name__} with "
                f"method={getattr(condensed, 'method', None)!r} cannot."
            )
        # the set as fitted (a later set_params(method=...) does not change it)
        condensed = condensed.to_condensed_set()
    if isinstance(condensed, CondensedSet):
        X_syn, y_syn = condensed.X, condensed.y
        if n_per_class is not None:
            if not KINDS.get(condensed.kind).can_sample:
                raise ValueError(
                    "n_per_class needs a set that can sample (a saved method='generative' set "
                    f"or a selection); this one was made by {condensed.method!r}."
                )
            X_syn, y_syn = condensed.sample(n_per_class)
        return (
            X_syn,
            y_syn,
            condensed.classes,
            condensed.input_layout,
            condensed.normalizer,
            X_test,
            condensed.method,
        )
    if n_per_class is not None:
        raise ValueError("n_per_class needs a fitted condenser, not a pair (X_syn, y_syn).")
    if isinstance(condensed, (tuple, list)) and len(condensed) == 2:
        X_syn = as_numeric_array(condensed[0], "X_syn")
        if X_syn.ndim < 2:
            raise ValueError(f"X_syn must have at least two dimensions; got {tuple(X_syn.shape)}.")
        n_labels = np.shape(condensed[1])[0] if np.ndim(condensed[1]) else 0
        if X_syn.shape[0] != n_labels:
            raise ValueError(
                "X_syn and y_syn have inconsistent numbers of samples: "
                f"{X_syn.shape[0]} and {n_labels}."
            )
        classes, _ = encode_labels(condensed[1])
        layout = infer_layout(tuple(X_syn.shape[1:]), numpy_dtype(X_syn), input_shape)
        normalizer = Normalizer.fit(layout.to_internal(X_syn))
        return X_syn, condensed[1], classes, layout, normalizer, X_test, None
    raise TypeError(
        "CondensedEvaluator needs a fitted condenser, a Pipeline ending in one, a CondensedSet "
        "or a pair "
        f"(X_syn, y_syn); got {type(condensed).__name__}."
    )


def soft_targets(soft_labels: Any, n_samples: int, n_classes: int, temperature: float) -> Any:
    """A teacher's logits ``(n_samples, n_classes)`` on the set as training targets: the
    softmax of ``logits / temperature`` (float32), checked; ValueError otherwise."""
    logits = torch.as_tensor(np.asarray(soft_labels, dtype=np.float32))
    if logits.shape != (n_samples, n_classes):
        raise ValueError(
            f"soft_labels must hold one row of {n_classes} logits per condensed sample, shape "
            f"({n_samples}, {n_classes}); got {tuple(logits.shape)}."
        )
    if not torch.isfinite(logits).all():
        raise ValueError("soft_labels contains NaN or infinite logits.")
    if not (isinstance(temperature, (int, float)) and 0 < temperature < float("inf")):
        raise ValueError(f"temperature must be a positive finite number; got {temperature!r}.")
    return torch.softmax(logits / float(temperature), dim=1)
