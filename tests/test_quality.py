"""Quality on real data: distribution matching beats random real samples on digits.

The budget is small so the test runs in well under a minute on two CPU cores; the full figures
(digits, MNIST, CIFAR-10 subset) come from benchmarks/bench_dm.py.
"""

from condensekit import CondensedEvaluator, DatasetCondenser


def test_dm_beats_random_on_digits_ipc1(digits):
    X_train, X_test, y_train, y_test = digits
    evaluator = CondensedEvaluator(n_models=3, random_state=0)
    common = {"ipc": 1, "random_state": 0, "verbose": 0}
    random = DatasetCondenser("random", **common).fit(X_train, y_train)
    dm = DatasetCondenser(
        "dm", max_iter=150, strategy__batch_real=64, augment__flip=False, **common
    ).fit(X_train, y_train)
    r_rand = evaluator.evaluate(random, X_test, y_test)
    r_dm = evaluator.evaluate(dm, X_test, y_test)
    assert r_dm.mean > r_rand.mean + 2 * max(r_rand.std, r_dm.std, 0.01), (r_dm, r_rand)
