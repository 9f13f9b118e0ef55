"""The real training set as the methods see it: normalised, on the device, indexed by class.

:class:`RealData` holds every sample on the device (arrays and small datasets);
:class:`StreamedRealData` keeps only the labels and the per-class index there and decodes the
rows a method gathers from a :class:`~condensekit.data.streaming.StreamingSource`.
"""

from __future__ import annotations

import torch

from .adapters import Normalizer
from .streaming import StreamingSource


class RealData:
    """The real training set on the device, grouped by class for fast per-class sampling.

    Parameters
    ----------
    X : torch.Tensor of shape (n, ...)
        Normalised samples.
    y : torch.Tensor of shape (n,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of classes.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, n_classes: int) -> None:
        self._X = X
        self.y = y
        self.n_classes = n_classes
        self.order = torch.argsort(y, stable=True)
        self.counts = torch.bincount(y, minlength=n_classes)
        self.offsets = torch.cumsum(self.counts, 0) - self.counts
        self._max_count = int(self.counts.max())

    @property
    def X(self) -> torch.Tensor:  # noqa: N802 (scikit-learn's name for the samples)
        """Every normalised sample, ``(n, *sample_shape)`` on the device."""
        return self._X

    def gather(self, rows: torch.Tensor) -> torch.Tensor:
        """Normalised samples of ``rows`` (any shape), ``(*rows.shape, *sample_shape)``."""
        return self._X[rows]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one internal sample."""
        return tuple(self._X.shape[1:])

    @property
    def is_image(self) -> bool:
        """True when samples are images ``(C, H, W)``."""
        return self._X.dim() == 4

    def sample_per_class_dense(
        self, n_per_class: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`sample_per_class`, as a ``(n_classes, k)`` grid of rows and a validity mask.

        ``k = min(n_per_class, largest class)``; where a class holds fewer than ``k`` samples,
        the extra entries repeat one of its rows and are marked invalid.
        """
        dev = self.y.device
        n_classes, width = self.n_classes, self._max_count
        k = min(int(n_per_class), width)
        keys = torch.rand(n_classes, width, generator=generator, device=dev)
        positions = torch.arange(width, device=dev).expand(n_classes, width)
        keys = torch.where(positions < self.counts[:, None], keys, torch.full_like(keys, 2.0))
        pos = keys.topk(k, dim=1, largest=False).indices
        valid = pos < self.counts[:, None]
        pos = torch.where(valid, pos, torch.zeros_like(pos))
        return self.order[self.offsets[:, None] + pos], valid

    def sample_per_class(
        self, n_per_class: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw up to ``n_per_class`` distinct samples of every class in one batched operation.

        Classes with fewer samples contribute all of them.

        Returns
        -------
        indices : torch.Tensor
            Rows of :attr:`X`, grouped by class (class 0 first).
        labels : torch.Tensor
            Class of each returned row.
        """
        rows, valid = self.sample_per_class_dense(n_per_class, generator)
        labels = torch.arange(self.n_classes, device=rows.device)[:, None].expand_as(rows)
        return rows[valid], labels[valid]


class StreamedRealData(RealData):
    """The real training set read on demand (``data_mode="stream"``).

    Methods that gather per-class batches (:meth:`gather`) work as with :class:`RealData`; one
    that needs every sample at once (``X``: the selections) is refused before the fit.

    Parameters
    ----------
    source : StreamingSource
        Decodes rows of the caller's dataset.
    y : torch.Tensor of shape (n,)
        Class indices on the device.
    n_classes : int
        Number of classes.
    normalizer : Normalizer
        Statistics the gathered samples are normalised with.
    device : torch.device
        Where gathered samples go.
    """

    def __init__(
        self,
        source: StreamingSource,
        y: torch.Tensor,
        n_classes: int,
        normalizer: Normalizer,
        device: torch.device,
    ) -> None:
        super().__init__(torch.empty(0), y, n_classes)
        self.source = source
        self.normalizer = normalizer
        self.device = device

    @property
    def X(self) -> torch.Tensor:  # noqa: N802 (scikit-learn's name for the samples)
        raise ValueError(
            "This method reads every real sample at once, which a streamed fit does not hold; "
            "use data_mode='memory'."
        )

    def gather(self, rows: torch.Tensor) -> torch.Tensor:
        X = self.source.decode(rows.reshape(-1).tolist())
        X = self.normalizer.normalize(X.to(self.device, non_blocking=True))
        return X.reshape(*rows.shape, *self.sample_shape)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.source.layout.internal_shape)

    @property
    def is_image(self) -> bool:
        return self.source.layout.is_image
