"""Pictures: an image grid (Pillow and ``torchvision.utils.make_grid``) and small SVG charts.

Every function returns an object that notebooks show inline (``_repr_png_`` or
``_repr_svg_``) and that ``.save(path)`` writes to disk:

* :func:`image_grid`: the condensed images, one row per class, de-normalised and clamped to the
  training data's value range;
* :func:`loss_curve`: a fitted condenser's ``history_``;
* :func:`accuracy_bars`: mean accuracies with error bars (a benchmark's table);
* :func:`accuracy_curves`: accuracy against a budget, one line per method.

The charts live in :mod:`condensekit.charts`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

from .charts import SVGFigure, accuracy_bars, accuracy_curves, loss_curve
from .data.adapters import InputLayout, as_numeric_array, infer_layout, numpy_dtype
from .sets import CondensedSet


@dataclass(frozen=True)
class ImageGrid:
    """A picture of condensed images, one row per class, its label on the left.

    Attributes
    ----------
    image : numpy.ndarray
        ``uint8`` pixels, ``(H, W)`` for grey images or ``(H, W, 3)`` for colour.
    classes : numpy.ndarray
        The class of every row, top to bottom.
    """

    image: np.ndarray
    classes: np.ndarray

    def to_pil(self) -> Image.Image:
        """The picture as a Pillow image."""
        return Image.fromarray(self.image)

    def to_png(self) -> bytes:
        """The picture as PNG bytes."""
        buffer = BytesIO()
        self.to_pil().save(buffer, format="PNG")
        return buffer.getvalue()

    def save(self, path: str | os.PathLike) -> None:
        """Write the picture; the format follows the file's extension (Pillow's)."""
        self.to_pil().save(path)

    def _repr_png_(self) -> bytes:
        return self.to_png()


def _grid_source(source: Any, y: Any, input_shape: tuple[int, ...] | None):
    """(X, y, classes, layout, value_range) of a fitted condenser, a CondensedSet or arrays."""

    if hasattr(source, "to_condensed_set"):  # a fitted condenser
        source = source.to_condensed_set()
    if isinstance(source, CondensedSet):
        parts = (source.X, source.y, source.classes, source.input_layout, source.value_range)
    else:
        parts = None
    if parts is not None:
        layout = parts[3]
        if input_shape is not None and not layout.is_image:
            # rows of features (e.g. flattened digits) read as images for the picture only
            layout = infer_layout(layout.sample_shape, np.dtype(layout.dtype), input_shape)
        return (*parts[:3], layout, parts[4])
    if y is None:
        raise ValueError(
            "image_grid needs a fitted condenser, a CondensedSet, or images X with labels y."
        )
    X = as_numeric_array(source, "X")
    if X.ndim < 2:
        raise ValueError(f"X must hold images; got an array of shape {tuple(X.shape)}.")
    y = np.asarray(y)
    layout = infer_layout(tuple(X.shape[1:]), numpy_dtype(X), input_shape)
    return X, y, np.unique(y), layout, None


#: Value of the pixels between images (mid grey: visible beside black and white backgrounds).
_PAD_GREY = 128


def image_grid(
    source: Any,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    value_range: tuple[float, float] | None = None,
    n_per_class: int | None = None,
    zoom: int | None = None,
    pad: int = 1,
    labels: bool = True,
) -> ImageGrid:
    """Arrange images in a grid, one row per class (``torchvision.utils.make_grid``).

    Parameters
    ----------
    source : fitted condenser, CondensedSet or array-like
        Where the images come from; an array needs ``y``.
    y : array-like, optional
        Labels of an array ``source``.
    input_shape : tuple of int, optional
        ``(H, W)`` or ``(C, H, W)`` to read flat rows as images: rows of an array, or of a
        condenser or saved set fitted on rows of features.
    value_range : (float, float), optional
        Values mapped to black and white; values outside are clamped. Default: the training
        data's range for a condenser or a saved set, else the images' own range.
    n_per_class : int, optional
        Images per row (default: as many as the largest class has).
    zoom : int, optional
        Integer upscaling of every image (default: to about 64 pixels per image side).
    pad : int, default=1
        Grey pixels between images.
    labels : bool, default=True
        Write every row's class label in a margin on the left (Pillow's default font).

    Returns
    -------
    ImageGrid
        Shown inline by notebooks; ``.save("grid.png")`` writes it.
    """
    X, y, classes, layout, default_range = _grid_source(source, y, input_shape)
    if not isinstance(layout, InputLayout) or not layout.is_image:
        raise ValueError(
            "image_grid draws images, but these samples are rows of features; pass "
            "input_shape=(H, W) or (C, H, W) to read them as images."
        )
    images = layout.to_internal(X).numpy()  # (n, C, H, W), caller's value scale
    n_channels, height, width = images.shape[1:]
    if n_channels not in (1, 3):
        raise ValueError(f"image_grid draws grey or RGB images; these have {n_channels} channels.")
    lo, hi = value_range or default_range or (float(images.min()), float(images.max()))
    if not hi > lo:
        hi = lo + 1.0
    pixels = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
    pixels = np.round(255 * pixels).astype(np.uint8)
    y = np.asarray(y)
    rows = [np.flatnonzero(y == c) for c in classes]
    if n_per_class is not None and (isinstance(n_per_class, bool) or n_per_class < 1):
        raise ValueError(f"n_per_class must be a positive int; got {n_per_class!r}.")
    cols = n_per_class or max(len(r) for r in rows)
    zoom = zoom or max(1, 64 // max(height, width))
    if isinstance(zoom, bool) or not isinstance(zoom, int) or zoom < 1:
        raise ValueError(f"zoom must be a positive int; got {zoom!r}.")
    tiles = torch.full((len(classes) * cols, n_channels, height * zoom, width * zoom), _PAD_GREY)
    for i, members in enumerate(rows):
        for j, idx in enumerate(members[:cols]):
            tile = torch.from_numpy(pixels[idx])
            tiles[i * cols + j] = tile.repeat_interleave(zoom, 1).repeat_interleave(zoom, 2)
    grid = make_grid(tiles.to(torch.uint8), nrow=cols, padding=pad, pad_value=_PAD_GREY)
    image = grid[0].numpy() if n_channels == 1 else grid.permute(1, 2, 0).numpy()
    if labels:
        image = _label_rows(image, classes, height * zoom + pad, pad)
    return ImageGrid(np.ascontiguousarray(image), np.asarray(classes))


def _label_rows(image: np.ndarray, classes: np.ndarray, row_height: int, pad: int) -> np.ndarray:
    """``image`` with a white margin on the left holding every row's class label."""
    font = ImageFont.load_default()
    names = [str(c) for c in np.asarray(classes).tolist()]
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), name, font=font) for name in names]
    margin = max(b[2] - b[0] for b in boxes) + 6
    picture = Image.fromarray(image)
    out = Image.new(picture.mode, (picture.width + margin, picture.height), "white")
    out.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(out)
    for i, (name, box) in enumerate(zip(names, boxes, strict=True)):
        middle = pad + i * row_height + (row_height - pad) / 2
        top = middle - (box[3] + box[1]) / 2
        draw.text((margin - 3 - (box[2] - box[0]) - box[0], top), name, fill="black", font=font)
    return np.array(out)


__all__ = [
    "ImageGrid",
    "SVGFigure",
    "accuracy_bars",
    "accuracy_curves",
    "image_grid",
    "loss_curve",
]
