"""Named budgets: the settings of every benchmark cell, by the family its method declares.

A method declares its family (``Method.budget_family``: ``"gradient"``, ``"distribution"`` or
``"selection"``) and whether its synthetic learning rate scales with ``ipc``
(``Method.lr_scales_with_ipc``); the budget is looked up by family, never by method name, so a
method registered by a user gets its family's settings (or its own defaults when it declares
none).

* ``"quick"``: settings that fit a cell at ipc 1 or 10 into minutes of a 2-core CPU (at ipc 50
  on MNIST, evaluating the 500 images per network dominates: about 1.5 hours of one thread per
  cell); the figures of docs/benchmarks.md were measured with them.
* ``"paper"``: the papers' settings (20,000 DM iterations, 1,000 gradient-matching iterations,
  256 real images per class); meant for a GPU.
"""

from __future__ import annotations

import logging
from typing import Any

from ..methods import METHODS
from .datasets import FLIP

logger = logging.getLogger("condensekit")

#: Budget families a method may declare (``Method.budget_family``).
_FAMILIES = ("gradient", "distribution", "selection")
#: Helper networks of the quick budget's selections on the larger datasets, a few CPU minutes
#: each: herding and k-center features from 5 epochs of the CIFAR-10 subset (5,085 images, 20
#: steps of 256 an epoch) and 1 epoch of MNIST (60,000 images, 235 steps); EL2N from 2 networks
#: (the library default is 5) at epoch 10 and 2 of the default 20 (forgetting: a run of 10 and
#: 4 epochs, counting events between them); GraNd at initialisation (its default) over 3 and 2
#: networks instead of 10. The library defaults are the ``paper`` budget.
_SELECTION_QUICK_CIFAR = {
    "herding": {"strategy__epochs": 5},
    "kcenter": {"strategy__epochs": 5},
    "el2n": {"strategy__n_networks": 2, "strategy__epochs": 10},
    "grand": {"strategy__n_networks": 3},
    "forgetting": {"strategy__epochs": 10},
}
_SELECTION_QUICK_MNIST = {
    "herding": {"strategy__epochs": 1},
    "kcenter": {"strategy__epochs": 1},
    "el2n": {"strategy__n_networks": 2, "strategy__epochs": 2},
    "grand": {"strategy__n_networks": 2},
    "forgetting": {"strategy__epochs": 4},
}

#: Settings of every budget: ``BUDGETS[budget][family][dataset]``, and for gradient matching
#: ``[(dataset, ipc)]`` with a fallback under ``dataset``. ``lr_per_ipc`` sets
#: ``strategy__lr_syn = lr_per_ipc * ipc`` (DM's per-sample step shrinks as 1/ipc).
BUDGETS: dict[str, dict[str, dict]] = {
    "quick": {
        "distribution": {
            "digits": {"max_iter": 1000, "strategy__batch_real": 256, "lr_per_ipc": 1.0},
            "mnist": {"max_iter": 400, "strategy__batch_real": 64, "lr_per_ipc": 1.0},
            "cifar10": {"max_iter": 400, "strategy__batch_real": 64, "lr_per_ipc": 1.0},
        },
        "gradient": {
            ("digits", 1): {"max_iter": 200, "strategy__batch_real": 64},
            ("digits", 10): {"max_iter": 30, "strategy__batch_real": 64},
            ("mnist", 1): {"max_iter": 300, "strategy__batch_real": 64},
            # ipc 10 runs the papers' loop (10 pixel steps, each followed by 50 training
            # epochs of the set): about 160 s an outer iteration on this CPU, so 5 of them.
            ("mnist", 10): {"max_iter": 5, "strategy__batch_real": 64},
            ("cifar10", 10): {"max_iter": 5, "strategy__batch_real": 64},
            "digits": {"max_iter": 20, "strategy__batch_real": 64},
            "mnist": {"max_iter": 20, "strategy__batch_real": 64},
            "cifar10": {"max_iter": 20, "strategy__batch_real": 64},
        },
        # At ipc 1 the contrastive variants run the DCC authors' loop (10 pixel steps with 5
        # training epochs between them on every network, where DC takes 1 step): an outer
        # iteration costs about 9 times DC's (digits: 2.35 s against 0.26 s, one thread), so
        # they get the iterations that take DC's time.
        "gradient_method": {
            ("digits", 1, "dcc"): {"max_iter": 25},
            ("digits", 1, "dsa_dcc"): {"max_iter": 25},
            ("mnist", 1, "dcc"): {"max_iter": 30},
            ("mnist", 1, "dsa_dcc"): {"max_iter": 30},
        },
        "selection": {
            "digits": {},
            "mnist": _SELECTION_QUICK_MNIST,
            "cifar10": _SELECTION_QUICK_CIFAR,
        },
    },
    "paper": {
        "distribution": {
            d: {"max_iter": 20000, "strategy__batch_real": 256, "strategy__lr_syn": 1.0}
            for d in ("digits", "mnist", "cifar10")
        },
        "gradient": {
            d: {"max_iter": 1000, "strategy__batch_real": 256}
            for d in ("digits", "mnist", "cifar10")
        },
        "gradient_method": {},
        "selection": {"digits": {}, "mnist": {}, "cifar10": {}},
    },
}


def budgeted_datasets(budget: str = "quick") -> list[str]:
    """The datasets that ``budget`` has settings for (every family has the same ones)."""
    return sorted(BUDGETS[budget]["distribution"])


def budget_settings(budget: str, method: str, dataset: str, ipc: int) -> dict[str, Any]:
    """Condenser keyword arguments of one cell (without ``ipc`` and ``random_state``).

    Parameters
    ----------
    budget : {"quick", "paper"}
        Named budget.
    method : str
        A registered method.
    dataset : str
        ``"digits"``, ``"mnist"`` or ``"cifar10"``.
    ipc : int
        Samples per class.

    Returns
    -------
    dict
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}; got {budget!r}.")
    table = BUDGETS[budget]
    if dataset not in budgeted_datasets(budget):
        raise ValueError(
            f"no {budget!r} budget for dataset {dataset!r}; known: {budgeted_datasets(budget)}."
        )
    cls = METHODS.get(method)
    family = cls.budget_family
    if family is None:
        logger.info(
            "method %r declares no budget family; the %s budget runs it with its own defaults.",
            method,
            budget,
        )
        return {}
    if family not in _FAMILIES:
        raise ValueError(
            f"method {method!r} declares the budget family {family!r}; known: {list(_FAMILIES)}."
        )
    if family == "selection":
        return dict(table["selection"][dataset].get(method, {}))
    families = table[family]
    settings = dict(families.get((dataset, ipc), families[dataset]))
    settings.update(table.get(f"{family}_method", {}).get((dataset, ipc, method), {}))
    per_ipc = settings.pop("lr_per_ipc", None)
    if not cls.lr_scales_with_ipc:
        settings.pop("strategy__lr_syn", None)
    elif per_ipc is not None:
        settings["strategy__lr_syn"] = per_ipc * ipc
    if cls.default_augment == "dsa":  # no flips where they change the label (digits)
        settings["augment__flip"] = FLIP[dataset]
    return settings
