"""Selection baselines as estimators of their own: ``HerdingSelector(ipc=10).fit(X, y)``.

Each class is a :class:`~condensekit.DatasetCondenser` with its selection method fixed and the
selector's settings as ordinary constructor parameters, so it has the same contract (``fit``,
``transform``, ``fit_resample``, ``clone``, ``random_state``, grid searches) and the same fitted
attributes, among them ``sample_indices_`` (the kept rows of ``X``) and ``scores_`` (one score
per row). ``HerdingSelector(ipc=10, epochs=5)`` and
``DatasetCondenser("herding", ipc=10, strategy__epochs=5)`` keep the same rows.

The classes are derived from the registered selection strategies (:func:`make_selector`), so a
selection's parameters and their documentation are written once, in its strategy.

>>> from sklearn.datasets import load_digits
>>> from condensekit import HerdingSelector, RandomSelector
>>> X, y = load_digits(return_X_y=True)
>>> sel = RandomSelector(ipc=2, random_state=0, verbose=0).fit(X, y)
>>> sel.sample_indices_.shape, sel.scores_.shape
((20,), (1797,))
>>> X_kept, y_kept = HerdingSelector(ipc=1, features="raw", verbose=0).fit_resample(X, y)
>>> X_kept.shape
(10, 64)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
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
    callbacks: ClassVar[None] = None
    warm_start: ClassVar[bool] = False

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

    def __reduce__(self) -> tuple:
        # through the registry: a plugin's derived class is not an attribute of any module
        return _rebuild, (self.method,), self.__getstate__()

    def _build_method(self) -> Method:
        cls = METHODS.get(self.method)
        # strategy__ keywords never get here: "strategy" is not a routed prefix of selectors
        strategy = cls(**{name: getattr(self, name) for name in cls._get_param_names()})
        strategy.validate(prefix="")
        return strategy


def _sections(doc: str) -> tuple[str, dict[str, str]]:
    """A numpydoc docstring split into its opening text and its sections by title."""
    lines = inspect.cleandoc(doc).splitlines()
    heads = [
        i for i in range(len(lines) - 1) if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}
    ]
    opening = "\n".join(lines[: heads[0] if heads else len(lines)]).strip()
    sections = {}
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(lines)
        sections[lines[i].strip()] = "\n".join(lines[i + 2 : end]).strip("\n")
    return opening, sections


def _indent(text: str) -> str:
    return "\n".join("    " + line if line.strip() else "" for line in text.splitlines())


def _selector_doc(name: str, strategy: type[Method]) -> str:
    """The selector's docstring: the strategy's own text and parameters, the shared ones."""
    opening, sections = _sections(strategy.__doc__ or "")
    parts = [
        opening,
        "",
        f"The estimator form of ``DatasetCondenser(method={name!r})``: the selection's settings",
        "are constructor parameters of their own (no ``strategy__`` prefix).",
        "",
        "Parameters",
        "----------",
        inspect.cleandoc(_IPC_DOC),
    ]
    if "Parameters" in sections:
        parts.append(sections["Parameters"])
    parts += [inspect.cleandoc(_SHARED_DOC), "", inspect.cleandoc(_ATTRIBUTES_DOC)]
    for title in ("Notes", "Examples"):
        if title in sections:
            parts += ["", title, "-" * len(title), sections[title]]
    first, _, rest = "\n".join(parts).partition("\n")
    return f"{first}\n{_indent(rest)}\n"


def _class_name(strategy: type[Method]) -> str:
    """``EL2N`` -> ``EL2NSelector``; ``RandomSelection`` -> ``RandomSelector``."""
    stem = strategy.__name__.removesuffix("Selection")
    return f"{stem}Selector"


def _make_init(own: list[inspect.Parameter]):
    shared = [
        p
        for p in inspect.signature(BaseSelector.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    defaults = {p.name: p.default for p in [*own, *shared]}

    def init(self: BaseSelector, ipc: Any = 10, **kwargs: Any) -> None:
        self.ipc = ipc
        for key, default in defaults.items():
            setattr(self, key, kwargs.pop(key, default))
        self._store_routed(kwargs)

    params = inspect.signature(BaseSelector.__init__).parameters
    init.__signature__ = inspect.Signature(
        [
            params["self"],
            params["ipc"],
            *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own),
            *shared,
            params["kwargs"],
        ]
    )
    return init


def make_selector(name: str) -> type[BaseSelector]:
    """The estimator class of the registered selection ``name``, derived from its strategy.

    The class takes the strategy's ``__init__`` parameters (same names, defaults and
    documentation) after ``ipc`` and before the parameters every selector shares. Built once
    per strategy class and cached; a selection registered later with
    :func:`~condensekit.register_method` gets its estimator the same way.

    Parameters
    ----------
    name : str
        A registered selection (a method that keeps real rows).

    Returns
    -------
    type
        A :class:`BaseSelector` subclass named after the strategy (``EL2N`` -> ``EL2NSelector``).
    """
    strategy = METHODS.get(name)
    if strategy.learns_samples:
        raise ValueError(
            f"{name!r} learns its samples; only selections have a selector estimator "
            f"(selections: {sorted(SELECTORS)})."
        )
    key = (name, strategy)
    if key not in _CACHE:
        own = [
            p
            for p in inspect.signature(strategy.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        cls_name = _class_name(strategy)
        namespace = {
            "__doc__": _selector_doc(name, strategy),
            "__init__": _make_init(own),
            "__module__": __name__,
            "__qualname__": cls_name,
            "method": name,
        }
        _CACHE[key] = type(cls_name, (BaseSelector,), namespace)
    return _CACHE[key]


_CACHE: dict[tuple[str, type], type[BaseSelector]] = {}


def _rebuild(name: str) -> BaseSelector:
    """Unpickle a selector through the registry (plugins' classes live nowhere else)."""
    cls = make_selector(name)
    return cls.__new__(cls)


class _Selectors(Mapping):
    """Selector estimator class of every registered selection, read live from the registry."""

    def __getitem__(self, name: str) -> type[BaseSelector]:
        if name not in METHODS.names() or METHODS.get(name).learns_samples:
            raise KeyError(name)
        return make_selector(name)

    def __iter__(self) -> Iterator[str]:
        return (n for n in METHODS.names() if not METHODS.get(n).learns_samples)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"SELECTORS({', '.join(self)})"


#: Selector estimator class of every registered selection name (derived, never written).
SELECTORS: Mapping[str, type[BaseSelector]] = _Selectors()

RandomSelector = make_selector("random")
HerdingSelector = make_selector("herding")
KCenterSelector = make_selector("kcenter")
EL2NSelector = make_selector("el2n")
GraNdSelector = make_selector("grand")
ForgettingSelector = make_selector("forgetting")
