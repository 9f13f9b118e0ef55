"""Class-incremental learning with condensed sets as memory (condensekit.continual)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from condensekit import CondensedEvaluator, DatasetCondenser
from condensekit._cli_inputs import parse_method_settings
from condensekit._validation import InvalidParameterError
from condensekit.cli import main
from condensekit.continual import ClassIncrementalBenchmark, ContinualResult
from condensekit.data import load_digits_split

FAST_EVAL = {"n_models": 1, "epochs": 2, "model__width": 8}


@pytest.fixture(scope="module")
def digits():
    X, X_test, y, y_test = load_digits_split()
    return X, y, X_test, y_test


def _bench(**kwargs) -> ClassIncrementalBenchmark:
    settings = {
        "steps": 5,
        "ipc": 3,
        "orders": 2,
        "evaluator": CondensedEvaluator(**FAST_EVAL),
        "verbose": 0,
        **kwargs,
    }
    return ClassIncrementalBenchmark(**settings)


def test_class_orders_are_permutations_reproducible_from_the_seed():
    classes = np.arange(10)
    a = ClassIncrementalBenchmark(orders=3, random_state=4).class_orders(classes)
    b = ClassIncrementalBenchmark(orders=3, random_state=4).class_orders(classes)
    c = ClassIncrementalBenchmark(orders=3, random_state=5).class_orders(classes)
    assert len(a) == 3 and all(np.array_equal(x, z) for x, z in zip(a, b, strict=True))
    assert all(sorted(o.tolist()) == list(range(10)) for o in a)
    assert len({tuple(o) for o in a}) == 3  # three different orders
    assert any(not np.array_equal(x, z) for x, z in zip(a, c, strict=True))
    labels = np.array(list("abcdefghij"))  # any labels, not only 0..n-1
    assert sorted(ClassIncrementalBenchmark().class_orders(labels)[0].tolist()) == list(labels)


def test_the_memory_grows_by_ipc_per_new_class_and_keeps_what_it_held(digits, monkeypatch):
    X, y, X_test, y_test = digits
    seen_sets = []
    original = CondensedEvaluator.evaluate

    def spy(self, condensed, Xt, yt, **kw):
        seen_sets.append((condensed, np.unique(yt)))
        return original(self, condensed, Xt, yt, **kw)

    monkeypatch.setattr(CondensedEvaluator, "evaluate", spy)
    result = _bench(orders=1).run({"random": {}, "dm": {"max_iter": 2}}, X, y, X_test, y_test)
    assert isinstance(result, ContinualResult) and result.methods == ["random", "dm"]
    order = _bench().class_orders(np.arange(10))[0]
    for method in ("random", "dm"):
        cells = [c for c in result.cells if c["method"] == method]
        sets = [s for s, c in zip(seen_sets, result.cells, strict=True) if c["method"] == method]
        assert [c["classes"] for c in cells] == [
            order[2 * s : 2 * s + 2].tolist() for s in range(5)
        ]
        for step, (cell, (memory, tested)) in enumerate(zip(cells, sets, strict=True)):
            seen = order[: 2 * (step + 1)]
            assert cell["classes_seen"] == len(seen) and cell["memory_size"] == 3 * len(seen)
            counts = dict(zip(*np.unique(memory.y, return_counts=True), strict=True))
            assert counts == {c: 3 for c in seen}  # ipc of every class seen, no other
            assert np.array_equal(tested, np.sort(seen))  # tested on the classes seen only
            assert np.array_equal(memory.classes, np.arange(10))  # one head over all classes
            if step:  # the earlier memory is kept as it was, the new samples appended
                before = sets[step - 1][0]
                np.testing.assert_array_equal(memory.X[: len(before.X)], before.X)
    random_first = seen_sets[0][0]
    assert all(np.any(np.all(row == X, axis=1)) for row in random_first.X)  # real rows


def test_an_interrupted_run_resumes_without_recomputing_finished_cells(
    digits, tmp_path, monkeypatch
):
    X, y, X_test, y_test = digits
    calls = {"fit": 0, "evaluate": 0}
    fit, evaluate = DatasetCondenser.fit, CondensedEvaluator.evaluate

    def counted_fit(self, *a, **kw):
        calls["fit"] += 1
        return fit(self, *a, **kw)

    def counted_evaluate(self, *a, **kw):
        calls["evaluate"] += 1
        if calls["evaluate"] == 4 and calls.get("interrupt"):
            raise KeyboardInterrupt
        return evaluate(self, *a, **kw)

    monkeypatch.setattr(DatasetCondenser, "fit", counted_fit)
    monkeypatch.setattr(CondensedEvaluator, "evaluate", counted_evaluate)
    methods = {"random": {}, "dm": {"max_iter": 2}}
    calls["interrupt"] = True
    with pytest.raises(KeyboardInterrupt):
        _bench(path=tmp_path).run(methods, X, y, X_test, y_test)
    assert calls == {"fit": 4, "evaluate": 4, "interrupt": True}
    assert len(json.loads((tmp_path / "cells.json").read_text())["cells"]) == 3
    calls.update(fit=0, evaluate=0, interrupt=False)
    resumed = _bench(path=tmp_path).run(methods, X, y, X_test, y_test)
    # 20 cells: the 3 finished ones are read back; the interrupted one is made again
    assert calls["fit"] == 20 - 3 and calls["evaluate"] == 20 - 3
    calls.update(fit=0, evaluate=0)
    again = _bench(path=tmp_path).run(methods, X, y, X_test, y_test)
    assert calls["fit"] == 0 and calls["evaluate"] == 0
    fresh = _bench().run(methods, X, y, X_test, y_test)
    for a, b, c in zip(resumed.cells, again.cells, fresh.cells, strict=True):
        assert a["accuracies"] == b["accuracies"] == c["accuracies"]
    # other settings are not mistaken for finished cells
    calls.update(fit=0, evaluate=0)
    _bench(path=tmp_path, orders=1, ipc=2).run({"random": {}}, X, y, X_test, y_test)
    assert calls["fit"] == 5 and calls["evaluate"] == 5


@pytest.mark.parametrize(
    ("settings", "methods", "match"),
    [
        ({"steps": 3}, ["random"], "steps=3 must divide the number of classes of y .10."),
        ({"ipc": 1000}, ["random"], "ipc=1000 is larger than the smallest class of y"),
        ({"steps": 0}, ["random"], "steps"),
        ({}, {"dm": {"ipc": 5}}, r"sets \['ipc'\], which the benchmark sets itself"),
        ({}, {"dm": {"strategy__lr_syn": -1}}, "lr_syn"),
        ({}, [], "methods must be"),
        ({}, {"dm": 3}, "must be a dict of DatasetCondenser parameters or a condenser"),
    ],
)
def test_bad_settings_are_clear_errors(digits, settings, methods, match):
    X, y, X_test, y_test = digits
    with pytest.raises(InvalidParameterError, match=match):
        _bench(**settings).run(methods, X, y, X_test, y_test)


def test_bad_data_is_a_clear_error(digits):
    X, y, X_test, y_test = digits
    with pytest.raises(ValueError, match="y_test holds classes absent from y"):
        _bench().run(["random"], X, y, X_test, np.where(y_test == 0, 42, y_test))
    with pytest.raises(ValueError, match="X and y must hold the same number of samples"):
        _bench().run(["random"], X, y[:-1], X_test, y_test)


def test_condensers_are_cloned_with_the_benchmarks_ipc_and_seeds(digits):
    X, y, X_test, y_test = digits
    mine = DatasetCondenser("random", ipc=50)
    result = _bench(orders=1, steps=2).run([mine], X, y, X_test, y_test)
    assert [c["memory_size"] for c in result.cells] == [15, 30]
    assert not hasattr(mine, "X_syn_")  # the caller's condenser is never fitted


def test_result_table_plot_and_json(digits, tmp_path):
    X, y, X_test, y_test = digits
    result = _bench(steps=2, orders=2).run(["random"], X, y, X_test, y_test)
    seen, mean, std = result.curve("random")
    assert seen.tolist() == [5, 10]
    pooled = [a for c in result.cells if c["step"] == 1 for a in c["accuracies"]]
    assert mean[-1] == pytest.approx(100 * np.mean(pooled)) and len(pooled) == 2
    assert result.final()["random"] == (pytest.approx(mean[-1]), pytest.approx(std[-1]))
    assert result.to_markdown().splitlines()[0] == "| method | 5 classes | 10 classes |"
    assert "<polyline" in result.plot().svg
    result.save_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["settings"]["steps"] == 2
    with pytest.raises(KeyError, match="no method 'dm'"):
        result.curve("dm")


def test_the_continual_command_writes_table_json_and_plot(tmp_path, capsys):
    status = main(
        [
            "continual", "--data", "digits", "--methods", "random", "herding", "--steps", "2",
            "--ipc", "2", "--orders", "1", "--n-models", "1", "--epochs", "2", "--quiet",
            "--set", "model__width=8", "--out-dir", str(tmp_path),
        ]
    )  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "| random |" in out and "| herding |" in out
    cells = json.loads((tmp_path / "cells.json").read_text())["cells"]
    assert len(cells) == 4 and {c["memory_size"] for c in cells} == {10, 20}
    assert (tmp_path / "accuracy.svg").read_text().startswith("<svg")
    assert "| method |" in (tmp_path / "results.md").read_text()
    assert main(["continual", "--data", "digits", "--steps", "3", "--quiet"]) == 1
    assert "steps=3 must divide" in capsys.readouterr().err


def test_set_takes_settings_for_one_method(tmp_path, capsys):
    parsed = parse_method_settings(["max_iter=3", "dm:strategy__batch_real=8", "dm:max_iter=2"])
    assert parsed == {"*": {"max_iter": 3}, "dm": {"strategy__batch_real": 8, "max_iter": 2}}
    args = ["continual", "--data", "digits", "--methods", "random", "dm", "--steps", "2",
            "--ipc", "1", "--orders", "1", "--n-models", "1", "--epochs", "1", "--quiet",
            "--out-dir", str(tmp_path)]  # fmt: skip
    # strategy__batch_real is no setting of random: given to dm only, the run works
    assert main([*args, "--set", "dm:strategy__batch_real=8", "dm:max_iter=2"]) == 0
    assert main([*args, "--set", "dc:max_iter=2"]) == 1
    assert "--set names methods ['dc'] that --methods does not run" in capsys.readouterr().err
