"""The one cell runner (condensekit.benchmark.cells) and the scripts on top of it: options,
resuming, which finished cells match, and the results file."""

import importlib
import json
from pathlib import Path

import pytest

from condensekit.benchmark import cells

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = [
    "bench_contrastive",
    "bench_dcc",
    "bench_ddm",
    "bench_dm",
    "bench_generative",
    "bench_gradient",
    "bench_selection",
]


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("_common")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_shares_the_run_options(common, script, capsys):
    module = importlib.import_module(script)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    options = ("--seeds", "--n-models", "--device", "--data-root", "--out", "--resume")
    for option in (*options, "--protocols"):
        assert option in text, (script, option)


def _fake_run(calls):
    def run(spec):
        calls.append(spec)
        return {
            **{k: spec[k] for k in ("dataset", "method", "ipc", "seed")},
            "label": spec.get("label", spec["method"]),
            "settings": {
                "ipc": spec["ipc"],
                "random_state": spec["seed"],
                "device": spec["device"],
                **spec["settings"],
            },
            "accuracies": [0.5] * spec["n_models"],
            "acc_mean": 0.5,
            "acc_std": 0.0,
            "eval_epochs": 300,
            "fit_time_s": 1.0,
            "eval_time_s": 1.0,
            "peak_rss_mib": 1.0,
            "device": "cpu",
            **(
                {"draws": {str(n): {"acc_mean": 0.5, "acc_std": 0.0} for n in spec["draws"]}}
                if spec.get("draws")
                else {}
            ),
            **(
                {
                    "protocols": {
                        p: {"acc_mean": 0.6, "acc_std": 0.0, "resolved": p}
                        for p in spec["protocols"]
                    }
                }
                if spec.get("protocols")
                else {}
            ),
        }

    return run


def test_resume_skips_finished_cells_and_runs_changed_ones(common, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    out = tmp_path / "cells.json"

    def spec(seed, draws=(), **settings):
        return {
            "dataset": "digits",
            "method": "generative",
            "label": "generative",
            "ipc": 10,
            "settings": {"max_iter": 5, **settings},
            "budget": "quick",
            "seed": seed,
            "n_models": 3,
            "device": "cpu",
            "data_root": None,
            "draws": list(draws),
        }

    rows = common.run_cells([spec(0), spec(1)], out, resume=False)
    assert len(rows) == 2 and len(calls) == 2
    # the same cells again: nothing runs, both are kept
    again = common.run_cells([spec(0), spec(1)], out, resume=True)
    assert again == rows and len(calls) == 2
    # another setting, other draw sizes or another evaluator are other cells
    new = common.run_cells(
        [spec(0, max_iter=6), spec(0, draws=[50]), {**spec(1), "n_models": 5}], out, resume=True
    )
    assert len(calls) == 5 and len(new) == 3
    assert cells.previous_cells(out) == rows + new
    # without --resume a repeated cell is rerun and replaces its row; the others are kept
    (rerun,) = common.run_cells([spec(1)], out, resume=False)
    assert len(calls) == 6
    assert cells.previous_cells(out) == [rows[0], *new, rerun]


def test_set_options_are_json(common):
    assert common.parse_set(["strategy__lr_syn=3e-3", "augment__flip=false"]) == {
        "strategy__lr_syn": 3e-3,
        "augment__flip": False,
    }
    with pytest.raises(SystemExit, match="key=value"):
        common.parse_set(["strategy__lr_syn"])


def test_generative_bank_variant_trains_codes_for_the_largest_draw(common, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    module = importlib.import_module("bench_generative")
    module.main(
        [
            "--datasets", "digits", "--seeds", "0", "--ipc", "10", "--draws", "20", "50",
            "--variants", "generative", "bank", "--draw-variants", "bank",
            "--out", str(tmp_path / "g.json"),
        ]
    )  # fmt: skip
    by_label = {spec["label"]: spec for spec in calls}
    bank, plain = by_label["bank"]["settings"], by_label["generative"]["settings"]
    assert bank["strategy__n_codes"] == 50 and bank["strategy__fresh_per_class"] == 40
    assert "strategy__n_codes" not in plain and "strategy__fresh_per_class" not in plain
    assert by_label["bank"]["draws"] == [20, 50] and by_label["generative"]["draws"] == []
    # nothing larger than ipc to draw: the bank is the defaults
    assert module.bank_settings(10, []) == {} and module.bank_settings(10, [5]) == {}


def test_a_note_survives_resumed_rewrites_but_not_a_fresh_run(common, tmp_path):
    out = tmp_path / "cells.json"
    first, second = {"seed": 0, "acc_mean": 0.5}, {"seed": 1, "acc_mean": 0.6}
    cells.write_report(out, [first], note="ran beside another benchmark")
    cells.write_report(out, [first, second])  # a resumed run: the old cells are all kept
    assert json.loads(out.read_text())["note"] == "ran beside another benchmark"
    assert json.loads(out.read_text())["cells"] == [first, second]
    cells.write_report(out, [second])  # a fresh run without the cells the note was about
    assert "note" not in json.loads(out.read_text())


def test_a_resumed_run_keeps_the_sections_it_did_not_measure(common, tmp_path):
    out = tmp_path / "cells.json"
    first, second = {"seed": 0, "acc_mean": 0.5}, {"seed": 1, "acc_mean": 0.6}
    cells.write_report(out, [first], dm_iteration_cost={"ratio": 1.04})
    cells.write_report(out, [first, second], dm_iteration_cost=None)  # --no-speed --resume
    assert json.loads(out.read_text())["dm_iteration_cost"] == {"ratio": 1.04}
    cells.write_report(out, [first, second], dm_iteration_cost={"ratio": 1.1})  # measured anew
    assert json.loads(out.read_text())["dm_iteration_cost"] == {"ratio": 1.1}
    cells.write_report(out, [second])
    assert "dm_iteration_cost" not in json.loads(out.read_text())


def test_selections_rank_once_at_the_largest_ipc(common, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    module = importlib.import_module("bench_selection")
    out = tmp_path / "s.json"
    base = ["--datasets", "digits", "--ipc", "10", "1", "50", "--methods", "herding", "dm"]
    module.main([*base, "random", "--out", str(out)])
    assert [(s["method"], s["ipc"], s.get("draws")) for s in calls] == [
        ("herding", 50, [1, 10]),
        ("dm", 1, None),
        ("dm", 10, None),
        ("dm", 50, None),
        ("random", 1, None),  # trains nothing: fit at every ipc
        ("random", 10, None),
        ("random", 50, None),
    ]
    rows = cells.ranked_rows(json.loads(out.read_text())["cells"])
    herding = {r["ipc"]: r for r in rows if r["method"] == "herding"}
    assert sorted(herding) == [1, 10, 50]
    assert herding[1]["ranked_at_ipc"] == 50 and "ranked_at_ipc" not in herding[50]
    assert herding[1]["fit_time_s"] == herding[50]["fit_time_s"]
    assert "| digits | 1 | 50.00 ± 0.00 |" in capsys.readouterr().out
    # a generator's draws are not smaller budgets: they stay inside their cell
    generative = {**herding[50], "method": "generative", "draws": {"20": {"acc_mean": 0.1}}}
    assert cells.ranked_rows([generative]) == [generative]

    calls.clear()
    module.main([*base, "--out", str(tmp_path / "each.json"), "--fit-each-ipc"])
    assert [(s["method"], s["ipc"]) for s in calls if s["method"] == "herding"] == [
        ("herding", 1),
        ("herding", 10),
        ("herding", 50),
    ]
    assert not any(s.get("draws") for s in calls)


def test_summary_counts_the_smaller_budgets_of_a_ranking(common, tmp_path, monkeypatch):
    summarize = importlib.import_module("summarize")
    draw = {"acc_mean": 0.8, "acc_std": 0.01, "accuracies": [0.8] * 5, "eval_time_s": 1.0}
    cell = {
        **_fake_run([])(
            {"dataset": "digits", "method": "herding", "ipc": 50, "seed": 0, "device": "auto",
             "settings": {}, "n_models": 5, "draws": [1, 10]}
        ),
        "draws": {"1": draw, "10": draw},
    }  # fmt: skip
    (tmp_path / "r.json").write_text(json.dumps({"cells": [cell]}))
    found = summarize.quick_cells(tmp_path)
    assert sorted(c["ipc"] for c in found) == [1, 10, 50]
    assert {c["acc_mean"] for c in found if c["ipc"] < 50} == {0.8}
    # a cell whose method has changed since it ran stays in its file but leaves the table
    cell["superseded"] = "the method changed"
    (tmp_path / "r.json").write_text(json.dumps({"cells": [cell]}))
    assert summarize.quick_cells(tmp_path) == []


def test_summary_takes_a_cell_that_named_the_default_setting(common, tmp_path):
    summarize = importlib.import_module("summarize")

    def cell(order):
        spec = {"dataset": "digits", "method": "el2n", "ipc": 10, "seed": 0, "device": "auto"}
        spec |= {"settings": {"strategy__order": order}, "n_models": 5}
        return _fake_run([])(spec)

    from condensekit.selection import EL2N

    default = EL2N().order
    cells = [cell(default), cell("hard" if default != "hard" else "easy")]
    (tmp_path / "r.json").write_text(json.dumps({"cells": cells}))
    (found,) = summarize.quick_cells(tmp_path)  # the default order; the other is a variant
    assert found["settings"]["strategy__order"] == default
    # a budget that itself names a default value (dm's batch_real=256 on digits) still matches
    dm = {"dataset": "digits", "method": "dm", "ipc": 10, "seed": 0, "device": "auto"}
    dm |= {"settings": summarize.budget_settings("quick", "dm", "digits", 10), "n_models": 5}
    assert "strategy__batch_real" in dm["settings"]
    (tmp_path / "r.json").write_text(json.dumps({"cells": [_fake_run([])(dm)]}))
    assert [c["method"] for c in summarize.quick_cells(tmp_path)] == ["dm"]


def test_selection_settings_from_the_command_line_label_their_cells(common, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    module = importlib.import_module("bench_selection")
    argv = ["--datasets", "cifar10", "--ipc", "10", "--methods", "el2n"]
    settings = ['strategy__order="hard"', "strategy__offset=0.5"]
    module.main([*argv, "--set", *settings, "--out", str(tmp_path / "o.json")])
    ((spec,),) = [calls]
    assert spec["label"] == "el2n_orderhard_offset0.5"
    assert spec["settings"] == {
        "strategy__n_networks": 2,
        "strategy__epochs": 10,
        "strategy__order": "hard",
        "strategy__offset": 0.5,
    }


def test_dcc_curves_put_random_under_every_protocol_and_paper_at_the_largest_budget(
    common, tmp_path, monkeypatch, capsys
):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    module = importlib.import_module("bench_dcc")
    out = tmp_path / "curves.json"
    iters = json.dumps({"dc": [2, 4], "dsa_dcc": [3]})
    argv = ["--ipc", "1", "--methods", "dc", "dsa_dcc", "--seeds", "0", "1", "--iters", iters]
    module.main([*argv, "--n-models", "1", "--out", str(out)])
    random = [c for c in calls if c["method"] == "random"]
    assert len(random) == 2 and all(c["protocols"] == ["dc", "dsa"] for c in random)
    points = [(c["label"], c["seed"], c.get("protocols")) for c in calls if c["method"] != "random"]
    assert points == [
        ("dc@2", 0, None),
        ("dc@4", 0, ["paper"]),
        ("dsa_dcc@3", 0, ["paper"]),
        ("dc@2", 1, None),
        ("dc@4", 1, ["paper"]),
        ("dsa_dcc@3", 1, ["paper"]),
    ]
    dsa_dcc = next(c for c in calls if c["method"] == "dsa_dcc")
    assert dsa_dcc["settings"] == {
        "max_iter": 3,
        "strategy__batch_real": 64,
        "augment__flip": False,
    }
    summary = json.loads(out.read_text())["summary"]["points"]
    assert {(p["method"], p["iterations"]) for p in summary} == {
        ("random", 0),
        ("dc", 2),
        ("dc", 4),
        ("dsa_dcc", 3),
    }
    assert all(p["default"]["n"] == 2 for p in summary)
    written = json.loads(out.read_text())["cells"]
    twice = module.summarise([*written, written[-1]])["points"]  # a cell written twice counts once
    assert all(p["default"]["n"] == 2 for p in twice)
    capsys.readouterr()
    module.main(["--report", str(out), "--figures", str(tmp_path / "fig")])
    text = capsys.readouterr().out
    assert "| 1 | dc | 4 |" in text and "60.00 ± 0.00 (paper)" in text
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == [
        f"dcc_curves_digits_ipc1_{protocol}_{axis}.svg"
        for protocol in ("default", "paper")
        for axis in ("iterations", "seconds")
    ]


def test_fine_grained_benchmark_keeps_the_four_quadrupeds(common, data_root):
    import numpy as np

    X_train, y_train, X_test, y_test = common.load("cifar10_quadrupeds", str(data_root))
    assert X_train.shape[1:] == (32, 32, 3) and X_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [493, 537, 475, 516]  # cat, deer, dog, horse
    assert np.bincount(y_test).tolist() == [104, 92, 87, 102] and len(X_test) == len(y_test)
    from condensekit.data import load_cifar10_subset

    full_X, full_y, _, _, names = load_cifar10_subset(data_root)
    cats = full_X[full_y == names.index("cat")]
    assert np.array_equal(X_train[y_train == 0], cats)


def test_a_cell_scored_under_more_protocols_is_reused_and_a_rerun_replaces_it(
    common, tmp_path, monkeypatch
):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    out = tmp_path / "cells.json"
    spec = {
        "dataset": "digits",
        "method": "dc",
        "ipc": 1,
        "settings": {"max_iter": 5},
        "seed": 0,
        "n_models": 1,
        "device": "cpu",
    }
    common.run_cells([{**spec, "protocols": ["paper", "dsa"]}], out, resume=False)
    # fewer protocols: the finished cell has them all
    common.run_cells([{**spec, "protocols": ["paper"]}, spec], out, resume=True)
    assert len(calls) == 1
    # one more protocol: refit, and the new row replaces the old one (no double counting)
    rows = common.run_cells([{**spec, "protocols": ["dc"]}], out, resume=True)
    assert len(calls) == 2 and len(rows) == 1 and sorted(rows[0]["protocols"]) == ["dc"]
    # a script without a method list still puts a selection under every paper protocol
    assert common.cell_protocols(["paper"], "random", []) == ["dc", "dsa"]
    assert common.cell_protocols(["paper"], "dm", []) == ["dsa"]


def test_run_cell_scores_extra_protocols_and_reuses_the_default_training(common):
    spec = {
        "dataset": "digits",
        "method": "random",
        "ipc": 1,
        "settings": {"model__width": 8},
        "seed": 0,
        "n_models": 1,
        "device": "cpu",
        "protocols": ["plain", "dc"],
    }
    row = cells.run_cell(spec)
    plain, dc = row["protocols"]["plain"], row["protocols"]["dc"]
    assert plain["accuracies"] == row["accuracies"] and plain["eval_time_s"] == 0.0
    assert (dc["resolved"], dc["augment"], dc["eval_epochs"]) == ("dc", "dc", 1000)
    assert dc["eval_time_s"] > 0


def test_dcc_curves_label_changed_settings_and_keep_them_apart(common, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "run_cell_in_subprocess", _fake_run(calls))
    module = importlib.import_module("bench_dcc")
    out = tmp_path / "curves.json"
    argv = ["--ipc", "10", "--methods", "dcc", "--seeds", "0", "--iters", '{"dcc": [3]}']
    module.main([*argv, "--n-models", "1", "--out", str(out), "--no-random"])
    module.main([*argv, "--n-models", "1", "--out", str(out), "--no-random", "--resume"])
    module.main([*argv, "--out", str(out), "--n-models", "1", "--no-random", "--resume", "--set",
                 "strategy__outer_warmup=2"])  # fmt: skip
    assert [c["label"] for c in calls] == ["dcc@3", "dcc@3 strategy__outer_warmup=2"]
    assert calls[1]["settings"]["strategy__outer_warmup"] == 2
    points = json.loads(out.read_text())["summary"]["points"]
    assert [p["method"] for p in points] == ["dcc", "dcc (strategy__outer_warmup=2)"]


def test_a_selections_smaller_budget_is_scored_under_every_protocol_asked(common, monkeypatch):
    from condensekit.evaluation import evaluator, protocols

    real = protocols.resolve_protocol

    def short(name, method, channels):  # the paper protocol's augmentation, 3 epochs
        if name == "paper":
            return protocols.Protocol("dc", "dc", 3)
        return real(name, method, channels)

    monkeypatch.setattr(protocols, "resolve_protocol", short)
    monkeypatch.setattr(evaluator, "resolve_protocol", short)
    spec = {"dataset": "digits", "method": "random", "ipc": 2, "seed": 0, "device": "cpu"}
    spec |= {"settings": {}, "n_models": 1, "draws": [1], "protocols": ["paper"]}
    row = cells.run_cell(spec)
    drawn = row["draws"]["1"]["protocols"]["paper"]
    assert (drawn["resolved"], drawn["eval_epochs"], len(drawn["accuracies"])) == ("dc", 3, 1)
    assert cells.same_cell(row, spec)
    # a row whose smaller budget was scored by the default evaluator only is run again
    del row["draws"]["1"]["protocols"]
    assert not cells.same_cell(row, spec)
    ranked = [r for r in cells.ranked_rows([row]) if r["ipc"] == 1]
    assert len(ranked) == 1 and ranked[0]["ranked_at_ipc"] == 2


def test_selection_report_tables_labels_by_protocol_and_ipc(common, capsys):
    module = importlib.import_module("bench_selection")
    rows = []
    for seed, (small, big) in enumerate([(0.5, 0.9), (0.7, 0.9), (0.6, 0.9)]):
        row = _fake_run([])(
            {"dataset": "digits", "method": "el2n", "ipc": 10, "seed": seed, "device": "cpu",
             "settings": {}, "n_models": 5, "label": "el2n_orderspread"}
        )  # fmt: skip
        row |= {"acc_mean": big, "draws": {"1": {"acc_mean": small, "accuracies": [small] * 5}}}
        row["protocols"] = {"paper": {"acc_mean": big + 0.05}}
        rows.append(row)
    rows.append({**rows[0], "label": "old", "superseded": "changed"})
    text = module.label_table(rows)
    assert "| ipc 1 default | ipc 10 default | ipc 10 paper |" in text
    assert "| digits | el2n_orderspread | 60.00 ± 8.16 | 90.00 ± 0.00 | 95.00 ± 0.00 |" in text
    assert "old" not in text
