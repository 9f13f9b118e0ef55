"""Quality on real data: every condensation method (dm, ddm, dc, dsa, dcc, dsa_dcc and
generative) beats random real samples on digits at ipc 1.

The budgets are small so each check runs in seconds on two CPU cores; the full figures
(digits, MNIST, CIFAR-10 subset) come from the scripts in benchmarks/. The selection baselines
are not here: they keep real samples, and their checks are in test_selection.py.
"""

import pytest

from condensekit import CondensedEvaluator, DatasetCondenser

#: Short runs per method: enough to leave the random real samples they start from behind.
BUDGET = {
    "dm": {"max_iter": 150, "strategy__batch_real": 64, "augment__flip": False},
    "ddm": {"max_iter": 150, "strategy__batch_real": 64, "augment__flip": False},
    "generative": {"max_iter": 150, "strategy__batch_real": 64, "augment__flip": False},
    "dc": {"max_iter": 40, "strategy__batch_real": 32},
    "dsa": {"max_iter": 40, "strategy__batch_real": 32, "augment__flip": False},
    "dcc": {"max_iter": 40, "strategy__batch_real": 32},
    "dsa_dcc": {"max_iter": 40, "strategy__batch_real": 32, "augment__flip": False},
}


@pytest.fixture(scope="module")
def random_score(digits):
    X_train, X_test, y_train, y_test = digits
    random = DatasetCondenser("random", ipc=1, random_state=0, verbose=0).fit(X_train, y_train)
    return CondensedEvaluator(n_models=3, random_state=0).evaluate(random, X_test, y_test)


@pytest.mark.parametrize("method", sorted(BUDGET))
def test_method_beats_random_on_digits_ipc1(digits, random_score, method):
    X_train, X_test, y_train, y_test = digits
    cond = DatasetCondenser(method, ipc=1, random_state=0, verbose=0, **BUDGET[method])
    cond.fit(X_train, y_train)
    score = CondensedEvaluator(n_models=3, random_state=0).evaluate(cond, X_test, y_test)
    margin = 2 * max(random_score.std, score.std, 0.01)
    assert score.mean > random_score.mean + margin, (method, score, random_score)
