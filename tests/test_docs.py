"""Every Python block of the README and the guides runs as pasted, in document order in one
session per document (as a reader pastes them into a notebook), with the budgets shrunk.

The blocks state their real budgets and runtimes; here every number of iterations, networks
and epochs is replaced by a tiny one (``BUDGETS`` below), so the test checks that the code runs
and every name is defined, not the accuracy it reaches. A block that needs data this machine
does not have (``../shared/data``) is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "docs/user_guide.md", "docs/writing_a_method.md"]

#: (pattern, replacement) applied to every block: the budgets, never the API.
BUDGETS = [
    (r"\bmax_iter=\d[\d_]*", "max_iter=2"),
    (r"\bn_models=\d+", "n_models=1"),
    (r"\bepochs=\d+", "epochs=2"),
    (r"\bwarmup_iter=\d+", "warmup_iter=1"),
    (r"\borders=\d+", "orders=1"),
    (r'"max_iter": \d+', '"max_iter": 2'),
    (r'"strategy__epochs": \d+', '"strategy__epochs": 1'),
    (r"\bstrategy__epochs=\d+", "strategy__epochs=1"),
    (r"\bstrategy__n_networks=\d+", "strategy__n_networks=1"),
    (r"\bwindow=\d+", "window=1"),  # EarlyStopping's windows within the shrunk run
]
#: A block whose first lines say this needs what CI lacks (a GPU, a dask scheduler) or
#: trains 1,000 epochs per network; the text says so too.
NOT_RUN = "not run by the tests"


def blocks(document: str) -> list[tuple[int, str]]:
    """``(first line, code)`` of every ```python block of ``document``."""
    text = (ROOT / document).read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        line = text[: match.start()].count("\n") + 2
        found.append((line, match.group(1)))
    return found


def shrink(code: str) -> str:
    for pattern, replacement in BUDGETS:
        code = re.sub(pattern, replacement, code)
    return code


#: Runs the blocks of one document in order, in one namespace, in a fresh interpreter (so a
#: block that registers a method or changes a setting touches no other test).
RUNNER = """
import json, sys
document, blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for line, code in blocks:
    try:
        exec(compile(code, f"{document}:{line}", "exec"), namespace)
    except Exception as exc:
        print(f"{document}, block at line {line}: {exc!r}", file=sys.stderr)
        raise
"""


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_block_runs_as_pasted(document, tmp_path):
    runnable = [
        (line, shrink(code))
        for line, code in blocks(document)
        if NOT_RUN not in code.split("\n", 2)[0]
    ]
    (tmp_path / "blocks.json").write_text(json.dumps([document, runnable]), encoding="utf-8")
    (tmp_path / "run_blocks.py").write_text(RUNNER, encoding="utf-8")
    default = str((ROOT / ".." / "shared" / "data").resolve())
    env = {**os.environ, "CONDENSEKIT_DATA": os.environ.get("CONDENSEKIT_DATA", default)}
    done = subprocess.run(
        [sys.executable, "run_blocks.py", "blocks.json"],
        cwd=tmp_path,  # the files the blocks write land here
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
