"""The condensekit console command, run in-process on digits."""

import json

import numpy as np
import pytest

from condensekit import load_condensed
from condensekit.benchmark import budget_settings, run_benchmark
from condensekit.cli import main


@pytest.fixture
def fit_calls(monkeypatch):
    """``(method, ipc)`` of every DatasetCondenser.fit made while the test runs."""
    from condensekit import condenser

    calls = []
    original = condenser.DatasetCondenser.fit

    def counting_fit(self, X, y=None):
        calls.append((self.method, self.ipc))
        return original(self, X, y)

    monkeypatch.setattr(condenser.DatasetCondenser, "fit", counting_fit)
    return calls


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

    # the paper protocol of the saved set's method (dm: DSA, 1000 epochs)
    argv = ["evaluate", str(out), "--test", "digits", "--n-models", "1", "--protocol", "paper"]
    assert main([*argv, "--quiet", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert (result["protocol"], result["augment"], result["epochs"]) == ("dsa", "dsa", 1000)
    assert "1000 epochs, protocol dsa" in capsys.readouterr().out
    assert main([*argv, "--epochs", "10", "--quiet"]) == 1
    assert "sets the augmentation and the epochs itself" in capsys.readouterr().err


def test_evaluate_a_new_draw_of_a_saved_generator(tmp_path, capsys):
    out = tmp_path / "gen.npz"
    argv = ["condense", "--data", "digits", "--method", "generative", "--ipc", "2"]
    argv += ["--max-iter", "3", "--output", str(out), "--quiet"]
    argv += ["--set", "strategy__width=16", "strategy__warmup_iter=5", "strategy__batch_real=8"]
    assert main(argv) == 0
    assert load_condensed(out).generator is not None
    capsys.readouterr()
    report = tmp_path / "eval.json"
    argv = ["evaluate", str(out), "--test", "digits", "--n-models", "1", "--epochs", "5"]
    assert main([*argv, "--n-per-class", "4", "--quiet", "--json", str(report)]) == 0
    assert "4 sampled per class" in capsys.readouterr().out
    assert json.loads(report.read_text())["n_per_class"] == 4

    dm = tmp_path / "dm.npz"
    argv = ["condense", "--data", "digits", "--method", "dm", "--ipc", "1", "--max-iter", "2"]
    assert main([*argv, "--output", str(dm), "--quiet"]) == 0
    argv = ["evaluate", str(dm), "--test", "digits", "--n-per-class", "4", "--quiet"]
    assert main(argv) == 1
    assert "n_per_class needs a set that can sample" in capsys.readouterr().err


def test_condense_reads_an_npz_of_arrays(tmp_path, digits):
    X_train, _, y_train, _ = digits
    data = tmp_path / "data.npz"
    np.savez(data, X_train=X_train.reshape(-1, 64), y_train=y_train)
    out = tmp_path / "sel.npz"
    argv = ["condense", "--data", str(data), "--method", "herding", "--ipc", "1", "-o", str(out)]
    assert main([*argv, "--budget", "default", "--set", "strategy__features=raw"]) == 0
    assert load_condensed(out).X.shape == (10, 64)


def test_output_without_suffix_names_the_file_written(tmp_path, capsys):
    argv = ["condense", "--data", "digits", "--method", "random", "--ipc", "1", "--quiet"]
    assert main([*argv, "-o", str(tmp_path / "noext")]) == 0
    assert f"wrote {tmp_path / 'noext.npz'}" in capsys.readouterr().out
    assert load_condensed(tmp_path / "noext.npz").ipc == 1


def test_npz_data_takes_the_default_budget_and_rows_can_be_pictured(tmp_path, capsys, digits):
    X_train, _, y_train, _ = digits
    data = tmp_path / "rows.npz"
    np.savez(data, X=X_train.reshape(-1, 64), y=y_train)
    out, grid = tmp_path / "sel.npz", tmp_path / "sel.png"
    argv = ["condense", "--data", str(data), "--method", "random", "--ipc", "1", "--quiet"]
    # --grid on rows without --input-shape is refused before the fit: nothing is written
    assert main([*argv, "-o", str(out), "--grid", str(grid)]) == 1
    assert "--input-shape" in capsys.readouterr().err and not out.exists()
    # the default budget (auto) is the library's defaults for a file
    assert main([*argv, "-o", str(out)]) == 0
    assert load_condensed(out).X.shape == (10, 64)
    assert main(["show", str(out), "-o", str(grid), "--input-shape", "8x8", "--zoom", "1"]) == 0
    assert grid.read_bytes()[:4] == b"\x89PNG"
    # --input-shape at condense time fits an image network and pictures the set
    assert main([*argv, "-o", str(out), "--input-shape", "8,8", "--grid", str(grid)]) == 0
    assert load_condensed(out).metadata["params"]["input_shape"] == [8, 8]


def test_unreadable_data_files_are_one_line_errors(tmp_path, capsys, digits):
    X_train, _, y_train, _ = digits
    good = tmp_path / "good.npz"
    np.savez_compressed(good, X=X_train, y=y_train)
    data = good.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 3 : len(data) // 3 + 60] = bytes(60)
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    np.save(tmp_path / "one.npy", X_train)
    for name in ("trunc.npz", "flip.npz", "one.npy"):
        path = str(tmp_path / name)
        argv = ["condense", "--data", path, "--budget", "default", "-o", str(tmp_path / "o")]
        assert main(argv) == 1, name
        err = capsys.readouterr().err.strip()
        assert "cannot read" in err or "single .npy" in err, err
        assert len(err.splitlines()) == 1


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
        (
            [
                *["condense", "--data", "digits", "--method", "dm", "--ipc", "1", "--quiet"],
                *["--max-iter", "10", "-o", "x.npz"],
                *["--set", "strategy__lr_syn=1e30", "strategy__batch_real=16"],
            ],
            1,
            "lower strategy__lr_syn",
        ),
        (["show", "x.npz", "-o", "x.png", "--input-shape", "8"], 2, "H,W or C,H,W"),
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


def test_benchmark_writes_results_and_resumes(tmp_path, fit_calls):
    calls = fit_calls
    raw = {"strategy__features": "raw"}
    kwargs = {
        "n_models": 1,
        "epochs": 20,
        "overrides": {"*": {"model__width": 16}, "herding": raw, "kcenter": raw},
        "out_dir": tmp_path,
        "verbose": 0,
    }
    rows = run_benchmark(["digits"], ["random", "herding"], [1], **kwargs)
    assert [m for m, _ in calls] == ["random", "herding"] and len(rows) == 2
    saved = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert saved[1]["settings"] == {
        "ipc": 1,
        "random_state": 0,
        "device": "auto",
        "model__width": 16,
        "strategy__features": "raw",
    }
    assert [r["method"] for r in saved] == ["random", "herding"]
    assert "| digits | 1 |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "accuracy_digits.svg").read_text().startswith("<svg")
    # a rerun with one more method runs only the new cell
    rows = run_benchmark(["digits"], ["random", "herding", "kcenter"], [1], **kwargs)
    assert [m for m, _ in calls] == ["random", "herding", "kcenter"] and len(rows) == 3
    assert rows[0]["acc_mean"] == saved[0]["acc_mean"]
    # other evaluator settings are other cells: run anew, never averaged with the old ones
    rows = run_benchmark(["digits"], ["random"], [1], **(kwargs | {"epochs": 3}))
    assert calls[-1][0] == "random" and len(rows) == 1 and rows[0]["eval_epochs"] == 3
    assert "seeds" not in (tmp_path / "results.md").read_text()
    assert len(json.loads((tmp_path / "results.json").read_text())["cells"]) == 4
    # without resume, the grid's cells are rerun and replaced; the others are kept
    run_benchmark(["digits"], ["random"], [1], **kwargs, resume=False)
    assert calls[-1][0] == "random" and len(calls) == 5
    cells = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert len(cells) == 4 and {c["method"] for c in cells} == {"random", "herding", "kcenter"}


def test_budgets_follow_the_measured_settings():
    assert budget_settings("quick", "dm", "digits", 10) == {
        "max_iter": 1000,
        "strategy__batch_real": 256,
        "strategy__lr_syn": 10.0,
        "augment__flip": False,
    }
    # the contrastive loop costs about 9 DC iterations an iteration at ipc 1: equal seconds
    assert budget_settings("quick", "dcc", "mnist", 1) == {
        "max_iter": 30,
        "strategy__batch_real": 64,
    }
    assert budget_settings("quick", "dsa_dcc", "digits", 1)["max_iter"] == 25
    assert budget_settings("quick", "dc", "digits", 1)["max_iter"] == 200
    assert budget_settings("quick", "dsa", "cifar10", 10)["augment__flip"] is True
    assert "strategy__lr_syn" not in budget_settings("quick", "generative", "mnist", 10)
    assert budget_settings("quick", "herding", "mnist", 10) == {"strategy__epochs": 1}
    assert budget_settings("quick", "herding", "cifar10", 10) == {"strategy__epochs": 5}
    assert budget_settings("paper", "dm", "cifar10", 50)["max_iter"] == 20000
    with pytest.raises(ValueError, match="budget"):
        budget_settings("huge", "dm", "digits", 1)


def test_markdown_table_summarises_seeds_and_networks():
    from condensekit.benchmark import markdown_table

    def cell(method, seed, mean, std, ipc=1):
        return {
            "dataset": "digits",
            "ipc": ipc,
            "method": method,
            "seed": seed,
            "acc_mean": mean,
            "acc_std": std,
        }

    rows = [
        cell("dm", 0, 0.80, 0.05),
        cell("dm", 1, 0.90, 0.01),  # two seeds: mean and std over the seeds' means
        cell("random", 0, 0.60, 0.02),  # one seed: std over its networks
        cell("random", 0, 0.70, 0.03, ipc=10),
    ]
    lines = markdown_table(rows).splitlines()
    assert lines[0] == "| dataset | ipc | dm | random |"
    assert lines[2] == "| digits | 1 | 85.00 ± 5.00 (2 seeds) | 60.00 ± 2.00 |"
    assert lines[3] == "| digits | 10 | - | 70.00 ± 3.00 |"
    assert len(lines) == 4


def test_benchmark_fits_a_selection_once_for_every_ipc(tmp_path, fit_calls):
    calls = fit_calls
    kwargs = {
        "n_models": 1,
        "epochs": 20,
        "overrides": {
            "*": {"model__width": 16},
            "herding": {"strategy__features": "raw"},
            "dm": {"max_iter": 2},
        },
        "verbose": 0,
    }
    methods = ["herding", "dm"]
    rows = run_benchmark(["digits"], methods, [1, 3], out_dir=tmp_path / "a", **kwargs)
    assert calls[0] == ("herding", 3) and ("herding", 1) not in calls
    assert ("dm", 1) in calls and ("dm", 3) in calls  # pixel methods fit every ipc
    by_ipc = {r["ipc"]: r for r in rows if r["method"] == "herding"}
    assert by_ipc[1]["ranked_at_ipc"] == 3 and "ranked_at_ipc" not in by_ipc[3]
    assert by_ipc[1]["condensed_size"]["values"] == 10 * 64
    # the same accuracies as a fit at ipc 1
    alone = run_benchmark(["digits"], ["herding"], [1], out_dir=tmp_path / "b", **kwargs)
    assert calls[-1] == ("herding", 1)
    assert alone[0]["accuracies"] == by_ipc[1]["accuracies"]


def test_benchmark_scores_every_cell_under_both_protocols_beside_random(tmp_path, fit_calls):
    from condensekit.benchmark import markdown_table

    calls = fit_calls
    kwargs = {
        "n_models": 1,
        "epochs": 20,
        "protocols": ["default", "paper"],
        "overrides": {"*": {"model__width": 8}, "dc": {"max_iter": 1}},
        "out_dir": tmp_path,
        "verbose": 0,
    }
    rows = run_benchmark(["digits"], ["random", "dc"], [1], **kwargs)
    assert [m for m, _ in calls] == [
        "random",
        "dc",
    ]  # one fit per cell, scored under every protocol
    got = {(r["method"], r["protocol"]): (r["eval_epochs"], r["eval_augment"]) for r in rows}
    assert got == {
        ("random", "default"): (20, None),
        ("random", "dc"): (1000, "dc"),
        ("dc", "default"): (20, None),
        ("dc", "dc"): (1000, "dc"),
    }
    lines = markdown_table(rows).splitlines()
    assert lines[0] == "| dataset | ipc | protocol | random | dc |"
    assert [line.split(" | ")[2] for line in lines[2:]] == ["default", "dc"]
    # resumed: nothing to run; the paper protocol of dsa adds random under "dsa" only
    run_benchmark(["digits"], ["random", "dc"], [1], **kwargs)
    assert [m for m, _ in calls] == ["random", "dc"]
    kwargs["overrides"]["dsa"] = {"max_iter": 1, "augment__flip": False}
    rows = run_benchmark(["digits"], ["random", "dsa"], [1], **kwargs)
    assert [m for m, _ in calls] == ["random", "dc", "random", "dsa"]
    assert {(r["method"], r["protocol"]) for r in rows} == {
        ("random", "default"),
        ("random", "dsa"),
        ("dsa", "default"),
        ("dsa", "dsa"),
    }
    with pytest.raises(ValueError, match="protocols holds 'papers'"):
        run_benchmark(["digits"], ["random"], [1], **(kwargs | {"protocols": ["papers"]}))


def test_benchmark_checks_protocols_first(tmp_path):
    kwargs = {"n_models": 1, "epochs": 5, "out_dir": tmp_path, "verbose": 0}
    for bad in ([], "paper", ["papers"]):
        with pytest.raises(ValueError, match="protocols"):
            run_benchmark(["digits"], ["random"], [1], protocols=bad, **kwargs)
    assert not (tmp_path / "results.json").exists()
