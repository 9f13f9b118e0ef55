"""One fit across processes, on ``torch.distributed`` (``torchrun``, or a process group the user
initialised): every rank computes its share of the real data's statistics, they are summed
across ranks, and every rank takes the same steps on the same synthetic set.

Every rank draws the same real batch (the fit's generator is seeded alike on every rank: the
seed is broadcast from rank 0), decodes and embeds only its share of it (every ``world``-th
row), and the per-class sums of the embeddings are all-reduced. The synthetic side is computed
whole on every rank from the same generator, so the gradients, and the set, are the same
everywhere; :func:`check_same` verifies it at the end. Collectives time out as the process group
says (``init_process_group(timeout=...)``); ``torchrun`` stops every rank when one fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the fit: its rank among ``world`` processes."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        """Whether the fit spans more than one process."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """Whether this is rank 0 (the one that shows progress and writes files)."""
        return self.rank == 0

    def share(self, n: int, device: torch.device | str) -> torch.Tensor | None:
        """Positions of a batch of ``n`` rows this rank computes (every ``world``-th, from
        ``rank``); None in one process (all of them)."""
        if not self.active:
            return None
        return torch.arange(self.rank, n, self.world, device=device)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the ranks (unchanged in one process)."""
        if self.active:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every rank."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return int(box[0])


def current_ranks() -> Ranks:
    """The ranks of the initialised default process group, or one process."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()


def init_from_environment() -> Ranks:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1 in the environment),
    with NCCL on CUDA and gloo on the CPU; one process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and dist.is_available() and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return current_ranks()


def check_same(ranks: Ranks, tensors: list[torch.Tensor], what: str) -> None:
    """Raise unless ``tensors`` are bit-identical on every rank."""
    if not ranks.active:
        return
    flat = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])
    low, high = flat.clone(), flat.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise RuntimeError(
            f"The {what} differs between the ranks of a distributed fit (largest difference "
            f"{float((high - low).max()):.3g}); every rank must run the same fit with the same "
            "settings and data."
        )
