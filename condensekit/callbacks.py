"""Callbacks: the extension point of the outer loop (skorch's model).

The outer loop (:func:`condensekit.loop.run_outer_loop`) calls every callback of the fit at
three moments, with one :class:`LoopState` that holds everything the loop has:

* ``on_fit_begin(state)``: the synthetic set, its optimiser and the network exist; a
  callback may restore them (:class:`Checkpoint` resumes an interrupted fit here);
* ``on_iteration_end(state)``: after every outer iteration; ``state.record`` is this
  iteration's row of :class:`History` (a callback may add entries: plain Python numbers or
  strings, so that checkpoints stay loadable without unpickling), ``state.stop = True`` ends
  the fit after this iteration;
* ``on_fit_end(state)``: after the last iteration.

Pass them as ``DatasetCondenser(callbacks=[...])``. :class:`ProgressBar` and
:class:`DivergenceCheck` are added by the condenser itself (the bar only when ``verbose``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

logger = logging.getLogger("condensekit")


class History(list):
    """Per-iteration records of a fit: a list of dicts, one per outer iteration.

    Every record has ``"iteration"`` (1-based), ``"loss"`` (the mean matching loss of its
    steps) and ``"seconds"`` (wall-clock time of the iteration; on a GPU, the time to queue its
    work unless something synchronised); callbacks add their own keys.

    ``history[:, "loss"]`` (skorch's notation) or ``history["loss"]`` gives one column as a
    NumPy array (NaN where a record lacks the key).

    Examples
    --------
    >>> h = History([{"iteration": 1, "loss": 2.0}, {"iteration": 2, "loss": 1.5}])
    >>> h["loss"]
    array([2. , 1.5])
    >>> h[:, "iteration"].tolist(), len(h)
    ([1, 2], 2)
    """

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str):
            rows = super().__getitem__(key[0])
            return History(rows if isinstance(rows, list) else [rows]).column(key[1])
        return super().__getitem__(key)

    def column(self, key: str) -> np.ndarray:
        """One entry of every record, as an array."""
        if not any(key in r for r in self):
            raise KeyError(f"no record of the history has {key!r}; keys: {self.keys()}")
        return np.array([r.get(key, np.nan) for r in self])

    def keys(self) -> list[str]:
        """Keys found in the records, in order of first appearance."""
        return list(dict.fromkeys(k for r in self for k in r))


@dataclass
class LoopState:
    """What the outer loop hands its callbacks (see the module documentation)."""

    strategy: Any
    ctx: Any
    syn: Any
    optimizer: torch.optim.Optimizer
    net: torch.nn.Module
    #: Loss of every outer iteration so far, on the device (filled up to ``iteration``).
    losses: torch.Tensor
    #: The iteration the loop starts from (a resumed fit starts after its checkpoint).
    start_iteration: int = 0
    #: Index (0-based) of the iteration that has just ended.
    iteration: int = -1
    #: This iteration's record; callbacks may add entries.
    record: dict[str, Any] = field(default_factory=dict)
    history: History = field(default_factory=History)
    #: Set to True by a callback to end the fit after the current iteration.
    stop: bool = False


def _check_count(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be an int >= 1; got {value!r}.")


class Callback:
    """Base of callbacks: override any of the three hooks."""

    def restores(self, ctx: Any) -> bool:
        """Whether :meth:`on_fit_begin` will replace the synthetic set with a saved one; the
        method then skips work whose result would be overwritten (the generative warm-up)."""
        return False

    def on_fit_begin(self, state: LoopState) -> None:
        """Called once before the first iteration."""

    def on_iteration_end(self, state: LoopState) -> None:
        """Called after every outer iteration."""

    def on_fit_end(self, state: LoopState) -> None:
        """Called once after the last iteration."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


#: How often (in outer iterations) the bar and the divergence check read the loss: reading it
#: synchronises a GPU, so not every iteration.
REPORT_EVERY = 10


def _reported(state: LoopState) -> bool:
    it = state.iteration + 1
    return it % REPORT_EVERY == 0 or it == state.ctx.max_iter or state.stop


class ProgressBar(Callback):
    """A tqdm bar over the outer iterations, with the loss every ``REPORT_EVERY`` iterations."""

    def on_fit_begin(self, state: LoopState) -> None:
        ctx = state.ctx
        self._bar = tqdm(
            total=ctx.max_iter, initial=state.start_iteration, desc=ctx.description, leave=False
        )

    def on_iteration_end(self, state: LoopState) -> None:
        self._bar.update(1)
        if _reported(state):
            self._bar.set_postfix(loss=f"{float(state.losses[state.iteration]):.4g}")

    def on_fit_end(self, state: LoopState) -> None:
        self._bar.close()
        del self._bar


#: Largest magnitude a synthetic parameter may reach, in standard deviations of the real data
#: (pixels of a normalised set), before the fit is stopped as run away: real data lies within a
#: few, and a set that diverges under a too-large ``lr_syn`` reaches 1e13 while instance
#: normalisation keeps its loss finite.
RUNAWAY = 1e4


class DivergenceCheck(Callback):
    """Stop with :class:`FloatingPointError` when the loss stops being finite or the synthetic
    parameters run away (any beyond :data:`RUNAWAY` in magnitude)."""

    def on_iteration_end(self, state: LoopState) -> None:
        if not _reported(state):
            return
        value = float(state.losses[state.iteration])
        logger.debug("iteration %d: loss %.6g", state.iteration + 1, value)
        lr = getattr(state.strategy, "lr_syn", None)
        if not math.isfinite(value):
            raise FloatingPointError(
                f"The matching loss became {value} at iteration {state.iteration + 1}; lower "
                f"strategy__lr_syn (now {lr})."
            )
        largest = max(float(p.detach().abs().max()) for p in state.syn.parameters())
        if not largest <= RUNAWAY:
            raise FloatingPointError(
                f"The synthetic set ran away: a value reached {largest:.3g} (in standard "
                f"deviations of the real data; real data lies within a few) at iteration "
                f"{state.iteration + 1}; lower strategy__lr_syn (now {lr})."
            )


class EarlyStopping(Callback):
    """End the fit when the loss has stopped falling.

    The matching loss is measured on a fresh network every iteration, so single values are
    noisy: the rule compares means over windows of ``window`` iterations. The fit ends when
    ``patience`` windows in a row did not bring the best window mean down by more than
    ``threshold`` (relative).

    Parameters
    ----------
    patience : int, default=5
        Windows without improvement before stopping.
    window : int, default=50
        Iterations per window.
    threshold : float, default=1e-3
        Relative improvement that counts.
    """

    def __init__(self, patience: int = 5, window: int = 50, threshold: float = 1e-3) -> None:
        _check_count("EarlyStopping", "patience", patience)
        _check_count("EarlyStopping", "window", window)
        if isinstance(threshold, bool) or not isinstance(threshold, Real) or threshold < 0:
            raise ValueError(f"EarlyStopping: threshold must be a float >= 0; got {threshold!r}.")
        self.patience = patience
        self.window = window
        self.threshold = threshold

    def on_fit_begin(self, state: LoopState) -> None:
        self._best, self._bad = math.inf, 0

    def on_iteration_end(self, state: LoopState) -> None:
        it = state.iteration + 1
        if it % self.window:
            return
        mean = float(state.losses[it - self.window : it].mean())
        if math.isinf(self._best) or mean < self._best - self.threshold * abs(self._best):
            self._best, self._bad = mean, 0
        else:
            self._bad += 1
        state.record["window_loss"] = mean
        if self._bad >= self.patience:
            logger.info("early stopping at iteration %d (window mean %.6g)", it, mean)
            state.stop = True


class Checkpoint(Callback):
    """Save the fit's state every ``every`` iterations; resume from it when the file exists.

    The file holds the synthetic parameters, the optimiser state, the fit's random generator
    state, the losses so far and a fingerprint of the fit (method, settings, seed, data). A fit
    started with a checkpoint file of the same fit resumes after its last saved iteration and
    gives the same set as a fit never interrupted; a file of another fit is refused. Read with
    ``torch.load(weights_only=True)``: nothing is unpickled.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file (written atomically).
    every : int, default=100
        Iterations between saves (the last iteration is always saved).
    resume : bool, default=True
        Resume from ``path`` when it exists; ``False`` overwrites it.
    """

    def __init__(self, path: str | os.PathLike, every: int = 100, resume: bool = True) -> None:
        _check_count("Checkpoint", "every", every)
        self.path = path
        self.every = every
        self.resume = resume

    def restores(self, ctx: Any) -> bool:
        return self.resume and Path(self.path).exists()

    def on_fit_begin(self, state: LoopState) -> None:
        path = Path(self.path)
        if not self.restores(state.ctx):
            return
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") != state.ctx.fingerprint:
            raise ValueError(
                f"Checkpoint {str(path)!r} was written by another fit (other settings, seed or "
                "data); remove it, pass another path, or Checkpoint(resume=False)."
            )
        params = state.syn.parameters()
        for p, value in zip(params, saved["parameters"], strict=True):
            with torch.no_grad():
                p.copy_(value.to(p.device))
        state.optimizer.load_state_dict(saved["optimizer"])
        state.ctx.generator.set_state(saved["generator"])
        n = int(saved["iteration"])
        state.losses[:n] = saved["losses"].to(state.losses.device)
        state.history.extend(saved["history"])
        state.start_iteration = n
        logger.info("resumed from %s after iteration %d", path, n)

    def on_iteration_end(self, state: LoopState) -> None:
        it = state.iteration + 1
        due = it % self.every == 0 or it == state.ctx.max_iter or state.stop
        if due and state.ctx.ranks.main:  # a distributed fit: one writer, every rank reads
            self.save(state)

    def save(self, state: LoopState) -> None:
        """Write the state after ``state.iteration`` (atomically)."""
        it = state.iteration + 1
        payload = {
            "iteration": it,
            "fingerprint": state.ctx.fingerprint,
            "parameters": [p.detach().cpu() for p in state.syn.parameters()],
            "optimizer": state.optimizer.state_dict(),
            "generator": state.ctx.generator.get_state(),
            "losses": state.losses[:it].detach().cpu(),
            "history": [dict(r) for r in state.history],  # losses are filled in at the end
        }
        path = Path(self.path)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)


def data_fingerprint(*arrays: torch.Tensor | np.ndarray | str) -> str:
    """A short digest of tensors (every row up to 2,000 evenly spaced) and strings."""
    digest = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if isinstance(a, str):
            digest.update(a.encode())
            continue
        a = torch.as_tensor(a)
        step = max(1, len(a) // 2000)
        digest.update(str(tuple(a.shape)).encode())
        digest.update(a[::step].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
