"""One fit across processes, on ``torch.distributed`` (``torchrun``, or a process group the user
initialised): every rank computes its share of the real data's statistics, they are summed
across ranks, and every rank takes the same steps on the same synthetic set.

Every rank draws the same real batch (the fit's generator is seeded alike on every rank: the
seed is broadcast from rank 0), decodes and embeds only its share of it (every ``world``-th
row), and the per-class sums of its embeddings (DM, DDM, generative) or of its gradients
(gradient matching) are all-reduced. The synthetic side is computed
whole on every rank from the same generator; its gradients are averaged over the ranks before
every step (equal in exact arithmetic, so this only removes the drift of non-deterministic GPU
kernels), and decisions to stop or to resume are taken together, so every rank takes the same
steps on the same set; :func:`check_same` verifies it at the end. Collectives time out as the
process group says (``init_process_group(timeout=...)``); ``torchrun`` stops every rank when
one fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the fit: its rank among ``world`` processes, and the device
    its collectives run on (the fit's: CUDA tensors under NCCL, CPU tensors under gloo)."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"

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

    def sum_all(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every tensor of ``tensors`` summed over the ranks, in one collective (the same
        dict in one process)."""
        if not self.active:
            return tensors
        flat = torch.cat([t.reshape(-1) for t in tensors.values()])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        parts = flat.split([t.numel() for t in tensors.values()])
        return {k: part.view_as(t) for (k, t), part in zip(tensors.items(), parts, strict=True)}

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers of ``module`` (a network each rank
        trained alike, kept bit-identical where GPU kernels are not deterministic)."""
        if not self.active:
            return
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor, src=0)

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` (an int below 2**63) on every rank."""
        if not self.active:
            return value
        box = torch.tensor([value], dtype=torch.int64, device=self.device)
        dist.broadcast(box, src=0)
        return int(box.item())

    def average_gradients(self, params: list[torch.Tensor]) -> None:
        """Replace every gradient of ``params`` by its mean over the ranks."""
        if not self.active:
            return
        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                p.grad /= self.world

    def agree(self, flag: bool, what: str) -> bool:
        """``flag`` when every rank has it; raise when the ranks disagree (on ``what``)."""
        if not self.active:
            return flag
        votes = torch.tensor([float(flag), float(flag)], device=self.device)
        dist.all_reduce(votes[:1], op=dist.ReduceOp.MIN)
        dist.all_reduce(votes[1:], op=dist.ReduceOp.MAX)
        if votes[0] != votes[1]:
            raise RuntimeError(
                f"The ranks of a distributed fit disagree on {what}; every rank must see the "
                "same files (a shared filesystem) and settings."
            )
        return flag

    def any(self, flag: bool) -> bool:
        """Whether any rank has ``flag`` (every rank gets the same answer)."""
        if not self.active:
            return flag
        vote = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(vote, op=dist.ReduceOp.MAX)
        return bool(vote.item())


def current_ranks(device: torch.device | str = "cpu") -> Ranks:
    """The ranks of the initialised default process group (collectives on ``device``), or one
    process."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), str(device))
    return Ranks()


def init_from_environment() -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1 in the environment):
    NCCL for CUDA tensors and gloo for CPU tensors, each rank on the GPU of its ``LOCAL_RANK``.
    Returns whether this call created the group (its caller then destroys it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="cpu:gloo,cuda:nccl")
    else:
        dist.init_process_group(backend="gloo")
    return True


def is_main_process() -> bool:
    """Whether this process is rank 0 of the default process group (or alone)."""
    return current_ranks().main


def check_same(ranks: Ranks, tensors: list[torch.Tensor], what: str) -> None:
    """Raise unless ``tensors`` are bit-identical on every rank."""
    if not ranks.active:
        return
    flat = torch.cat([t.detach().reshape(-1).to(ranks.device, torch.float64) for t in tensors])
    flat = torch.nan_to_num(flat, nan=0.0)  # NaN is caught by the divergence check, not here
    low, high = flat.clone(), flat
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise RuntimeError(
            f"The {what} differs between the ranks of a distributed fit (largest difference "
            f"{float((high - low).max()):.3g}); every rank must run the same fit with the same "
            "settings and data."
        )
