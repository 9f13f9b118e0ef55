"""Random selection: ``ipc`` real samples per class, drawn uniformly without replacement."""

from __future__ import annotations

import torch

from ..strategies.base import FitContext
from .base import SelectionStrategy


class RandomSelection(SelectionStrategy):
    """Keep ``ipc`` uniformly drawn real samples of every class (the classic baseline)."""

    def score(self, ctx: FitContext) -> torch.Tensor:
        """Independent uniform scores, so the top ``ipc`` per class are a uniform draw."""
        return torch.rand(len(ctx.data.y), generator=ctx.generator, device=ctx.device)
