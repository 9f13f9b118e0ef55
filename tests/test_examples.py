"""Every example script runs (in its fast mode)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    monkeypatch.setenv("CONDENSEKIT_FAST", "1")
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")  # raises if the example breaks


def test_there_are_examples():
    assert EXAMPLES
