"""The condensed set as an object: samples, labels, how they map onto networks, and how they
were made. :func:`condensekit.load_condensed` returns one for a saved file, and
``DatasetCondenser.to_condensed_set()`` for a fitted condenser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data.adapters import InputLayout, Normalizer
from .kinds import KINDS


@dataclass(frozen=True)
class CondensedSet:
    """A condensed set read from a file: samples, labels and how they were made.

    Attributes
    ----------
    X : numpy.ndarray
        Condensed samples in the original caller's layout and value scale.
    y : numpy.ndarray
        Their labels, in the original label space.
    classes : numpy.ndarray
        The sorted class labels of the training data.
    normalizer : Normalizer
        Per-channel (or per-feature) statistics of the real training data.
    input_layout : InputLayout
        How samples map onto the networks' inputs.
    metadata : dict
        Everything else: method, ipc, seed, parameters, package versions, value range...
    sample_indices : numpy.ndarray or None
        Rows of the training data that were kept (selection methods only).
    generator : torch.nn.Module or None
        The conditional generator (``method="generative"`` only), rebuilt from the registry and
        the stored weights; :meth:`sample` draws from it.
    latent_codes : numpy.ndarray or None
        The fitted latent codes, ``(n_classes, n_codes, latent_dim)``, the set's ``ipc`` first
        (``method="generative"``).
    """

    X: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    normalizer: Normalizer
    input_layout: InputLayout
    metadata: dict = field(default_factory=dict)
    sample_indices: np.ndarray | None = None
    generator: Any = None
    latent_codes: np.ndarray | None = None

    @property
    def method(self) -> str:
        """Name of the method that made the set."""
        return self.metadata["method"]

    @property
    def ipc(self) -> int | None:
        """Samples per class; None for a selection whose classes have budgets of their own
        (see :attr:`ipc_per_class`)."""
        ipc = self.metadata["ipc"]
        return None if ipc is None else int(ipc)

    @property
    def ipc_per_class(self) -> list[int]:
        """Samples of every class, in ``classes`` order."""
        if "ipc_per_class" in self.metadata:
            return [int(b) for b in self.metadata["ipc_per_class"]]
        return [self.ipc] * len(self.classes)

    @property
    def value_range(self) -> tuple[float, float] | None:
        """``(min, max)`` of the real training data, for pictures."""
        vr = self.metadata.get("value_range")
        return None if vr is None else (float(vr[0]), float(vr[1]))

    def __iter__(self):
        """Unpack as ``X, y = load_condensed(path)``."""
        return iter((self.X, self.y))

    def sample(
        self, n_per_class: int | None = None, random_state: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Samples of every class, exactly as the fitted condenser's
        :meth:`~condensekit.DatasetCondenser.sample` gives them: drawn from the saved generator,
        or the first ``n_per_class`` of every class of a saved selection.

        Parameters
        ----------
        n_per_class : int or None, default=None
            Samples per class; ``None`` is the saved ``ipc`` (the stored set itself). A
            selection gives at most its ``ipc``.
        random_state : int or None, default=None
            Generative only. ``None``: the set's own codes, then the same further codes as the
            condenser. An int: fresh codes from it.

        Returns
        -------
        X, y : numpy.ndarray
            Samples in the original layout and value scale, and their labels.
        """

        return KINDS.get(self.kind).sample(self, n_per_class, random_state)

    @property
    def kind(self) -> str:
        """What the set is (:data:`condensekit.kinds.KINDS`): ``"generator"``,
        ``"selection"`` or ``"pixels"``."""
        if self.generator is not None:
            return "generator"
        return "selection" if self.sample_indices is not None else "pixels"
