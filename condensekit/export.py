"""Condensed sets in the layouts neighbouring tools read.

* tensors and a ``torch.utils.data.TensorDataset`` (:func:`to_tensors`,
  :func:`to_tensor_dataset`), for a training loop of one's own;
* DD-Ranking's layout (:func:`export_ddranking`): ``images.pt`` (a float tensor
  ``(N, C, H, W)``) and ``labels.pt`` (class indices, int64), read back with ``torch.load``;
* a torchvision ``ImageFolder`` tree of PNGs (:func:`export_image_folder`): one folder per class,
  named so that ImageFolder's sorted order is the order of ``classes``.

The command line's ``condensekit export SET.npz --format ddranking|imagefolder -o OUT`` writes
the last two.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset
from torchvision.utils import save_image

from .base import BaseCondenser
from .io import load_condensed
from .sets import CondensedSet


def _as_set(condensed: Any) -> CondensedSet:
    if isinstance(condensed, BaseCondenser):
        return condensed.to_condensed_set()
    if isinstance(condensed, CondensedSet):
        return condensed
    raise TypeError(
        "expected a fitted condenser or a CondensedSet (load_condensed); got "
        f"{type(condensed).__name__}."
    )


def to_tensors(condensed: Any, *, normalized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The set as ``(samples, labels)`` tensors in the networks' layout.

    Parameters
    ----------
    condensed : fitted condenser or CondensedSet
        The set.
    normalized : bool, default=False
        ``False``: samples in the original value scale; ``True``: standardised with the real
        data's statistics, as the networks of the fit and of the evaluator see them.

    Returns
    -------
    samples : torch.Tensor
        float32, ``(N, C, H, W)`` for images (channels first, whatever the original layout)
        or ``(N, d)`` for rows.
    labels : torch.Tensor
        int64 positions of the labels in ``condensed.classes``.
    """
    cset = _as_set(condensed)
    X = cset.input_layout.to_internal(np.asarray(cset.X), "X")
    if normalized:
        X = cset.normalizer.normalize(X)
    positions = np.searchsorted(cset.classes, np.asarray(cset.y))
    return X.float(), torch.as_tensor(positions, dtype=torch.int64)


def to_tensor_dataset(condensed: Any, *, normalized: bool = False) -> TensorDataset:
    """:func:`to_tensors` as a ``TensorDataset`` (for a ``DataLoader``)."""
    return TensorDataset(*to_tensors(condensed, normalized=normalized))


def export_ddranking(
    condensed: Any, folder: str | Path, *, normalized: bool = False
) -> dict[str, Path]:
    """Write ``images.pt`` and ``labels.pt`` (DD-Ranking's layout) into ``folder``.

    ``images.pt`` holds :func:`to_tensors`' samples (original scale unless ``normalized``),
    ``labels.pt`` the int64 class indices; both load with ``torch.load(path)``. Returns the paths.
    """
    X, y = to_tensors(condensed, normalized=normalized)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"images": folder / "images.pt", "labels": folder / "labels.pt"}
    torch.save(X, paths["images"])
    torch.save(y, paths["labels"])
    return paths


def class_folder_names(classes: np.ndarray) -> list[str]:
    """A folder name per class whose sorted order is the order of ``classes`` (non-negative
    integers zero-padded to one width; other labels as text)."""
    if classes.dtype.kind in "iu" and (classes >= 0).all():
        width = len(str(int(classes.max())))
        return [f"{int(c):0{width}d}" for c in classes]
    names = [str(c) for c in classes]
    if sorted(names) != names or len(set(names)) != len(names):
        raise ValueError(
            f"the class labels {names[:10]} do not sort as folder names the way they sort as "
            "labels; export the tensors instead."
        )
    return names


def export_image_folder(condensed: Any, folder: str | Path, *, clip: bool = True) -> Path:
    """Write every image of the set as a PNG under ``folder/<class>/<index>.png``.

    Values are mapped to 8 bits from the real data's range (``value_range``): ``0`` is its
    minimum, ``255`` its maximum (an 8-bit image set comes back exactly). Synthetic pixels
    beyond that range are clipped with ``clip=True``; with ``clip=False`` they are an error.
    ``torchvision.datasets.ImageFolder(folder)`` reads the tree back (grey images as RGB).

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    cset = _as_set(condensed)
    if not cset.input_layout.is_image:
        raise ValueError("an ImageFolder export needs images; this set holds rows of features.")
    if cset.value_range is None:
        raise ValueError("this set does not record the real data's value range.")
    lo, hi = cset.value_range
    X, y = to_tensors(cset)
    scaled = (X - lo) / max(hi - lo, 1e-12)
    outside = int(((scaled < 0) | (scaled > 1)).flatten(1).any(1).sum())
    if outside and not clip:
        raise ValueError(
            f"{outside} images have values outside the real data's range [{lo:g}, {hi:g}]; "
            "pass clip=True to clip them."
        )
    root = Path(folder)
    names = class_folder_names(np.asarray(cset.classes))
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(scaled.clamp(0, 1), y.tolist(), strict=True)):
        save_image(image, root / names[label] / f"{i:06d}.png")
    return root


EXPORTERS: dict[str, Callable[[Any, Path], Any]] = {
    "ddranking": export_ddranking,
    "imagefolder": export_image_folder,
}


def add_parser(sub: Any) -> None:
    """Add the ``export`` command to the subparsers ``sub`` of the ``condensekit`` parser."""
    p = sub.add_parser(
        "export",
        help="write a saved set as DD-Ranking tensors or an ImageFolder tree of PNGs",
        description="Write a saved condensed set in another tool's layout: ddranking "
        "(OUT/images.pt and OUT/labels.pt, read with torch.load) or imagefolder (OUT/<class>/"
        "<index>.png, read with torchvision.datasets.ImageFolder; 8-bit from the real data's "
        "range, clipped).",
    )
    p.add_argument("set_file", metavar="SET.npz", help="a set written by condense")
    p.add_argument("--format", required=True, choices=sorted(EXPORTERS))
    p.add_argument("--output", "-o", required=True, help="the folder to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export the set the arguments name."""
    condensed = load_condensed(args.set_file)
    EXPORTERS[args.format](condensed, Path(args.output))
    print(f"wrote {args.format} export of {len(condensed.y)} samples to {args.output}")
    return 0


__all__ = [
    "class_folder_names",
    "export_ddranking",
    "export_image_folder",
    "to_tensor_dataset",
    "to_tensors",
]
