"""DatasetCondenser: learn a tiny synthetic training set with any registered method."""

from __future__ import annotations

import logging
import time
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._torch_utils import (
    derived_seed,
    isolated_global_rng,
)
from ._validation import (
    BOOLEAN,
    NONE,
    RANDOM_STATE,
    Check,
    Dynamic,
    InstanceOf,
    Interval,
    InvalidParameterError,
    Options,
    is_augment,
    is_fraction,
    is_shape,
)
from .augment import AUGMENTATIONS
from .base import BaseCondenser
from .callbacks import Callback
from .fit_setup import fitted_attributes, setup_fit
from .io import save_condensed
from .kinds import KINDS
from .methods import METHODS, list_methods
from .sets import CondensedSet
from .strategies.base import Method

logger = logging.getLogger("condensekit")


def _is_callback_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(cb, Callback) for cb in value)


class DatasetCondenser(BaseCondenser):
    """Condense a labelled dataset into a few synthetic samples per class.

    Parameters
    ----------
    method : str, default="dm"
        A registered method (see :func:`condensekit.list_methods`): ``"dm"`` (distribution
        matching), ``"ddm"`` (decomposed DM: style and diversity terms), ``"dc"``, ``"dsa"``,
        ``"dcc"``, ``"dsa_dcc"`` (gradient matching: class-wise, with siamese augmentation,
        contrastive, both), ``"generative"`` (a conditional generator instead of pixels), or a
        selection of real samples: ``"random"``, ``"herding"``, ``"kcenter"``, ``"el2n"``,
        ``"grand"``, ``"forgetting"`` (the baselines; also estimators of their own in
        :mod:`condensekit.selectors`).
    ipc : int, float or dict, default=10
        Samples per class in the condensed set. Methods that start from or keep real samples
        need every class to hold at least ``ipc`` samples. Selections also take per-class
        budgets, as imbalanced-learn samplers do: a float in (0, 1] keeps that fraction of every
        class (rounded down; a class left with none is an error), a dict ``{class label: int}``
        names each class's budget.
    max_iter : int or None, default=None
        Outer iterations; ``None`` uses the method's paper setting (20,000 for ``"dm"``,
        ``"ddm"`` and ``"generative"``, 1,000 for gradient matching).
        Ignored by selections.
    device : str or torch.device, default="auto"
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    random_state : int, RandomState or None, default=None
        Seeds the single ``torch.Generator`` that every random draw of the fit uses. The same
        value on the same device gives the same condensed set. The global RNGs are never touched.
    model : str, default="auto"
        Network used for matching: ``"convnet"``, ``"mlp"`` or a torchvision model name;
        ``"auto"`` is ``"convnet"`` for images and ``"mlp"`` for rows of features. Its settings
        are given as ``model__<name>`` (``model__width=64``, ``model__depth=2``...).
    augment : "auto", None, str or augmentation object, default="auto"
        Siamese augmentation while matching. ``"auto"`` uses the method's default on images
        (``"dsa"`` for ``"dm"``) and none on rows. Settings go as ``augment__<name>``
        (``augment__flip=False`` for digits).
    init : {"auto", "real", "noise"}, default="auto"
        Start of the synthetic samples: random real samples of each class, or Gaussian noise
        (in normalised space). ``"auto"`` uses the method's default (``"real"``).
    input_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` to read flat rows ``(n, d)`` as images. Condensed rows come
        back flat.
    verbose : int or bool, default=1
        0 is silent; 1 shows a progress bar; messages go to the ``"condensekit"`` logger.
    warm_start : bool, default=False
        Start a learned pixel set from the previous fit's set instead of ``init`` (same
        classes, ipc and sample shape; checked), to continue a fit with more iterations or
        other settings. The optimiser and the random stream start afresh, so a warm-started
        fit of ``n`` iterations after one of ``m`` is not the fit of ``m + n`` iterations (for
        that, use a :class:`~condensekit.callbacks.Checkpoint`). Refused by selections and the
        generative method.
    callbacks : list of Callback or None, default=None
        Called by the outer loop of a learned set (:mod:`condensekit.callbacks`): for
        instance ``EarlyStopping()``, ``Checkpoint(path, every=100)`` (a fit interrupted after
        a checkpoint resumes from it and gives the set an uninterrupted fit gives) or your own.
        Called in the order given, after the divergence check and before the progress bar.
        Selections, which have no outer loop, refuse them.
    data_mode : {"auto", "memory", "stream"}, default="auto"
        ``"memory"`` normalises every real sample onto the device once (the fastest).
        ``"stream"`` keeps only the labels and a per-class index, and decodes the rows each
        iteration gathers from the caller's data (a map-style ``Dataset``, or arrays) through a
        ``DataLoader``: memory stays flat in the number of samples. Its normalisation
        statistics and value range come from 10,000 random samples (all when fewer). Only the
        learned methods stream; the selections read every sample. ``"auto"``: streams a
        ``Dataset`` whose samples would take more than 1 GiB as float32, with a method that
        can; everything else in memory.
    num_workers : int, default=0
        ``DataLoader`` worker processes that decode streamed rows (0: this process); pinned
        memory is used on CUDA.
    **kwargs
        Method settings as ``strategy__<name>`` (``strategy__lr_syn=0.5``,
        ``strategy__batch_real=64``), network settings as ``model__<name>`` and augmentation
        settings as ``augment__<name>``. They take part in ``get_params``, ``set_params``,
        ``clone`` and grid searches.

    Attributes
    ----------
    X_syn_ : numpy.ndarray
        The condensed samples in the caller's layout, value scale and (floating) dtype;
        selections return the caller's rows unchanged.
    y_syn_ : numpy.ndarray
        Their labels in the caller's label space, grouped by class.
    classes_ : numpy.ndarray
        The sorted class labels.
    n_features_in_ : int
        Values per sample.
    ipc_per_class_ : numpy.ndarray of shape (n_classes,)
        Samples kept or learned of every class, in ``classes_`` order (``ipc`` everywhere
        unless a selection was given per-class budgets).
    sample_indices_ : numpy.ndarray
        Rows of ``X`` that were kept (selection methods only).
    scores_ : numpy.ndarray of shape (n_samples,)
        Score of every row of ``X`` (selection methods only; see the method's documentation
        for what the score means and, for EL2N, GraNd and forgetting, ``strategy__order`` for
        which scores a class keeps).
    helper_cost_ : dict
        What the selection's helper networks cost (selection methods only): ``"networks"``,
        ``"epochs"`` (over the whole real set, summed) and ``"seconds"`` of training.
    generator_ : torch.nn.Module
        The learned conditional generator ``G(z, y)``, on the CPU (``method="generative"``
        only); :meth:`sample` draws from it.
    latent_codes_ : torch.Tensor of shape (n_classes, n_codes, latent_dim)
        The fitted latent codes (``method="generative"`` only): the set's ``ipc`` per class first,
        then the further trained codes (``strategy__n_codes``).
    condensed_size_ : dict
        Size of the condensed artefact: ``"kind"`` (``"pixels"``, ``"generator"`` or
        ``"selection"``), ``"values"`` (learned or kept numbers), ``"bytes"`` (as float32) and
        ``"pixel_values"`` (numbers in ``ipc`` samples per class, for comparison).
    history_ : History
        One record per outer iteration (empty for selections): ``"iteration"``, ``"loss"``
        (the mean matching loss of its steps), ``"seconds"`` and whatever the callbacks
        record; ``history_["loss"]`` is the loss curve as an array.
    n_iter_ : int
        Outer iterations run.
    method_ : Method
        The strategy object used, with its settings.
    model_name_ : str
        The network actually used for matching.
    augment_ : object or None
        The augmentation actually used.
    normalizer_ : Normalizer
        Per-channel (or per-feature) mean and std of the real training data.
    input_layout_ : InputLayout
        How the caller's samples were read.
    device_ : str
        Device the fit ran on.
    seed_ : int
        Seed of the fit's generator (reproduces a fit made with ``random_state=None``).
    fit_time_ : float
        Seconds spent in the method.
    value_range_ : tuple of float
        ``(min, max)`` of the training samples, in the caller's value scale (for pictures; a
        streamed fit's, of its statistics sample).
    data_mode_ : str
        ``"memory"`` or ``"stream"``: how the fit read the real data.

    Examples
    --------
    >>> from condensekit import DatasetCondenser
    >>> from condensekit.data import load_digits_split
    >>> X_train, X_test, y_train, y_test = load_digits_split()
    >>> cond = DatasetCondenser("dm", ipc=1, max_iter=20, verbose=0, random_state=0,
    ...                         augment__flip=False).fit(X_train, y_train)
    >>> X_syn, y_syn = cond.transform()
    >>> X_syn.shape, y_syn.tolist()
    ((10, 8, 8), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """

    _routed_prefixes: ClassVar[tuple[str, ...]] = ("strategy", "model", "augment")
    _parameter_constraints: ClassVar[dict] = {
        "method": [Dynamic(list_methods)],
        "ipc": [
            Interval(Integral, 1, None, closed="left"),
            Check(is_fraction, "a float in (0, 1] (that fraction of every class)"),
            InstanceOf((dict,), "a dict {class label: int >= 1}"),
        ],
        "max_iter": [NONE, Interval(Integral, 1, None, closed="left")],
        "device": [InstanceOf((str, torch.device), "a device string or a torch.device")],
        "random_state": [RANDOM_STATE],
        "model": [InstanceOf((str,), "a model name (str)")],
        "augment": [
            Options(["auto", None]),
            Dynamic(AUGMENTATIONS.names),
            Check(is_augment, "an augmentation object with draw() and __call__()"),
        ],
        "init": [Options(["auto", "real", "noise"])],
        "input_shape": [NONE, Check(is_shape, "a tuple (H, W) or (C, H, W) of positive ints")],
        "verbose": [BOOLEAN, Interval(Integral, 0, None, closed="left")],
        "warm_start": [BOOLEAN],
        "callbacks": [NONE, Check(_is_callback_list, "a list of condensekit.callbacks.Callback")],
        "data_mode": [Options(["auto", "memory", "stream"])],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        method: str = "dm",
        ipc: int = 10,
        *,
        max_iter: int | None = None,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        augment: Any = "auto",
        init: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        warm_start: bool = False,
        callbacks: list[Callback] | None = None,
        data_mode: str = "auto",
        num_workers: int = 0,
        **kwargs: Any,
    ) -> None:
        self.method = method
        self.ipc = ipc
        self.max_iter = max_iter
        self.device = device
        self.random_state = random_state
        self.model = model
        self.augment = augment
        self.init = init
        self.input_shape = input_shape
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.data_mode = data_mode
        self.num_workers = num_workers
        self._store_routed(kwargs)

    def _build_method(self) -> Method:
        """The strategy object of ``method`` with its ``strategy__`` settings, validated."""
        cls = METHODS.get(self.method)
        settings = self.routed_params("strategy")
        accepted = cls._get_param_names()
        unknown = sorted(set(settings) - set(accepted))
        if unknown:
            raise InvalidParameterError(
                f"Method {self.method!r} has no setting {unknown[0]!r} (given as "
                f"strategy__{unknown[0]}); its settings are {accepted}."
            )
        strategy = cls(**settings)
        strategy.validate()
        return strategy

    def _fit(self, X: Any, y: Any, transform_available: bool) -> None:
        # the previous set, read before the fit resets the fitted attributes
        warm = self.warm_start and hasattr(self, "X_syn_")
        self._previous = self.to_condensed_set() if warm else None
        try:
            super()._fit(X, y, transform_available)
        finally:
            del self._previous

    def _fit_state(self, X: Any, y: Any) -> dict[str, Any]:
        setup = setup_fit(self, X, y)
        strategy, ctx = setup.strategy, setup.ctx
        name = type(self).__name__
        logger.info(
            "%s: method=%s ipc=%s classes=%d samples=%d device=%s iterations=%d",
            name,
            self.method,
            self.ipc,
            ctx.data.n_classes,
            len(setup.prepared.y),
            ctx.device,
            ctx.max_iter,
        )
        start = time.perf_counter()
        strategy.check(ctx)
        with isolated_global_rng(derived_seed(setup.seed, 1), ctx.device):
            strategy.prepare(ctx)
            result = strategy.run(ctx)
        fit_time = time.perf_counter() - start
        logger.info("%s: %s finished in %.1f s", name, self.method, fit_time)
        return fitted_attributes(setup, result, fit_time)

    def save(self, path: Any) -> str:
        """Write the condensed set and its metadata to an ``.npz`` file; returns the path written.

        See :func:`condensekit.save_condensed` (``.npz`` is appended when missing);
        :func:`condensekit.load_condensed` reads it back without the original data and without
        unpickling anything.
        """

        return save_condensed(path, self)

    @available_if(
        lambda self: (
            hasattr(self, "condensed_size_") and KINDS.get(self.condensed_size_["kind"]).can_sample
        )
    )
    def sample(
        self,
        n_per_class: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Samples of every class: drawn from the fitted generator (``method="generative"``),
        or the highest-ranked kept samples of a selection.

        Parameters
        ----------
        n_per_class : int or None, default=None
            Samples per class; ``None`` uses the fitted ``ipc`` (a selection with per-class
            budgets: its whole set). A selection gives at most its fitted ``ipc`` (the smallest
            class's budget).
        random_state : int, RandomState or None, default=None
            Generative only. ``None``: the condensed set's own codes first (``sample(ipc)``
            equals ``transform()``, a smaller ``n_per_class`` gives the first samples of every
            class), then further codes that are the same on every call, so ``sample(n)``
            extends ``sample(m)`` for ``n > m``. A seed: ``n_per_class`` new codes per class
            from it. A selection's ranking is fixed by its fit, so it takes no seed.

        Returns
        -------
        X : numpy.ndarray
            ``n_per_class`` samples of every class, in the caller's layout and value scale.
        y : numpy.ndarray
            Their labels, grouped by class.

        Notes
        -----
        **Selections** keep every class's samples in the order the method ranks them, so
        ``sample(n)`` is the first ``n`` of every class of the kept set: the samples that a
        fit with ``ipc=n`` and the same ``random_state`` keeps. Herding, k-center and
        forgetting order them by their own ranking, EL2N and GraNd by score, random by a
        uniform draw. (One exception: an EL2N or GraNd ``offset`` window that had to slide
        back because a class was too small, which the fit logs as a warning.) One fit at the
        largest budget therefore serves every smaller one, without scoring again.

        **Generative**: only the ``strategy__n_codes`` fitted codes per class (``ipc`` by
        default) are trained as the set is; further codes were at most random fresh draws
        during the fit, so with the defaults a large draw trains networks less well than
        ``transform()``'s set. To draw ``n`` per class, fit with ``strategy__n_codes=n`` and
        ``strategy__fresh_per_class=n - ipc``: every code of the draw is then trained (at the
        cost of the ``ipc``-per-class set; measured in docs/benchmarks.md).
        """
        # None is the fitted ipc, not self.ipc, which set_params may change
        kind = KINDS.get(self.condensed_size_["kind"])
        return kind.sample(self.to_condensed_set(), n_per_class, random_state)

    def to_condensed_set(self) -> CondensedSet:
        """The fitted set as a :class:`~condensekit.CondensedSet`, what :func:`load_condensed`
        gives for a saved one (without the file's full metadata); shares the fitted arrays."""
        check_is_fitted(self)
        budget = np.asarray(self.ipc_per_class_)
        method = (getattr(self, "_fit_params", None) or {}).get("method", self.method)
        metadata: dict[str, Any] = {
            "method": method,
            "ipc": int(budget[0]) if (budget == budget[0]).all() else None,
            "ipc_per_class": [int(b) for b in budget],
            "value_range": list(self.value_range_),
        }
        if hasattr(self, "generator_"):
            metadata["generator"] = {"extra_codes_seed": int(self.extra_codes_seed_)}
        return CondensedSet(
            X=self.X_syn_,
            y=self.y_syn_,
            classes=self.classes_,
            normalizer=self.normalizer_,
            input_layout=self.input_layout_,
            metadata=metadata,
            sample_indices=getattr(self, "sample_indices_", None),
            generator=getattr(self, "generator_", None),
            latent_codes=getattr(self, "latent_codes_", None),
        )

    @property
    def extra_codes_seed_(self) -> int:
        """Seed of the codes that :meth:`sample` draws beyond the fitted set's own."""
        return derived_seed(self.seed_, 2)
