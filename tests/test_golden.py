"""Behaviour pinned across refactors: every registered method, seeded alike, gives the set it
gave when ``tests/data/golden_sets.npz`` was recorded.

The sets were recorded before the reshaping of issue 27 with ``python -m tests.test_golden``
(run from the repository root). Selections must keep exactly the same rows; learned sets must
match to a tolerance that allows for a different order of float operations (another CPU's
vector width or thread count), not for a different algorithm: the fits are a few iterations
long, so a changed update moves values by far more than the tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from condensekit import DatasetCondenser, list_methods
from condensekit.data import load_digits_split
from condensekit.methods import METHODS

GOLDEN = Path(__file__).parent / "data" / "golden_sets.npz"

#: Small but real settings of every method of the registry when the golden file was recorded.
SETTINGS: dict[str, dict] = {
    "dc": {"max_iter": 2},
    "dsa": {"max_iter": 2},
    "dcc": {"max_iter": 2},
    "dsa_dcc": {"max_iter": 2},
    "dm": {"max_iter": 3},
    "ddm": {"max_iter": 3},
    "generative": {
        "max_iter": 3,
        "strategy__warmup_iter": 2,
        "strategy__width": 16,
        "strategy__latent_dim": 8,
    },
    "random": {},
    "herding": {"strategy__features": "raw"},
    "kcenter": {"strategy__epochs": 1},
    "el2n": {"strategy__n_networks": 1, "strategy__epochs": 1},
    "grand": {"strategy__n_networks": 2},
    "forgetting": {"strategy__epochs": 2},
}
COMMON = {"ipc": 2, "random_state": 3, "verbose": 0, "model__width": 16}


def _data() -> tuple[np.ndarray, np.ndarray]:
    X_train, _, y_train, _ = load_digits_split()
    rows = np.concatenate([np.flatnonzero(y_train == c)[:20] for c in range(10)])
    return X_train[rows], y_train[rows]


def _fit(name: str) -> dict[str, np.ndarray]:
    X, y = _data()
    cond = DatasetCondenser(name, **COMMON, **SETTINGS[name]).fit(X, y)
    X_syn, y_syn = cond.transform()
    out = {"X": np.asarray(X_syn, dtype=np.float64), "y": np.asarray(y_syn)}
    if not METHODS.get(name).learns_samples:
        out["rows"] = np.asarray(cond.sample_indices_)
    return out


def test_every_registered_method_has_a_golden_set():
    assert set(SETTINGS) == set(list_methods())


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_same_seed_same_set_as_recorded(name):
    golden = np.load(GOLDEN)
    got = _fit(name)
    for key, value in got.items():
        expected = golden[f"{name}/{key}"]
        if key == "X" and METHODS.get(name).learns_samples:
            scale = np.abs(expected).max()
            np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4 * scale)
        else:
            np.testing.assert_array_equal(value, expected)


if __name__ == "__main__":  # record (only before a change that must keep behaviour)
    GOLDEN.parent.mkdir(exist_ok=True)
    arrays = {f"{n}/{k}": v for n in sorted(SETTINGS) for k, v in _fit(n).items()}
    np.savez_compressed(GOLDEN, **arrays)
