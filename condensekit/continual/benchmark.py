"""Class-incremental learning with condensed sets as the replay memory.

The protocol of the continual-learning experiments of the DM and decomposed-DM papers (the one
with public code: VICO-UoE/DatasetCondensation, ``CL_DM.py``): the classes are split into
``steps`` groups in an order drawn from a seed; at every step the new classes' training data is
condensed (or selected) into ``ipc`` samples per class and added to the memory, whose earlier
samples stay as they are; then fresh networks, with one output per class of the whole dataset
from the first step on, are trained from scratch on the memory and tested on the test samples
of every class seen so far. Accuracies are pooled over orders and networks per step.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from tqdm.auto import tqdm

from .._torch_utils import derived_seed
from .._validation import (
    BOOLEAN,
    NONE,
    InstanceOf,
    Interval,
    InvalidParameterError,
    validate_params,
)
from ..base import BaseCondenser
from ..condenser import DatasetCondenser
from ..data.adapters import Normalizer, as_numeric_array
from ..evaluation import CondensedEvaluator
from ..io import load_condensed, save_condensed
from ..sets import CondensedSet
from .result import ContinualResult

logger = logging.getLogger(__name__)

#: What ``run`` accepts per method: a method name, a dict of DatasetCondenser parameters, or an
#: unfitted condenser (cloned for every step).
MethodSpec = str | Mapping[str, Any] | BaseCondenser


def _numpy(a: Any, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if not hasattr(a, "__len__") or isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array-like or a torch.Tensor; got {type(a).__name__}.")
    return np.asarray(a)


def _plain(values: np.ndarray) -> list:
    """Labels as JSON-able Python values."""
    return [v.item() if hasattr(v, "item") else v for v in values]


class ClassIncrementalBenchmark(BaseEstimator):
    """Run the class-incremental protocol with any registered method as the memory builder.

    Parameters
    ----------
    steps : int, default=5
        Groups the classes are split into, one per step; must divide the number of classes.
    ipc : int, default=10
        Samples per class every step adds to the memory; at most the smallest class's size.
    orders : int, default=3
        Class orders (each a permutation drawn from ``random_state`` and its index).
    condenser_params : dict or None, default=None
        DatasetCondenser parameters applied to every method given by name or dict (a method's
        own dict wins), e.g. ``{"max_iter": 200, "device": "cuda"}``.
    evaluator : CondensedEvaluator or None, default=None
        How the memory is scored after every step (None: ``CondensedEvaluator()``, 5 networks,
        300 epochs; the papers use ``protocol="dsa"``). Cloned, with a seed per (order, step)
        that every method shares, so methods are compared on the same networks' seeds.
    random_state : int, default=0
        Seeds the class orders, every condensation (one seed per order and step, the same for
        every method) and the evaluation networks.
    path : str, path-like or None, default=None
        A folder that keeps the run: ``cells.json`` (every finished cell) and one ``.npz`` per
        condensed step. A run given the same folder reuses every set and evaluation made with
        the same settings and recomputes only the rest, so an interrupted run resumes.
    verbose : int or bool, default=1
        Progress bar over the cells.
    """

    _parameter_constraints: ClassVar[dict] = {
        "steps": [Interval(Integral, 1, None, closed="left")],
        "ipc": [Interval(Integral, 1, None, closed="left")],
        "orders": [Interval(Integral, 1, None, closed="left")],
        "condenser_params": [NONE, InstanceOf((dict,), "a dict of DatasetCondenser parameters")],
        "evaluator": [NONE, InstanceOf((CondensedEvaluator,), "a CondensedEvaluator")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "path": [NONE, InstanceOf((str, os.PathLike), "a folder path")],
        "verbose": [BOOLEAN, Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        steps: int = 5,
        ipc: int = 10,
        orders: int = 3,
        *,
        condenser_params: dict | None = None,
        evaluator: CondensedEvaluator | None = None,
        random_state: int = 0,
        path: str | os.PathLike | None = None,
        verbose: int = 1,
    ) -> None:
        self.steps = steps
        self.ipc = ipc
        self.orders = orders
        self.condenser_params = condenser_params
        self.evaluator = evaluator
        self.random_state = random_state
        self.path = path
        self.verbose = verbose

    def class_orders(self, classes: Any) -> list[np.ndarray]:
        """The ``orders`` permutations of ``classes`` this benchmark uses (reproducible from
        ``random_state``)."""
        classes = np.asarray(classes)
        return [
            classes[np.random.default_rng([int(self.random_state), o]).permutation(len(classes))]
            for o in range(int(self.orders))
        ]

    # -- inputs ---------------------------------------------------------------------------
    def _factories(
        self, methods: MethodSpec | Sequence[str] | Mapping[str, Any]
    ) -> dict[str, tuple[Callable[[int], BaseCondenser], str]]:
        """``{label: (make(seed) -> unfitted condenser, settings fingerprint)}``."""
        if isinstance(methods, (str, BaseCondenser)):
            methods = [methods]
        if isinstance(methods, Mapping):
            items = list(methods.items())
        elif isinstance(methods, Sequence) and methods:
            items = []
            for m in methods:
                if isinstance(m, BaseCondenser):
                    items.append((getattr(m, "method", type(m).__name__), m))
                else:
                    items.append((m, {}))
        else:
            raise InvalidParameterError(
                "methods must be a method name, a list of names or condensers, or a dict "
                f"{{label: parameters or condenser}}; got {methods!r}."
            )
        shared = dict(self.condenser_params or {})
        factories = {}
        for label, spec in items:
            if not isinstance(label, str):
                raise InvalidParameterError(f"method labels must be str; got {label!r}.")
            if isinstance(spec, BaseCondenser):
                factories[label] = self._estimator_factory(spec)
            elif isinstance(spec, Mapping):
                factories[label] = self._params_factory(label, {**shared, **spec})
            else:
                raise InvalidParameterError(
                    f"methods[{label!r}] must be a dict of DatasetCondenser parameters or a "
                    f"condenser; got {type(spec).__name__}."
                )
        if len(factories) != len(items):
            raise InvalidParameterError(f"method labels must be unique; got {items!r}.")
        return factories

    def _params_factory(self, label: str, params: dict) -> tuple[Callable, str]:
        clash = sorted({"ipc", "random_state"} & set(params))
        if clash:
            raise InvalidParameterError(
                f"methods[{label!r}] sets {clash}, which the benchmark sets itself (ipc, and "
                "one seed per order and step); set them on ClassIncrementalBenchmark."
            )
        params = {"method": label, "verbose": 0, **params}
        DatasetCondenser(**params)._check_params()  # a bad setting is refused before any fit

        def make(seed: int) -> BaseCondenser:
            return DatasetCondenser(**params, ipc=int(self.ipc), random_state=seed)

        return make, repr(sorted(params.items()))

    def _estimator_factory(self, estimator: BaseCondenser) -> tuple[Callable, str]:
        def make(seed: int) -> BaseCondenser:
            return clone(estimator).set_params(ipc=int(self.ipc), random_state=seed)

        params = clone(estimator).set_params(ipc=None, random_state=None).get_params(deep=False)
        return make, repr((type(estimator).__name__, sorted(params.items(), key=str)))

    def _check_data(self, X: Any, y: Any, X_test: Any, y_test: Any) -> tuple:
        X, y = _numpy(X, "X"), _numpy(y, "y")
        X_test, y_test = _numpy(X_test, "X_test"), _numpy(y_test, "y_test")
        for a, b, names in ((X, y, "X and y"), (X_test, y_test, "X_test and y_test")):
            if b.ndim != 1 or len(a) != len(b):
                raise ValueError(
                    f"{names} must hold the same number of samples with one label each; got "
                    f"shapes {a.shape} and {b.shape}."
                )
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) % self.steps:
            raise InvalidParameterError(
                f"steps={self.steps} must divide the number of classes of y ({len(classes)}) "
                "so every step adds as many classes."
            )
        if self.ipc > counts.min():
            raise InvalidParameterError(
                f"ipc={self.ipc} is larger than the smallest class of y (class "
                f"{classes[counts.argmin()]!r}, {counts.min()} samples); a step cannot keep "
                "more samples of a class than it has."
            )
        unknown = np.setdiff1d(np.unique(y_test), classes)
        if unknown.size:
            raise ValueError(
                f"y_test holds classes absent from y: {_plain(unknown[:10])}; every test class "
                "must have training data."
            )
        return X, y, X_test, y_test, classes

    # -- the run ----------------------------------------------------------------------------
    def _read_cells(self, folder: Path | None) -> dict[tuple, dict]:
        if folder is None or not (folder / "cells.json").exists():
            return {}
        cells = json.loads((folder / "cells.json").read_text(encoding="utf-8"))["cells"]
        return {(c["method"], c["order"], c["step"]): c for c in cells}

    @staticmethod
    def _write_cells(folder: Path | None, cells: dict[tuple, dict], settings: dict) -> None:
        if folder is None:
            return
        tmp = folder / "cells.json.tmp"
        tmp.write_text(
            json.dumps({"settings": settings, "cells": list(cells.values())}, indent=1),
            encoding="utf-8",
        )
        os.replace(tmp, folder / "cells.json")  # a run stopped mid-write keeps the last file

    def run(
        self,
        methods: MethodSpec | Sequence[str] | Mapping[str, Any],
        X: Any,
        y: Any,
        X_test: Any,
        y_test: Any,
    ) -> ContinualResult:
        """Build every method's memory step by step and score it after every step.

        Parameters
        ----------
        methods : str, list or dict
            Method names (``["random", "herding", "dm"]``), condensers, or
            ``{label: DatasetCondenser parameters or condenser}`` (``{"dm-200": {"method":
            "dm", "max_iter": 200}}``). ``ipc`` and ``random_state`` are the benchmark's.
        X, y : array-like or torch.Tensor
            Training samples and labels (the layout ``DatasetCondenser.fit`` takes).
        X_test, y_test : array-like or torch.Tensor
            Test samples and labels; at every step only those of the classes seen are used.

        Returns
        -------
        ContinualResult
        """
        validate_params(
            type(self).__name__, self.get_params(deep=False), self._parameter_constraints
        )
        factories = self._factories(methods)
        X, y, X_test, y_test, classes = self._check_data(X, y, X_test, y_test)
        per_step = len(classes) // self.steps
        orders = self.class_orders(classes)
        evaluator = CondensedEvaluator() if self.evaluator is None else self.evaluator
        eval_fp = repr(sorted(evaluator.get_params(deep=False).items(), key=str))
        folder = None if self.path is None else Path(self.path)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        records = self._read_cells(folder)
        settings = {
            "steps": int(self.steps),
            "ipc": int(self.ipc),
            "orders": [_plain(o) for o in orders],
            "random_state": int(self.random_state),
            "evaluator": eval_fp,
        }
        data_fp = repr((len(y), _plain(classes), np.unique(y, return_counts=True)[1].tolist()))
        normalizer: Normalizer | None = None  # of the whole training data, from a set's layout
        cells = []
        bar = tqdm(
            total=len(factories) * len(orders) * self.steps,
            desc="continual",
            disable=not self.verbose,
        )
        for label, (make, method_fp) in factories.items():
            for o, order in enumerate(orders):
                memory: list[CondensedSet] = []
                for step in range(int(self.steps)):
                    bar.set_postfix_str(f"{label} order {o} step {step}")
                    new = order[step * per_step : (step + 1) * per_step]
                    seed = derived_seed(derived_seed(int(self.random_state), o), step)
                    set_fp = repr((method_fp, int(self.ipc), seed, _plain(new), data_fp))
                    prior = records.get((label, o, step), {})
                    name = f"{label}_order{o}_step{step}.npz".replace(os.sep, "_")
                    start = time.perf_counter()
                    if prior.get("set_fingerprint") == set_fp and (folder / name).exists():
                        part, fit_time = load_condensed(folder / name), prior["fit_time_s"]
                    else:
                        prior = {}
                        rows = np.isin(y, new)
                        est = make(seed).fit(X[rows], y[rows])
                        part, fit_time = est.to_condensed_set(), time.perf_counter() - start
                        if folder is not None:
                            save_condensed(folder / name, est)
                    memory.append(part)
                    if normalizer is None:
                        layout = part.input_layout
                        normalizer = Normalizer.fit(layout.to_internal(as_numeric_array(X)))
                    cell = self._score(
                        memory, classes, normalizer, order[: (step + 1) * per_step],
                        X_test, y_test, evaluator, derived_seed(seed, 1),
                        prior if prior.get("eval_fingerprint") == eval_fp else None,
                    )  # fmt: skip
                    cell = {
                        "method": label,
                        "order": o,
                        "step": step,
                        "classes": _plain(new),
                        **cell,
                        "fit_time_s": float(fit_time),
                        "set_fingerprint": set_fp,
                        "eval_fingerprint": eval_fp,
                    }
                    cells.append(cell)
                    records[(label, o, step)] = cell
                    self._write_cells(folder, records, settings)
                    logger.info(
                        "continual %s order %d step %d: %d classes seen, memory %d, "
                        "accuracy %.2f ± %.2f %%",
                        label, o, step, cell["classes_seen"], cell["memory_size"],
                        100 * cell["acc_mean"], 100 * cell["acc_std"],
                    )  # fmt: skip
                    bar.update()
        bar.close()
        return ContinualResult(cells, settings)

    @staticmethod
    def _score(
        memory: list[CondensedSet],
        classes: np.ndarray,
        normalizer: Normalizer,
        seen: np.ndarray,
        X_test: np.ndarray,
        y_test: np.ndarray,
        evaluator: CondensedEvaluator,
        seed: int,
        prior: dict | None,
    ) -> dict[str, Any]:
        """Train fresh networks on the memory (one output per class of the dataset) and test
        them on the classes ``seen``; a matching ``prior`` cell is reused instead."""
        X_mem = np.concatenate([np.asarray(part.X) for part in memory])
        y_mem = np.concatenate([np.asarray(part.y) for part in memory])
        cell = {"classes_seen": len(seen), "memory_size": len(y_mem)}
        if prior is not None:
            keys = ("accuracies", "acc_mean", "acc_std", "eval_time_s")
            return {**cell, **{k: prior[k] for k in keys}}
        whole = CondensedSet(
            X=X_mem,
            y=y_mem,
            classes=classes,
            normalizer=normalizer,
            input_layout=memory[0].input_layout,
            metadata={"method": memory[0].method, "ipc": memory[0].ipc},
        )
        rows = np.isin(y_test, seen)
        result = (
            clone(evaluator)
            .set_params(random_state=seed)
            .evaluate(whole, X_test[rows], y_test[rows])
        )
        return {
            **cell,
            "accuracies": [float(a) for a in result.accuracies],
            "acc_mean": result.mean,
            "acc_std": result.std,
            "eval_time_s": result.time,
        }
