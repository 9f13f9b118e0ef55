"""CondensedEvaluator: train fresh networks on a condensed set and test them."""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from numbers import Integral, Real
from typing import Any, ClassVar

import joblib
import numpy as np
import torch
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from .._torch_utils import (
    resolve_device,
    seed_from_random_state,
)
from .._validation import (
    BOOLEAN,
    NONE,
    RANDOM_STATE,
    Check,
    Dynamic,
    InstanceOf,
    Interval,
    Options,
    is_augment,
)
from ..augment import AUGMENTATIONS, build_augment
from ..base import RoutedParamsMixin
from ..data.adapters import InputLayout, as_numeric_array
from ..models import resolve_model_name
from .compare import Comparison, compare
from .inputs import condensed_parts, soft_targets
from .networks import train_and_test
from .protocols import PROTOCOLS, resolve_protocol
from .results import EvaluationResult

logger = logging.getLogger("condensekit")


def _augment_name(augment: Any, spec: Any) -> str | None:
    """A short name of the augmentation used: the registered name, else the class name."""
    if augment is None:
        return None
    for name in AUGMENTATIONS.names():
        if type(augment) is AUGMENTATIONS.get(name):
            return name
    return spec if isinstance(spec, str) else type(augment).__name__


class CondensedEvaluator(RoutedParamsMixin, BaseEstimator):
    """Score a condensed set by training fresh networks on it (the papers' protocol).

    Each of ``n_models`` networks is trained from scratch on the condensed set with SGD
    (momentum 0.9, weight decay 5e-4, batch 256), the learning rate multiplied by 0.1 at the
    halfway epoch; the test accuracy after the final epoch is recorded (never the best epoch on
    the test set). Inputs are normalised with the statistics of the real training data when a
    fitted condenser or a :class:`~condensekit.CondensedSet` read from a file is given, else
    (a bare pair ``(X_syn, y_syn)``) with those of the condensed set.

    Usable as a scikit-learn scorer: ``scorer(estimator, X_test, y_test)`` returns the mean
    accuracy in ``[0, 1]``, so ``GridSearchCV(..., scoring=CondensedEvaluator())`` works.

    Parameters
    ----------
    model : str, default="auto"
        ``"convnet"`` for images and ``"mlp"`` for rows when ``"auto"``; any name accepted by
        :func:`condensekit.models.build_model`. Settings as ``model__<name>``.
    n_models : int, default=5
        Networks trained, each from its own seed.
    epochs : int or "auto", default="auto"
        Training epochs; ``"auto"`` is 300, or 1000 when ``augment`` is set (as in the papers).
        Must stay ``"auto"`` under a named ``protocol``, which sets it.
    lr : float, default=0.01
        Initial learning rate.
    batch_size : int, default=256
        Mini-batch size.
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=5e-4
        SGD weight decay.
    augment : None, str or augmentation object, default=None
        Augmentation while training (``"dsa"``, ``"dc"``); settings as ``augment__<name>``.
        Must stay None under a named ``protocol``, which sets it (``augment__<name>`` settings
        still apply on top of the protocol's augmentation).
    protocol : str, default="default"
        ``"default"``: train with ``augment`` and ``epochs`` as given (DESIGN.md's protocol: no
        augmentation, 300 epochs). ``"paper"``: the protocol of the paper of the method that
        made the set (``dc`` for dc, dcc and the selections; ``dsa`` for dsa, dsa_dcc, dm, ddm
        and generative); it needs a fitted condenser or a :class:`~condensekit.CondensedSet`.
        Or a protocol by name: ``"plain"`` (none, 300 epochs), ``"dc"`` (DC's crop/scale/rotate
        and 1000 epochs on single-channel images, none and 300 epochs on colour), ``"dsa"``
        (DSA, no flips on single-channel images, 1000 epochs). The table is in
        :mod:`condensekit.evaluation.protocols`; rows of features always train 300 epochs
        without augmentation.
    device : str or torch.device, default="auto"
        Where the networks train.
    random_state : int, RandomState or None, default=None
        Seeds of the networks' initialisation, shuffling and augmentation.
    verbose : int or bool, default=0
        Progress bar over the networks when true.
    n_jobs : int or None, default=None
        Networks trained at once, through joblib (``None``: 1 unless inside a
        ``joblib.parallel_config`` that says otherwise; ``-1``: every core). Every network keeps
        its own seed, so the accuracies are those of a serial run with the same number of
        threads per network (CPU kernels may sum in another order with more threads); under
        ``joblib.parallel_config(backend="dask")`` or ``"ray"`` the networks train on a
        cluster. Each worker process uses ``torch.get_num_threads() // n_jobs`` threads (at
        least one); a thread backend trains one network at a time (the global random state
        each network isolates is one per process).
    **kwargs
        ``model__<name>`` and ``augment__<name>`` settings.
    """

    _routed_prefixes: ClassVar[tuple[str, ...]] = ("model", "augment")
    _parameter_constraints: ClassVar[dict] = {
        "model": [InstanceOf((str,), "a model name (str)")],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Options(["auto"]), Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "augment": [
            NONE,
            Dynamic(AUGMENTATIONS.names),
            Check(is_augment, "an augmentation object"),
        ],
        "device": [InstanceOf((str, torch.device), "a device string or a torch.device")],
        "random_state": [RANDOM_STATE],
        "verbose": [BOOLEAN, Interval(Integral, 0, None, closed="left")],
        "protocol": [Options(["default", "paper"]), Dynamic(PROTOCOLS.names)],
        "n_jobs": [
            NONE,
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
        ],
    }

    def __init__(
        self,
        model: str = "auto",
        n_models: int = 5,
        epochs: int | str = "auto",
        lr: float = 0.01,
        batch_size: int = 256,
        *,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        augment: Any = None,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        protocol: str = "default",
        n_jobs: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.model = model
        self.n_models = n_models
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.augment = augment
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.protocol = protocol
        self.n_jobs = n_jobs
        self._store_routed(kwargs)

    def _check_protocol(self) -> None:
        if self.protocol == "default":
            return
        clashes = [
            f"{name}={getattr(self, name)!r}"
            for name, default in (("augment", None), ("epochs", "auto"))
            if getattr(self, name) != default
        ]
        if clashes:
            raise ValueError(
                f"protocol={self.protocol!r} sets the augmentation and the epochs itself; got "
                f"{' and '.join(clashes)}. Leave augment=None and epochs='auto', or use "
                "protocol='default'."
            )

    def evaluate(
        self,
        condensed: Any,
        X_test: Any,
        y_test: Any,
        *,
        input_shape: tuple[int, ...] | None = None,
        n_per_class: int | None = None,
        soft_labels: Any = None,
        temperature: float = 1.0,
    ) -> EvaluationResult:
        """Train ``n_models`` fresh networks on the condensed set and test them.

        Parameters
        ----------
        condensed : fitted condenser, Pipeline ending in one, CondensedSet or (X_syn, y_syn)
            The condensed set. A Pipeline's earlier steps transform ``X_test`` first. A
            :class:`~condensekit.CondensedSet` read by :func:`~condensekit.load_condensed` is
            normalised with the real training statistics stored in its file.
        X_test : array-like or torch.Tensor
            Test samples in the same layout as the condenser's training data.
        y_test : array-like
            Test labels in the caller's label space; labels absent from the condensed set
            count as errors.
        input_shape : tuple of int, optional
            For a pair of flat rows that should be read as images.
        n_per_class : int, optional
            Score ``condensed.sample(n_per_class)`` instead of the condensed set: a new draw
            from a fitted ``method="generative"`` condenser or a saved generative set
            (:class:`~condensekit.CondensedSet`), or the ``n_per_class`` highest-ranked
            samples of every class of a fitted selection (the set a fit with that ``ipc``
            keeps), normalised like its set.
        soft_labels : array-like of shape (n_samples, n_classes), optional
            A teacher's logits on the condensed samples (in ``classes`` order): the networks
            train on ``softmax(logits / temperature)`` instead of the labels, as DD-Ranking's
            soft-label protocol does. Another protocol than the papers': the result says
            ``labels="soft"``.
        temperature : float, default=1.0
            Softening of ``soft_labels``.

        Returns
        -------
        EvaluationResult
        """
        self._check_params()
        self._check_protocol()
        device = resolve_device(self.device, type(self).__name__)
        X_syn, y_syn, classes, layout, normalizer, X_test, method = condensed_parts(
            condensed, X_test, input_shape, n_per_class
        )
        channels = layout.internal_shape[0] if layout.is_image else None
        if self.protocol == "default":
            protocol = None
        elif self.protocol == "paper" and method is None and channels is None:
            protocol = resolve_protocol("plain", None, None)  # rows: every paper trains plainly
        else:
            protocol = resolve_protocol(self.protocol, method, channels)
        X_train = normalizer.normalize(
            layout.to_internal(as_numeric_array(X_syn, "X_syn"), "X_syn")
        )
        y_train = self._encode(y_syn, classes)
        if soft_labels is not None:
            if n_per_class is not None:
                raise ValueError("soft_labels are logits on the set; n_per_class draws another.")
            y_train = soft_targets(soft_labels, len(y_train), len(classes), temperature)
        X_eval = normalizer.normalize(
            layout.to_internal(as_numeric_array(X_test, "X_test"), "X_test")
        )
        y_eval = self._encode(y_test, classes)
        if X_eval.shape[0] == 0:
            raise ValueError("X_test holds 0 samples; evaluation needs at least one.")
        if X_eval.shape[0] != y_eval.shape[0]:
            raise ValueError(
                f"X_test and y_test have inconsistent numbers of samples: "
                f"{X_eval.shape[0]} and {y_eval.shape[0]}."
            )
        unknown = int((y_eval < 0).sum())
        if unknown:
            logger.warning(
                "%d test samples have labels absent from the condensed set; they count as errors.",
                unknown,
            )
        return self._run(
            X_train.to(device),
            torch.as_tensor(y_train, device=device),
            X_eval.to(device),
            torch.as_tensor(y_eval, device=device),
            layout,
            len(classes),
            device,
            protocol,
        )

    @staticmethod
    def _encode(y: Any, classes: np.ndarray) -> np.ndarray:
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"Labels must be one-dimensional; got shape {y.shape}.")
        pos = np.searchsorted(classes, y)
        pos = np.clip(pos, 0, len(classes) - 1)
        return np.where(classes[pos] == y, pos, -1).astype(np.int64)

    def _run(
        self,
        X_train,
        y_train,
        X_test,
        y_test,
        layout: InputLayout,
        n_classes: int,
        device: torch.device,
        protocol=None,
    ) -> EvaluationResult:
        model_name = resolve_model_name(self.model, layout.is_image)
        if protocol is None:
            augment = build_augment(self.augment, **self.routed_params("augment"))
            if augment is not None and not layout.is_image:
                raise ValueError(
                    "augment needs images, but the condensed set holds rows of features."
                )
            epochs = (
                (1000 if augment is not None else 300) if self.epochs == "auto" else self.epochs
            )
        else:
            settings = {**protocol.augment_params, **self.routed_params("augment")}
            if protocol.augment is None and self.routed_params("augment"):
                logger.warning(
                    "protocol=%r trains these samples without augmentation; the settings %s "
                    "are not used.",
                    self.protocol,
                    sorted(f"augment__{k}" for k in self.routed_params("augment")),
                )
            if protocol.augment is None:
                settings = {}
            augment = build_augment(protocol.augment, **settings)
            epochs = protocol.epochs
        seeds = np.random.SeedSequence(seed_from_random_state(self.random_state)).generate_state(
            self.n_models, dtype=np.uint64
        )
        job = partial(
            train_and_test,
            model_name=model_name,
            shape=layout.internal_shape,
            n_classes=n_classes,
            device=device,
            model_kwargs=self.routed_params("model"),
            train_kwargs={
                "epochs": int(epochs),
                "lr": float(self.lr),
                "momentum": float(self.momentum),
                "weight_decay": float(self.weight_decay),
                "batch_size": int(self.batch_size),
                "augment": augment,
            },
            data=(X_train, y_train, X_test, y_test),
        )
        start = time.perf_counter()
        with joblib.parallel_config(n_jobs=self.n_jobs):
            n_jobs = joblib.effective_n_jobs()
        threads = (os.getpid(), max(1, torch.get_num_threads() // n_jobs)) if n_jobs > 1 else None
        runs = joblib.Parallel(n_jobs=self.n_jobs, return_as="generator")(
            joblib.delayed(job)(int(seed) & ((1 << 63) - 1), threads) for seed in seeds
        )
        accs = list(tqdm(runs, total=len(seeds), desc="evaluate", disable=not self.verbose))
        elapsed = time.perf_counter() - start
        result = EvaluationResult(
            float(np.mean(accs)),
            float(np.std(accs)),
            accs,
            elapsed,
            int(self.n_models),
            int(epochs),
            model_name,
            "default" if protocol is None else protocol.name,
            _augment_name(augment, self.augment),
            "soft" if y_train.dim() == 2 else "hard",
        )
        logger.info("CondensedEvaluator: %s", result)
        return result

    def compare(
        self,
        condensed: Any,
        X_train: Any,
        y_train: Any,
        X_test: Any,
        y_test: Any,
        *,
        full: bool = False,
        random_state: int | None = 0,
    ) -> Comparison:
        """DD-Ranking-style scores: the set beside a random real subset of ``X_train`` with as
        many samples of every class (drawn by ``random_state``), both scored by this evaluator
        under the protocol it resolves for the set; with ``full``, networks trained on all of
        ``X_train`` too (as costly as training on the whole data ``n_models`` times). Returns a
        :class:`~condensekit.evaluation.compare.Comparison` (``improvement_over_random``,
        ``gap_to_full``)."""
        return compare(
            self, condensed, X_train, y_train, X_test, y_test, full=full, random_state=random_state
        )

    def __call__(self, estimator: Any, X_test: Any, y_test: Any) -> float:
        """Scorer interface: mean test accuracy in ``[0, 1]``."""
        return self.evaluate(estimator, X_test, y_test).mean
