"""Every example script runs (in its fast mode)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("CONDENSEKIT_FAST", "1")
    monkeypatch.chdir(tmp_path)  # examples write their pictures and files here
    runpy.run_path(str(path), run_name="__main__")  # raises if the example breaks
    if path.name == "condense_and_look.py":  # it promises these files
        assert (tmp_path / "digits_dm.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "digits_dm_loss.svg").read_text().startswith("<svg")
        assert (tmp_path / "digits_dm.npz").stat().st_size > 0


def test_there_are_examples():
    names = {p.name for p in EXAMPLES}
    assert {
        "condense_and_look.py",
        "compare_methods.py",
        "grid_search.py",
        "imblearn_pipeline.py",
    } <= names
