"""Selection baselines: a selector scores every real sample, the shared base keeps ``ipc``
samples of every class in the order the selector asks for."""

from __future__ import annotations

import logging
import time
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch

from .._validation import Interval, InvalidParameterError, Options
from ..strategies.base import CondensedResult, FitContext, Method
from .helpers import HelperCost

logger = logging.getLogger(__name__)

#: Orders in which a score-based selection keeps the samples of a class (scores: high = hard).
ORDERS = ("hard", "easy", "middle", "spread")


def _by_class_and_score(
    scores: torch.Tensor, labels: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows sorted by class, then by descending score (ties: the earlier row first), and the
    rank of each sorted row within its class (0: the highest score)."""
    by_score = torch.argsort(scores, descending=True, stable=True)
    order = by_score[torch.argsort(labels[by_score], stable=True)]
    counts = torch.bincount(labels, minlength=n_classes)
    starts = torch.cumsum(counts, 0) - counts
    return order, torch.arange(len(order), device=order.device) - starts[labels[order]]


def top_per_class(
    scores: torch.Tensor, labels: torch.Tensor, n_classes: int, k: int | torch.Tensor
) -> torch.Tensor:
    """Indices of the ``k`` highest scores of every class, grouped by class, without a Python
    loop over classes. ``k`` is one budget for every class or a tensor of one per class. Ties
    keep the earlier row."""
    order, rank = _by_class_and_score(scores, labels, n_classes)
    if not isinstance(k, Integral):  # one budget per class (tensor, array or list)
        k = torch.as_tensor(k, device=order.device)[labels[order]]
    return order[rank < k]


def rank_in_class(scores: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Rank of every sample within its class by descending score (0: the highest); ties keep
    the earlier row first."""
    order, rank_sorted = _by_class_and_score(scores, labels, n_classes)
    rank = torch.empty_like(order)
    rank[order] = rank_sorted
    return rank


def spread_ranks(n: int) -> np.ndarray:
    """The ranks ``0 .. n - 1`` in an order whose every prefix spreads evenly over them.

    Rank ``floor(v * n)`` for ``v`` in the base-2 van der Corput sequence ``1/2, 1/4, 3/4, 1/8,
    5/8, 3/8, 7/8, ...``, repeats dropped: the first is rank ``floor(n / 2)`` (for an even
    ``n`` the easier of the two middle ranks, where ``order="middle"`` starts at the harder),
    then ranks near the quartiles, then the eighths, and so on, ever finer. With ``2**b >= 2n``
    points every rank is reached (the points are all multiples of ``1 / 2**b``).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bits = int(np.ceil(np.log2(2 * n)))
    j = np.arange(1, 2**bits, dtype=np.int64)
    v = np.zeros(len(j))
    weight = 0.5
    while j.any():  # reverse the binary digits of j behind the point
        v += weight * (j & 1)
        j >>= 1
        weight /= 2
    pos = np.floor(v * n).astype(np.int64)
    _, first = np.unique(pos, return_index=True)
    return pos[np.sort(first)]


def order_keys(
    scores: torch.Tensor,
    labels: torch.Tensor,
    n_classes: int,
    order: str = "hard",
    offset: float = 0.0,
) -> torch.Tensor:
    """Keys whose descending order within every class is the order in which samples are kept.

    With ``r`` a sample's rank in its class by descending score (0: the highest score, the
    hardest sample) and ``n`` the class size:

    - ``"hard"``: ranks ``s, s + 1, ...`` with ``s = floor(offset * n)`` (data_diet's window
      offset; 0 keeps the hardest first, the papers' rule for large budgets), then the skipped
      ranks ``s - 1, s - 2, ...``, so a class too small for the window slides it back;
    - ``"easy"``: the same from the lowest score up;
    - ``"middle"``: outwards from the median rank ``(n - 1) / 2``, the harder of two equally far
      ranks first, so the first ``k`` form the ``k`` ranks starting at ``floor((n - k) / 2)``.
    - ``"spread"``: ranks in the order of :func:`spread_ranks`, so the first ``k`` spread evenly
      from the hardest to the easiest (the median first): a deterministic sample stratified by
      difficulty, as coverage-centric selection (Zheng et al., ICLR 2023) stratifies.

    The first ``k`` kept of every class are then, for every ``k``, what a selection with budget
    ``k`` keeps: a selection fitted once serves every smaller budget.

    Parameters
    ----------
    scores, labels : torch.Tensor
        One score (higher: harder) and one class index per sample.
    n_classes : int
        Number of classes.
    order : {"hard", "easy", "middle", "spread"}, default="hard"
        Which samples of each class come first.
    offset : float in [0, 1), default=0.0
        Fraction of every class skipped first, from the hard end (``"hard"``) or the easy end
        (``"easy"``); must be 0 with ``"middle"`` and ``"spread"``.

    Returns
    -------
    torch.Tensor
        Float keys, one per sample (higher: kept earlier).
    """
    if order not in ORDERS:
        raise InvalidParameterError(f"order must be one of {ORDERS}, got {order!r}.")
    if not 0 <= offset < 1:
        raise InvalidParameterError(f"offset must be in [0, 1), got {offset!r}.")
    if order in ("middle", "spread") and offset:
        raise InvalidParameterError(
            f"offset applies to order='hard' or 'easy' (a window from one end); "
            f"order={order!r} takes offset=0, got offset={offset!r}."
        )
    rank = rank_in_class(scores, labels, n_classes)
    n = torch.bincount(labels, minlength=n_classes)[labels]
    if order == "easy":
        rank = n - 1 - rank
    if order == "middle":
        gap = (2 * rank - (n - 1)).abs()  # twice the distance to the median rank
        distance = 2 * gap + (2 * rank > n - 1).long()  # the harder of a tied pair first
    elif order == "spread":
        # one table of places per distinct class size (row: size, column: rank), one gather
        sizes, size_of = torch.unique(n, return_inverse=True)
        table = np.zeros((len(sizes), int(sizes.max())), dtype=np.int64)
        for row, size in enumerate(sizes.tolist()):
            table[row, spread_ranks(size)] = np.arange(size)  # place of every rank in the order
        distance = torch.as_tensor(table, device=rank.device)[size_of, rank]
    else:
        skip = torch.floor(offset * n.double()).long()
        distance = torch.where(rank >= skip, rank - skip, (n - skip) + (skip - 1 - rank))
    return -distance.to(torch.float64)


def ranked_head(
    X: np.ndarray,
    y: np.ndarray,
    n_per_class: int | None,
    random_state: Any = None,
    method: str = "selection",
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_per_class`` samples of every class of a selection's kept set.

    A selection keeps its budget of every class, grouped by class and in the order the method
    ranks them (:func:`top_per_class`), so the first ``n`` of every class are the set that a
    fit with ``ipc=n`` keeps. Shared by ``DatasetCondenser.sample`` and
    ``CondensedSet.sample``; ``n`` is at most the smallest class's budget.
    """
    if random_state is not None:
        raise InvalidParameterError(
            f"random_state applies to method='generative' draws only; method={method!r} is a "
            f"selection whose ranking its fit fixed. Got random_state={random_state!r}."
        )
    y = np.asarray(y)
    starts = np.flatnonzero(np.r_[True, y[1:] != y[:-1]])
    sizes = np.diff(np.r_[starts, len(y)])
    most = int(sizes.min())
    n = most if n_per_class is None and (sizes == most).all() else n_per_class
    if n is None:  # per-class budgets: the whole set
        return X, y
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= most:
        fitted = "the fitted ipc" if (sizes == most).all() else "the smallest class's budget"
        raise InvalidParameterError(
            f"n_per_class must be an int in [1, {most}] ({fitted}) or None for a selection, "
            f"got {n_per_class!r}; fit with a larger ipc to keep more."
        )
    keep = np.arange(len(y)) - np.repeat(starts, sizes) < n
    return X[keep], y[keep]


class SelectionStrategy(Method):
    """Base of selections of real samples; subclasses implement :meth:`score`.

    Helper networks that :meth:`score` trains go through
    :func:`~condensekit.selection.helpers.train_helper` with :attr:`helper_cost_`, which the fit
    reports as the condenser's ``helper_cost_``.
    """

    learns_samples: ClassVar[bool] = False
    budget_family: ClassVar[str | None] = "selection"
    result_kind: ClassVar[str] = "selection"

    def resolve_init(self, init: str) -> str:
        """A selection keeps real samples: only ``"auto"`` (or ``"real"``) means anything."""
        if init not in ("auto", "real"):
            raise InvalidParameterError(
                f"init={init!r} has no meaning for a selection ({type(self).__name__}), which "
                "keeps real samples; use init='auto'."
            )
        return "real"

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Refuse an augmentation and callbacks: a selection neither trains pixels nor has
        an outer loop."""
        super().check_settings(settings)
        method = settings["method"]
        if settings.get("augment") not in ("auto", None):
            raise InvalidParameterError(
                f"augment={settings['augment']!r} has no effect on the selection method "
                f"{method!r}, which keeps real samples; use augment='auto' or None."
            )
        if settings.get("callbacks"):
            raise InvalidParameterError(
                f"callbacks are called by the outer loop of a learned set; the selection "
                f"method {method!r} has none. Use callbacks=None."
            )

    def score(self, ctx: FitContext) -> torch.Tensor:  # pragma: no cover - abstract
        """One score per real sample; higher is kept first."""
        raise NotImplementedError

    def keep_order(self, scores: torch.Tensor, ctx: FitContext) -> torch.Tensor:
        """Keys by which the base keeps samples (highest first); by default the scores."""
        return scores

    def run(self, ctx: FitContext) -> CondensedResult:
        """Score, then cut every class to the budget."""
        data = ctx.data
        self.helper_cost_ = HelperCost()
        start = time.perf_counter()
        scores = self.score(ctx)
        self.helper_cost_.seconds = time.perf_counter() - start
        rows = top_per_class(self.keep_order(scores, ctx), data.y, data.n_classes, ctx.budget)
        return CondensedResult(
            X=data.X[rows],
            y=data.y[rows],
            sample_indices=rows,
            scores=scores,
            helper_cost=self.helper_cost_.as_dict(),
        )


class ScoreSelection(SelectionStrategy):
    """Base of selections that score difficulty (EL2N, GraNd, forgetting): higher scores are
    harder samples, and ``order`` / ``offset`` say which of them a class keeps.

    Subclasses list ``order`` and ``offset`` among their ``__init__`` parameters.
    """

    _parameter_constraints: ClassVar[dict] = {
        "order": [Options(list(ORDERS))],
        "offset": [Interval(Real, 0, 1, closed="left")],
    }

    order: str
    offset: float

    def validate(self, prefix: str = "strategy__") -> None:
        """Check every setting, and that ``offset`` comes with a window from one end."""
        super().validate(prefix)
        if self.order in ("middle", "spread") and self.offset:
            raise InvalidParameterError(
                f"The {prefix}offset parameter applies to {prefix}order='hard' or 'easy' (a "
                f"window from one end); order={self.order!r} takes offset=0. Got "
                f"offset={self.offset!r}."
            )

    def keep_order(self, scores: torch.Tensor, ctx: FitContext) -> torch.Tensor:
        """:func:`order_keys` of the scores under ``order`` and ``offset``."""
        counts = ctx.data.counts
        if self.order in ("hard", "easy") and self.offset:
            wanted = torch.floor(self.offset * counts.double()).long()
            short = wanted > counts - ctx.budget
            if bool(short.any()):
                logger.warning(
                    "offset=%s skips more samples than %d classes can spare at their budget "
                    "(ipc=%d for the first); their window slides back to the last samples of the "
                    "order %r.",
                    self.offset,
                    int(short.sum()),
                    int(ctx.budget[short][0]),
                    self.order,
                )
        return order_keys(scores, ctx.data.y, ctx.data.n_classes, self.order, self.offset)
