"""The condensekit console command, run in-process on digits."""

import json

import numpy as np
import pytest

from condensekit import load_condensed
from condensekit.benchmark import budget_settings, run_benchmark
from condensekit.cli import main


def test_condense_evaluate_show_round_trip(tmp_path, capsys):
    out = tmp_path / "dm.npz"
    grid = tmp_path / "dm.png"
    argv = ["condense", "--data", "digits", "--method", "dm", "--ipc", "2", "--max-iter", "5"]
    argv += ["--set", "model__width=16", "strategy__batch_real=16", "--output", str(out)]
    assert main([*argv, "--grid", str(grid), "--quiet"]) == 0
    loaded = load_condensed(out)
    assert loaded.X.shape == (20, 8, 8) and loaded.metadata["n_iter"] == 5
    assert loaded.metadata["params"]["model__width"] == 16
    assert grid.read_bytes()[:4] == b"\x89PNG"

    report = tmp_path / "eval.json"
    argv = ["evaluate", str(out), "--test", "digits", "--n-models", "1", "--epochs", "10"]
    assert main([*argv, "--quiet", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["method"] == "dm" and 0.1 < result["acc_mean"] <= 1
    assert "test accuracy" in capsys.readouterr().out

    shown = tmp_path / "shown.png"
    assert main(["show", str(out), "--output", str(shown), "--zoom", "1"]) == 0
    assert shown.read_bytes()[:4] == b"\x89PNG"


def test_condense_reads_an_npz_of_arrays(tmp_path, digits):
    X_train, _, y_train, _ = digits
    data = tmp_path / "data.npz"
    np.savez(data, X_train=X_train.reshape(-1, 64), y_train=y_train)
    out = tmp_path / "sel.npz"
    argv = ["condense", "--data", str(data), "--method", "herding", "--ipc", "1", "-o", str(out)]
    assert main([*argv, "--budget", "default", "--set", "strategy__features=raw"]) == 0
    assert load_condensed(out).X.shape == (10, 64)


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["condense", "--data", "nope", "-o", "x.npz"], 1, "unknown dataset 'nope'"),
        (["condense", "--data", "digits", "--ipc", "0", "-o", "x.npz"], 2, "positive integer"),
        (["condense", "--data", "digits", "--method", "magic", "-o", "x.npz"], 2, "invalid choice"),
        (["condense", "--data", "digits", "--set", "lr", "-o", "x.npz"], 1, "key=value"),
        (
            ["condense", "--data", "digits", "--set", "strategy__lr_syn=-1", "-o", "x.npz"],
            1,
            "lr_syn",
        ),
        (["evaluate", "missing.npz", "--test", "digits"], 1, "No condensed set"),
        (["show", "missing.npz", "-o", "x.png"], 1, "No condensed set"),
        (["benchmark", "--datasets", "imagenet"], 1, "imagenet"),
        ([], 2, "required"),
    ],
)
def test_errors_are_one_line_and_non_zero(argv, status, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == status
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_foreign_file_is_refused_in_one_line(tmp_path, capsys):
    bogus = tmp_path / "picture.npz"
    bogus.write_bytes(b"\x89PNG not really")
    assert main(["show", str(bogus), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "not a readable condensed set" in err and "allow_pickle" not in err


def test_help_lists_every_subcommand_and_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for name in ("condense", "evaluate", "show", "benchmark"):
        assert name in text
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    text = capsys.readouterr().out
    for option in ("--datasets", "--methods", "--ipc", "--budget", "--seeds", "--out-dir"):
        assert option in text


def test_benchmark_writes_results_and_resumes(tmp_path, monkeypatch):
    calls = []
    from condensekit import condenser

    original = condenser.DatasetCondenser.fit

    def counting_fit(self, X, y=None):
        calls.append(self.method)
        return original(self, X, y)

    monkeypatch.setattr(condenser.DatasetCondenser, "fit", counting_fit)
    raw = {"strategy__features": "raw"}
    kwargs = {
        "n_models": 1,
        "epochs": 20,
        "overrides": {"*": {"model__width": 16}, "herding": raw, "kcenter": raw},
        "out_dir": tmp_path,
        "verbose": 0,
    }
    rows = run_benchmark(["digits"], ["random", "herding"], [1], **kwargs)
    assert calls == ["random", "herding"] and len(rows) == 2
    saved = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert saved[1]["settings"] == {"model__width": 16, "strategy__features": "raw"}
    assert [r["method"] for r in saved] == ["random", "herding"]
    assert "| digits | 1 |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "accuracy_digits.svg").read_text().startswith("<svg")
    # a rerun with one more method runs only the new cell
    rows = run_benchmark(["digits"], ["random", "herding", "kcenter"], [1], **kwargs)
    assert calls == ["random", "herding", "kcenter"] and len(rows) == 3
    assert rows[0]["acc_mean"] == saved[0]["acc_mean"]


def test_budgets_follow_the_measured_settings():
    assert budget_settings("quick", "dm", "digits", 10) == {
        "max_iter": 1000,
        "strategy__batch_real": 256,
        "strategy__lr_syn": 10.0,
        "augment__flip": False,
    }
    assert budget_settings("quick", "dcc", "mnist", 1)["strategy__lr_syn"] == 0.3
    assert budget_settings("quick", "dsa", "cifar10", 10)["augment__flip"] is True
    assert "strategy__lr_syn" not in budget_settings("quick", "generative", "mnist", 10)
    assert budget_settings("quick", "herding", "mnist", 10) == {"strategy__epochs": 5}
    assert budget_settings("paper", "dm", "cifar10", 50)["max_iter"] == 20000
    with pytest.raises(ValueError, match="budget"):
        budget_settings("huge", "dm", "digits", 1)
