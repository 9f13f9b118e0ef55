"""The contract shared by condensers and selectors.

:class:`BaseCondenser` owns what every method shares: reading the caller's data (arrays,
tensors, torch Datasets, any label type), checking it, remembering the caller's layout and scale,
assigning fitted attributes all at once (a failed fit leaves the estimator unfitted), and the
three verbs ``fit``, ``transform`` and ``fit_resample``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from torch.utils.data import Dataset

from ._validation import validate_params
from .data.adapters import (
    InputLayout,
    as_numeric_array,
    infer_layout,
    numpy_dtype,
    read_dataset,
)


@dataclass
class PreparedData:
    """The caller's training data, checked and converted.

    Attributes
    ----------
    X_source : numpy.ndarray or torch.Tensor
        The samples as the caller gave them (selections hand back rows of it).
    X : torch.Tensor
        Float32 internal samples ``(n, C, H, W)`` or ``(n, d)``, not normalised, on the CPU.
    y : numpy.ndarray
        Class index of every sample.
    classes : numpy.ndarray
        The caller's labels, sorted; ``classes[y]`` gives back the original labels.
    layout : InputLayout
        How to go back to the caller's layout.
    """

    X_source: Any
    X: torch.Tensor
    y: np.ndarray
    classes: np.ndarray
    layout: InputLayout

    @property
    def class_counts(self) -> np.ndarray:
        """Number of samples of every class."""
        return np.bincount(self.y, minlength=len(self.classes))


def encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and the index of each label, for any hashable, sortable labels.

    Raises
    ------
    ValueError
        If ``y`` is not one-dimensional or holds NaN.
    TypeError
        If the labels cannot be compared with each other.
    """
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # a column vector is read as labels, with a warning
    if y.ndim != 1:
        raise ValueError(f"y must be a one-dimensional array of labels; got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinite labels.")
    if y.dtype.kind == "c":
        raise TypeError("y must hold class labels; got complex numbers.")
    if y.dtype.kind in "fiub":
        check_classification_targets(y)  # "Unknown label type: continuous" for regression targets
    try:
        classes, y_idx = np.unique(y, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"The labels in y cannot be sorted (mixed types?): {exc}") from None
    return classes, y_idx.astype(np.int64).reshape(-1)


def prepare_training_data(
    X: Any, y: Any, input_shape: tuple[int, ...] | None, owner: str
) -> PreparedData:
    """Check and convert ``X`` and ``y`` (see :class:`BaseCondenser.fit` for what is accepted)."""
    if isinstance(X, Dataset):
        if y is not None:
            raise ValueError(
                f"{owner}.fit got a torch Dataset as X and also y; the labels are read from the "
                "dataset, so pass y=None."
            )
        X, y = read_dataset(X)
    elif y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    X_source = as_numeric_array(X)
    if X_source.ndim < 2:
        raise ValueError(
            "X must hold images (n, C, H, W), (n, H, W, C) or (n, H, W), or rows of features "
            f"(n, d); got an array of shape {tuple(X_source.shape)}. Reshape a single feature "
            "with X.reshape(-1, 1)."
        )
    if X_source.shape[0] == 0 or math.prod(X_source.shape[1:]) == 0:
        what = "sample" if X_source.shape[0] == 0 else "feature"
        raise ValueError(
            f"Found array with 0 {what}(s) (shape={tuple(X_source.shape)}) while a minimum of 1 "
            "is required."
        )
    classes, y_idx = encode_labels(y)
    if X_source.shape[0] != y_idx.shape[0]:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {X_source.shape[0]} and "
            f"{y_idx.shape[0]}."
        )
    if len(classes) < 2:
        raise ValueError(
            f"{owner} needs at least two classes in y; got 1 class ({classes[0].tolist()!r})."
        )
    layout = infer_layout(tuple(X_source.shape[1:]), numpy_dtype(X_source), input_shape)
    return PreparedData(X_source, layout.to_internal(X_source), y_idx, classes, layout)


class RoutedParamsMixin:
    """Accept prefixed keyword parameters (``strategy__lr_syn``, ``model__width``...) like skorch.

    They are stored as attributes, reported by ``get_params`` (so ``clone`` and grid searches
    keep them) and accepted by ``set_params`` even when not given before.
    """

    _routed_prefixes: ClassVar[tuple[str, ...]] = ()

    def _store_routed(self, kwargs: dict[str, Any]) -> None:
        # Like every scikit-learn constructor this only stores. Unprefixed names are kept too and
        # reported by get_params, so clones made by grid searches carry a typo on to fit, which
        # rejects it (check_unexpected_params), instead of silently dropping it.
        self._extra_params = sorted(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def _check_params(self) -> None:
        """Check every parameter against ``_parameter_constraints`` and reject unknown keywords.

        Called at the start of ``fit`` (scikit-learn's rule: constructors only store).
        """
        self.check_unexpected_params()
        validate_params(
            type(self).__name__,
            self.get_params(deep=False),
            getattr(self, "_parameter_constraints", {}),
        )

    def check_unexpected_params(self) -> None:
        """Raise TypeError for constructor keywords that are neither parameters nor routed."""
        unexpected = [k for k in getattr(self, "_extra_params", []) if not self._is_routed(k)]
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got an unexpected keyword argument {unexpected[0]!r}; "
                f"extra settings must start with one of "
                f"{[p + '__' for p in self._routed_prefixes]}."
            )

    def _is_routed(self, key: str) -> bool:
        return "__" in key and key.partition("__")[0] in self._routed_prefixes

    def routed_params(self, prefix: str) -> dict[str, Any]:
        """Settings given as ``<prefix>__<name>``, without the prefix."""
        start = prefix + "__"
        return {
            k[len(start) :]: getattr(self, k)
            for k in getattr(self, "_extra_params", [])
            if k.startswith(start)
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of the estimator, routed (and unexpected) keywords included."""
        params = super().get_params(deep=deep)  # type: ignore[misc]
        params.update({k: getattr(self, k) for k in getattr(self, "_extra_params", [])})
        return params

    def set_params(self, **params: Any):
        """Set parameters; routed ones (``prefix__name``) may be new."""
        routed = {k: params.pop(k) for k in list(params) if self._is_routed(k)}
        for key, value in routed.items():
            setattr(self, key, value)
        self._extra_params = sorted({*getattr(self, "_extra_params", []), *routed})
        return super().set_params(**params)  # type: ignore[misc]


def _fitted_with_fit(estimator: BaseCondenser) -> bool:
    check_is_fitted(estimator)
    return bool(getattr(estimator, "_transform_available", False))


class BaseCondenser(RoutedParamsMixin, BaseEstimator):
    """Base class of condensers and selectors.

    Subclasses implement :meth:`_fit_state`, which returns every fitted attribute in a dict;
    :meth:`fit` assigns them only when the whole fit succeeded.
    """

    #: Attributes that hold fitted state besides those ending in "_": whether ``transform`` is
    #: available, and the parameters (``get_params(deep=False)``) the fit ran with, which
    #: :func:`condensekit.io.save` records even after a later ``set_params``.
    _private_fitted: ClassVar[tuple[str, ...]] = ("_transform_available", "_fit_params")

    def _fit_state(self, X: Any, y: Any) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _reset(self) -> None:
        for key in list(vars(self)):
            if (key.endswith("_") and not key.startswith("_")) or key in self._private_fitted:
                delattr(self, key)

    def _fit(self, X: Any, y: Any, transform_available: bool) -> None:
        self._reset()
        params = self.get_params(deep=False)
        try:
            state = self._fit_state(X, y)
        except BaseException:
            self._reset()
            raise
        for key, value in state.items():
            setattr(self, key, value)
        self._transform_available = transform_available
        self._fit_params = params

    def fit(self, X: Any, y: Any = None) -> BaseCondenser:
        """Learn the condensed set.

        Parameters
        ----------
        X : array-like, torch.Tensor or torch.utils.data.Dataset
            Images ``(n, C, H, W)``, ``(n, H, W, C)`` or ``(n, H, W)``, or rows of features
            ``(n, d)`` (set ``input_shape`` to treat rows as images); any numeric dtype, any value
            scale. A map-style Dataset yielding ``(image, label)`` pairs is read whole, or
            streamed with ``data_mode="stream"`` (:class:`~condensekit.DatasetCondenser`).
        y : array-like of shape (n,)
            Class labels of any sortable hashable type, at least two classes. Must be None when
            ``X`` is a Dataset.

        Returns
        -------
        self
        """
        self._fit(X, y, transform_available=True)
        return self

    def fit_resample(self, X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Fit and return the condensed set ``(X_syn, y_syn)`` in one call.

        This is the verb imbalanced-learn pipelines call on sample-changing steps. After
        ``fit_resample`` the estimator does not offer ``transform``, so the same pipeline can be
        fitted again; call :meth:`fit` to use :meth:`transform`.
        """
        self._fit(X, y, transform_available=False)
        return self.X_syn_.copy(), self.y_syn_.copy()

    @available_if(_fitted_with_fit)
    def transform(self, X: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the condensed set.

        Available once the estimator was fitted with :meth:`fit` (hidden before, and after
        :meth:`fit_resample`, so imbalanced-learn pipelines accept the estimator as a step).

        Parameters
        ----------
        X : None
            The condensed set does not depend on new data, so nothing may be passed.

        Returns
        -------
        X_syn : numpy.ndarray
            Condensed samples in the caller's layout and value scale.
        y_syn : numpy.ndarray
            Their labels, in the caller's label space.
        """
        if X is not None:
            raise ValueError(
                f"{type(self).__name__}.transform() takes no data: the condensed set does not "
                "depend on new samples. Call transform() without arguments."
            )
        return self.X_syn_.copy(), self.y_syn_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
