"""What an evaluation gives: :class:`EvaluationResult`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EvaluationResult:
    """Test accuracy of networks trained on a condensed set.

    Attributes
    ----------
    mean, std : float
        Mean and standard deviation (population) of the final-epoch test accuracies.
    accuracies : list of float
        One accuracy per network.
    time : float
        Seconds spent training and testing all networks.
    n_models, epochs : int
        Protocol settings used.
    model : str
        Network trained.
    protocol : str
        ``"default"`` (the evaluator's own ``augment`` and ``epochs``) or the resolved protocol
        (``"plain"``, ``"dc"``, ``"dsa"``; ``"paper"`` resolves to one of them).
    augment : str or None
        Augmentation used while training (a registered name, a class name, or None).
    labels : str
        ``"hard"`` (the set's labels, the papers' protocol) or ``"soft"`` (a teacher's
        softened logits: another protocol, not comparable with hard-label scores).
    """

    mean: float
    std: float
    accuracies: list[float] = field(default_factory=list)
    time: float = 0.0
    n_models: int = 0
    epochs: int = 0
    model: str = ""
    protocol: str = "default"
    augment: str | None = None
    labels: str = "hard"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return asdict(self)

    def __str__(self) -> str:
        protocol = "" if self.protocol == "default" else f", protocol {self.protocol}"
        protocol += ", soft labels" if self.labels == "soft" else ""
        return (
            f"accuracy {100 * self.mean:.2f} ± {100 * self.std:.2f} % over {self.n_models} "
            f"{self.model} networks ({self.epochs} epochs{protocol}, {self.time:.1f} s)"
        )
