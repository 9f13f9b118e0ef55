"""Checks that need a CUDA GPU; skipped on machines without one (CI has none)."""

import pickle

import numpy as np
import pytest
import torch

from condensekit import CondensedEvaluator, DatasetCondenser

from .conftest import FAST

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_fit_on_gpu_from_numpy_and_from_cuda_tensors(digits_small):
    X, y = digits_small
    a = DatasetCondenser("dm", ipc=1, device="cuda", random_state=0, **FAST).fit(X, y)
    b = DatasetCondenser("dm", ipc=1, device="cuda", random_state=0, **FAST).fit(
        torch.as_tensor(X, device="cuda"), torch.as_tensor(y, device="cuda")
    )
    assert a.device_.startswith("cuda") and isinstance(a.X_syn_, np.ndarray)
    np.testing.assert_allclose(a.X_syn_, b.X_syn_, rtol=1e-5, atol=1e-5)


def test_same_seed_same_set_on_gpu(digits_small):
    X, y = digits_small
    kw = {**FAST, "ipc": 2, "device": "cuda", "random_state": 3}
    a = DatasetCondenser("dm", **kw).fit(X, y).X_syn_
    b = DatasetCondenser("dm", **kw).fit(X, y).X_syn_
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_gpu_fitted_condenser_pickles_to_plain_arrays(digits_small):
    X, y = digits_small
    cond = DatasetCondenser("dm", ipc=1, device="cuda", random_state=0, **FAST).fit(X, y)
    back = pickle.loads(pickle.dumps(cond))
    assert isinstance(back.X_syn_, np.ndarray)
    assert CondensedEvaluator(n_models=1, epochs=5, device="cuda")(back, X, y) >= 0
