"""One fit across processes (torch.distributed, gloo on the CPU): every rank ends with the same
set, and it is the set of a one-process fit up to the order of float sums."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from condensekit import DatasetCondenser, load_condensed
from condensekit._validation import InvalidParameterError
from condensekit.callbacks import Callback
from condensekit.data import load_digits_split
from condensekit.distributed import Ranks, check_same, current_ranks

SETTINGS = {
    "ipc": 2,
    "max_iter": 4,
    "random_state": 3,
    "verbose": 0,
    "model__width": 16,
    "strategy__batch_real": 16,
    "augment__flip": False,
}
#: Largest difference allowed between a 2-process and a 1-process set, in units of the data's
#: range: the ranks' sums are added in another order than one matrix product adds them, which
#: moves the set by float rounding only (measured after 4 iterations: 2.4e-7 of the range for
#: dm, 1.8e-7 for generative, 3.3e-6, 1.5e-6 and 5.8e-6 for ddm's moments, gram and
#: sample-moments styles, 1.2e-7 for dc and dsa, 2.4e-7 for dcc over 2 iterations).
TOLERANCE = 1e-4


def _digits():
    X, _, y, _ = load_digits_split()
    return X, y


class CrashAt(Callback):
    """A rank that fails mid-fit (as an out-of-memory error or a bad node would)."""

    def on_iteration_end(self, state):
        if state.iteration == 1:
            raise MemoryError("rank 1 ran out of memory")


def _worker(rank: int, world: int, folder: str, method: str, extra: dict) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{folder}/rendezvous",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=120),  # no collective waits longer for a rank that is gone
    )
    X, y = _digits()
    if extra.pop("other_data", False) and rank == 1:
        X = X[::-1].copy()  # another rank with other data: refused, not averaged
    if extra.pop("crash", False) and rank == 1:
        extra["callbacks"] = [CrashAt()]  # its error propagates: the launcher stops the other
    settings = {k: v for k, v in {**SETTINGS, **extra}.items() if v is not None}
    cond = DatasetCondenser(method, **settings)
    try:
        cond.fit(X, y)
        np.save(Path(folder, f"set{rank}.npy"), cond.transform()[0])
    except (RuntimeError, InvalidParameterError) as exc:
        Path(folder, f"error{rank}.txt").write_text(str(exc))
    dist.barrier()  # both ranks are done with the group
    dist.destroy_process_group()
    # leave without C++ static destructors: gloo's threads can abort a process at interpreter
    # exit ("terminate called without an active exception")
    os._exit(0)


def _spawn(tmp_path: Path, method: str, **extra) -> list[Path]:
    mp.spawn(_worker, args=(2, str(tmp_path), method, extra), nprocs=2, join=True)
    return sorted(tmp_path.glob("set*.npy")) or sorted(tmp_path.glob("error*.txt"))


EXTRA = {
    "generative": {"strategy__warmup_iter": 2, "strategy__width": 16},
    "ddm": {"strategy__style": "moments"},
    "ddm_gram": {"strategy__style": "gram"},
    "ddm_samples": {"strategy__style": "sample_moments"},
    # DCC's contrastive loss amplifies float rounding: in one process, computing the class
    # gradients as a loop or with vmap moves the set by 4% of the range after 4 iterations
    # (1e-7 for dc), as much as two ranks do. Over 2 iterations (both contrastive: the
    # warm-up rounds to 0) rounding stays at 2.4e-7 of the range.
    "dcc": {"max_iter": 2},
    "herding": {"strategy__batch_real": None},
}


@pytest.mark.parametrize(
    "case", ["dm", "generative", "ddm", "ddm_gram", "ddm_samples", "dc", "dsa", "dcc"]
)
def test_two_processes_give_every_rank_the_one_process_set(tmp_path, case):
    method, extra = case.split("_")[0], EXTRA.get(case, {})
    files = _spawn(tmp_path, method, **extra)
    assert [f.name for f in files] == ["set0.npy", "set1.npy"]
    sets = [np.load(f) for f in files]
    np.testing.assert_array_equal(sets[0], sets[1])  # bit-identical on every rank
    X, y = _digits()
    settings = {k: v for k, v in {**SETTINGS, **extra}.items() if v is not None}
    alone = DatasetCondenser(method, **settings).fit(X, y).transform()[0]
    scale = float(X.max() - X.min())
    assert np.abs(sets[0] - alone).max() <= TOLERANCE * scale


def test_a_distributed_fit_refuses_other_data_and_methods_it_cannot_split(tmp_path):
    for name in ("data", "herding", "batchnorm"):
        (tmp_path / name).mkdir()
    errors = _spawn(tmp_path / "data", "dm", other_data=True)
    assert len(errors) == 2 and "differs between the ranks" in errors[0].read_text()
    errors = _spawn(tmp_path / "herding", "herding", **EXTRA["herding"])
    assert len(errors) == 2 and "cannot yet run one fit across processes" in errors[0].read_text()
    errors = _spawn(tmp_path / "batchnorm", "dm", model__norm="batch")
    assert len(errors) == 2 and "batch normalisation" in errors[0].read_text()


def test_a_rank_failing_mid_fit_stops_the_fit_without_a_hang(tmp_path):
    start = time.perf_counter()
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 ran out of memory"):
        _spawn(tmp_path, "dm", crash=True)
    assert time.perf_counter() - start < 60  # the launcher stops the other rank at once


def test_one_process_is_rank_0_of_1():
    ranks = current_ranks()
    assert ranks == Ranks(0, 1) and ranks.main and not ranks.active
    assert ranks.share(5, "cpu") is None
    t = torch.ones(3)
    assert ranks.sum(t) is t and ranks.broadcast_int(7) == 7
    check_same(ranks, [t], "anything")  # nothing to compare with


def test_the_cli_runs_under_torchrun_and_rank_0_writes(tmp_path):
    condense = [
        "-m", "condensekit", "condense", "--data", "digits", "--method", "dm", "--ipc", "1",
        "--max-iter", "3", "--quiet", "--set", "model__width=16", "strategy__batch_real=16",
    ]  # fmt: skip
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out, alone = tmp_path / "dm.npz", tmp_path / "alone.npz"
    proc = subprocess.run(
        [*torchrun, *condense, "-o", str(out)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("condensed") == 1  # one report, from rank 0
    subprocess.run([sys.executable, *condense, "-o", str(alone)], check=True, env=env, timeout=300)
    together, single = load_condensed(out), load_condensed(alone)
    scale = float(np.ptp(single.X))
    assert np.abs(together.X - single.X).max() <= TOLERANCE * scale
