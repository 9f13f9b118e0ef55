"""Selection baselines as estimators of their own: ``HerdingSelector(ipc=10).fit(X, y)``.

Each class is a :class:`~condensekit.DatasetCondenser` with its selection method fixed and the
selector's settings as ordinary constructor parameters, so it has the same contract (``fit``,
``transform``, ``fit_resample``, ``clone``, ``random_state``, grid searches) and the same fitted
attributes, among them ``sample_indices_`` (the kept rows of ``X``) and ``scores_`` (one score
per row). ``HerdingSelector(ipc=10, epochs=5)`` and
``DatasetCondenser("herding", ipc=10, strategy__epochs=5)`` keep the same rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from .condenser import DatasetCondenser
from .methods import METHODS
from .strategies.base import Method

#: Parameters that every selector shares with DatasetCondenser.
_SHARED = ("ipc", "device", "random_state", "model", "input_shape", "verbose")

_IPC_DOC = """
    ipc : int, float or dict, default=10
        Real samples kept per class; every class must hold at least ``ipc``. A float in (0, 1]
        keeps that fraction of every class (rounded down), a dict ``{class label: int}`` gives
        every class its own budget.
"""

_SHARED_DOC = """
    device : str or torch.device, default="auto"
        Where helper networks are trained and scores computed (``"auto"``: CUDA if available).
    random_state : int, RandomState or None, default=None
        Seeds the single ``torch.Generator`` of the fit (network initialisation, batch order,
        random draws); the global RNGs are never touched.
    model : str, default="auto"
        Helper network (``"convnet"`` for images, ``"mlp"`` for rows); its settings go as
        ``model__<name>``.
    input_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` to read flat rows as images.
    verbose : int or bool, default=1
        0 is silent; 1 shows progress; messages go to the ``"condensekit"`` logger.
    **kwargs
        Helper-network settings as ``model__<name>``.
"""

_HELPERS_DOC = """
    lr : float, default=0.05
        Learning rate of the helper networks' SGD (momentum 0.9, x0.1 halfway).
    helper_augment : {"auto", "dsa", "dc"} or None, default="auto"
        Augmentation of the helpers' training; ``"auto"``: DSA's on images (no flips on
        single-channel ones), none on rows.
    order : {"hard", "easy", "middle", "spread"}, default="spread"
        Which samples of every class are kept: the highest scores (the papers' rule for large
        budgets), the lowest, a window around the median, or ranks spread evenly from the
        hardest to the easiest (:func:`condensekit.selection.order_keys`).
    offset : float in [0, 1), default=0.0
        Fraction of every class skipped first from the ``order``'s end (data_diet's window
        offset with ``order="hard"``); only with ``"hard"`` and ``"easy"``.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    sample_indices_ : numpy.ndarray of shape (sum of ipc_per_class_,)
        Rows of ``X`` that were kept, grouped by class.
    ipc_per_class_ : numpy.ndarray of shape (n_classes,)
        Rows kept of every class, in ``classes_`` order.
    scores_ : numpy.ndarray of shape (n_samples,)
        The score of every row of ``X``.
    helper_cost_ : dict
        Helper networks trained, their epochs and seconds.
    X_syn_, y_syn_ : numpy.ndarray
        The kept rows (unchanged) and their labels.
    classes_, n_features_in_, condensed_size_, device_, seed_, fit_time_ :
        As for :class:`~condensekit.DatasetCondenser`.
"""


def _document(cls: type) -> type:
    """Fill the shared parameter and attribute sections into a selector's docstring."""
    sections = (
        ("ipc", _IPC_DOC),
        ("helpers", _HELPERS_DOC),
        ("shared", _SHARED_DOC),
        ("attributes", _ATTRIBUTES_DOC),
    )
    for key, text in sections:
        cls.__doc__ = cls.__doc__.replace(f"    {{{key}}}\n", text.lstrip("\n"))
    return cls


class BaseSelector(DatasetCondenser):
    """Base of the selector estimators: a DatasetCondenser whose method is the class's.

    Subclasses set :attr:`method` to a registered selection name and take that selection's
    settings as constructor parameters (after the shared ones).
    """

    #: The registered selection this class runs.
    method: ClassVar[str]
    # DatasetCondenser parameters that have no meaning for a selection of real samples.
    max_iter: ClassVar[None] = None
    augment: ClassVar[str] = "auto"
    init: ClassVar[str] = "auto"

    _routed_prefixes: ClassVar[tuple[str, ...]] = ("model",)
    _parameter_constraints: ClassVar[dict] = {
        k: v for k, v in DatasetCondenser._parameter_constraints.items() if k in _SHARED
    }

    def __init__(
        self,
        ipc: int = 10,
        *,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        self.ipc = ipc
        self.device = device
        self.random_state = random_state
        self.model = model
        self.input_shape = input_shape
        self.verbose = verbose
        self._store_routed(kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "method" in vars(cls):
            strategy = METHODS.get(cls.method)
            # the selector's own settings are checked under their own names at fit
            cls._parameter_constraints = {
                **BaseSelector._parameter_constraints,
                **strategy._parameter_constraints,
            }

    def _build_method(self) -> Method:
        cls = METHODS.get(self.method)
        # strategy__ keywords never get here: "strategy" is not a routed prefix of selectors
        strategy = cls(**{name: getattr(self, name) for name in cls._get_param_names()})
        strategy.validate(prefix="")
        return strategy


@_document
class RandomSelector(BaseSelector):
    """Keep ``ipc`` uniformly drawn real samples of every class (``method="random"``).

    Parameters
    ----------
    {ipc}
    {shared}

    {attributes}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from condensekit import RandomSelector
    >>> X, y = load_digits(return_X_y=True)
    >>> sel = RandomSelector(ipc=2, random_state=0, verbose=0).fit(X, y)
    >>> sel.sample_indices_.shape, sel.scores_.shape
    ((20,), (1797,))
    """

    method = "random"


@_document
class HerdingSelector(BaseSelector):
    """Herding (Welling 2009): per class, greedily keep the sample that keeps the chosen set's
    mean closest to the class mean (``method="herding"``).

    Parameters
    ----------
    {ipc}
    features : {"network", "raw"}, default="network"
        Space in which means are compared: the embedding of a network trained briefly on the
        real data (the evaluator's training loop), or the raw normalised inputs.
    epochs : int, default=20
        Training epochs of the ``"network"`` feature extractor.
    {shared}

    {attributes}

    Notes
    -----
    ``scores_`` is ``ipc - t`` for the sample picked at step ``t`` of its class, 0 for the rest.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from condensekit import HerdingSelector
    >>> X, y = load_digits(return_X_y=True)
    >>> X_kept, y_kept = HerdingSelector(ipc=1, features="raw", verbose=0).fit_resample(X, y)
    >>> X_kept.shape
    (10, 64)
    """

    method = "herding"

    def __init__(
        self,
        ipc: int = 10,
        *,
        features: str = "network",
        epochs: int = 20,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ipc,
            device=device,
            random_state=random_state,
            model=model,
            input_shape=input_shape,
            verbose=verbose,
            **kwargs,
        )
        self.features = features
        self.epochs = epochs


@_document
class KCenterSelector(HerdingSelector):
    """k-center greedy (``method="kcenter"``): per class, first the sample nearest the mean, then
    always the sample farthest from those already kept.

    Parameters
    ----------
    {ipc}
    features : {"network", "raw"}, default="network"
        The embedding of a network trained briefly on the real data, or the raw inputs.
    epochs : int, default=20
        Training epochs of the ``"network"`` feature extractor.
    {shared}

    {attributes}

    Notes
    -----
    ``scores_`` is ``ipc - t`` for the sample picked at step ``t`` of its class, 0 for the rest.
    """

    method = "kcenter"


@_document
class EL2NSelector(BaseSelector):
    """EL2N (Paul et al. 2021): keep the samples of every class with the largest error L2 norm
    ``||softmax(f(x)) - onehot(y)||``, averaged over briefly trained networks (``method="el2n"``).

    Parameters
    ----------
    {ipc}
    n_networks : int, default=5
        Helper networks the score is averaged over (Paul et al. average 10).
    epochs : int, default=20
        Training epochs of each helper network.
    {helpers}
    {shared}

    {attributes}
    """

    method = "el2n"

    def __init__(
        self,
        ipc: int = 10,
        *,
        n_networks: int = 5,
        epochs: int = 20,
        lr: float = 0.05,
        helper_augment: str | None = "auto",
        order: str = "spread",
        offset: float = 0.0,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ipc,
            device=device,
            random_state=random_state,
            model=model,
            input_shape=input_shape,
            verbose=verbose,
            **kwargs,
        )
        self.n_networks = n_networks
        self.epochs = epochs
        self.lr = lr
        self.helper_augment = helper_augment
        self.order = order
        self.offset = offset


@_document
class GraNdSelector(EL2NSelector):
    """GraNd (Paul et al. 2021): keep the samples of every class with the largest norm of the
    per-sample loss gradient, averaged over networks (``method="grand"``).

    Parameters
    ----------
    {ipc}
    n_networks : int, default=10
        Networks the score is averaged over (Paul et al.: 10 at initialisation).
    epochs : int, default=0
        Training epochs of each network; 0 scores at initialisation (GraNd at init).
    {helpers}
    {shared}

    {attributes}
    """

    method = "grand"

    def __init__(
        self,
        ipc: int = 10,
        *,
        n_networks: int = 10,
        epochs: int = 0,
        lr: float = 0.05,
        helper_augment: str | None = "auto",
        order: str = "spread",
        offset: float = 0.0,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ipc,
            n_networks=n_networks,
            epochs=epochs,
            lr=lr,
            helper_augment=helper_augment,
            order=order,
            offset=offset,
            device=device,
            random_state=random_state,
            model=model,
            input_shape=input_shape,
            verbose=verbose,
            **kwargs,
        )


@_document
class ForgettingSelector(BaseSelector):
    """Forgetting events (Toneva et al. 2019): keep the samples of every class that are most
    often learned and then forgotten during training (``method="forgetting"``).

    Parameters
    ----------
    {ipc}
    n_networks : int, default=1
        Training runs the count is averaged over.
    epochs : int, default=20
        Training epochs of each run (at least 2); a never-learned sample counts ``epochs``
        (ranked hardest); equal counts are ranked by how often the sample was wrong.
    {helpers}
    {shared}

    {attributes}
    """

    method = "forgetting"

    def __init__(
        self,
        ipc: int = 10,
        *,
        n_networks: int = 1,
        epochs: int = 20,
        lr: float = 0.05,
        helper_augment: str | None = "auto",
        order: str = "spread",
        offset: float = 0.0,
        device: str | torch.device = "auto",
        random_state: int | np.random.RandomState | None = None,
        model: str = "auto",
        input_shape: tuple[int, ...] | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ipc,
            device=device,
            random_state=random_state,
            model=model,
            input_shape=input_shape,
            verbose=verbose,
            **kwargs,
        )
        self.n_networks = n_networks
        self.epochs = epochs
        self.lr = lr
        self.helper_augment = helper_augment
        self.order = order
        self.offset = offset


#: Selector estimator class of every registered selection name.
SELECTORS: dict[str, type[BaseSelector]] = {
    cls.method: cls
    for cls in (
        RandomSelector,
        HerdingSelector,
        KCenterSelector,
        EL2NSelector,
        GraNdSelector,
        ForgettingSelector,
    )
}
