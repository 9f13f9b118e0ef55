"""Differentiable siamese augmentation (DSA; Zhao & Bilen, ICML 2021).

Parameters are drawn once per *group* from an explicit generator (:meth:`SiameseAugment.draw`) and
then applied to any number of batches (:meth:`SiameseAugment.__call__`), so the real and the
synthetic images of a class see exactly the same transform: that is what makes the augmentation
"siamese". Each group draws one transform family (colour, crop, cutout, flip, scale or rotate).
All families are written as per-sample colour factors, one affine matrix and one cutout mask,
so a batch mixing many groups (all classes at once) is augmented in a single pass, and every
operation is differentiable with respect to the images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

from .._validation import BOOLEAN, Interval, validate_params

FAMILIES = ("color", "crop", "cutout", "flip", "scale", "rotate")


@dataclass(frozen=True)
class AugmentParams:
    """Transform parameters of ``n_groups`` groups (tensors with a leading group axis).

    Attributes
    ----------
    family : torch.Tensor of shape (G,)
        Index into :attr:`SiameseAugment.families_` of the family each group drew.
    brightness, saturation, contrast : torch.Tensor of shape (G,)
        Colour factors; identity values (0, 1, 1) for groups that did not draw colour.
    theta : torch.Tensor of shape (G, 2, 3)
        Affine matrix (crop, flip, scale, rotate); the identity for other groups.
    cutout_center : torch.Tensor of shape (G, 2)
        Centre (row, column) in pixels of the cutout square; used where ``cutout`` is True.
    color, geometric, cutout : torch.Tensor of shape (G,), bool
        Which part applies to each group.
    """

    family: torch.Tensor
    brightness: torch.Tensor
    saturation: torch.Tensor
    contrast: torch.Tensor
    theta: torch.Tensor
    cutout_center: torch.Tensor
    color: torch.Tensor
    geometric: torch.Tensor
    cutout: torch.Tensor

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return int(self.family.shape[0])


class SiameseAugment(BaseEstimator):
    """Differentiable augmentation whose parameters are drawn once and shared across batches.

    Parameters
    ----------
    color, crop, cutout, flip, scale, rotate : bool, default=True
        Which transform families may be drawn. Turn ``flip`` off for digits and text.
    brightness : float, default=1.0
        Brightness shift is uniform in ``±brightness / 2`` (in normalised units).
    saturation : float, default=2.0
        Saturation factor is uniform in ``[0, saturation]``.
    contrast : float, default=0.5
        Contrast factor is uniform in ``[1 - contrast, 1 + contrast]``.
    crop_ratio : float, default=0.125
        Translation of up to ``crop_ratio`` of the side, in whole pixels, zero padded.
    cutout_ratio : float, default=0.5
        Side of the zeroed square relative to the image side.
    scale_ratio : float, default=1.2
        Each axis is scaled by a factor uniform in ``[1 / scale_ratio, scale_ratio]``.
    rotate_degrees : float, default=15.0
        Rotation uniform in ``±rotate_degrees``.
    flip_prob : float, default=0.5
        Probability of a horizontal flip for groups that drew the flip family.

    Examples
    --------
    >>> import torch
    >>> aug = SiameseAugment(flip=False)
    >>> g = torch.Generator().manual_seed(0)
    >>> params = aug.draw(2, g, (28, 28))       # one parameter set per class
    >>> real, syn = torch.randn(8, 1, 28, 28), torch.randn(2, 1, 28, 28)
    >>> real_aug = aug(real, params, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]))
    >>> syn_aug = aug(syn, params, torch.tensor([0, 1]))
    """

    _parameter_constraints: ClassVar[dict] = {
        **{family: [BOOLEAN] for family in FAMILIES},
        "brightness": [Interval(Real, 0, None, closed="left")],
        "saturation": [Interval(Real, 0, None, closed="left")],
        "contrast": [Interval(Real, 0, 1, closed="both")],
        "crop_ratio": [Interval(Real, 0, 0.5, closed="both")],
        "cutout_ratio": [Interval(Real, 0, 1, closed="both")],
        "scale_ratio": [Interval(Real, 1, None, closed="left")],
        "rotate_degrees": [Interval(Real, 0, 180, closed="both")],
        "flip_prob": [Interval(Real, 0, 1, closed="both")],
    }
    #: While training a network, one family for a whole mini-batch (the DSA reference code's
    #: rule; each sample still draws its own parameters) rather than one per sample.
    family_per_batch: ClassVar[bool] = True

    def __init__(
        self,
        color: bool = True,
        crop: bool = True,
        cutout: bool = True,
        flip: bool = True,
        scale: bool = True,
        rotate: bool = True,
        brightness: float = 1.0,
        saturation: float = 2.0,
        contrast: float = 0.5,
        crop_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        scale_ratio: float = 1.2,
        rotate_degrees: float = 15.0,
        flip_prob: float = 0.5,
    ) -> None:
        self.color = color
        self.crop = crop
        self.cutout = cutout
        self.flip = flip
        self.scale = scale
        self.rotate = rotate
        self.brightness = brightness
        self.saturation = saturation
        self.contrast = contrast
        self.crop_ratio = crop_ratio
        self.cutout_ratio = cutout_ratio
        self.scale_ratio = scale_ratio
        self.rotate_degrees = rotate_degrees
        self.flip_prob = flip_prob

    def validate(self, prefix: str = "augment__") -> SiameseAugment:
        """Check the settings; raise ``InvalidParameterError`` naming a bad one."""
        validate_params(
            type(self).__name__, self.get_params(), self._parameter_constraints, prefix=prefix
        )
        self.families_  # noqa: B018 - raises if every family is off
        return self

    @property
    def families_(self) -> tuple[str, ...]:
        """Enabled families, in the order of :data:`FAMILIES`."""
        fams = tuple(f for f in FAMILIES if getattr(self, f))
        if not fams:
            raise ValueError(
                "SiameseAugment has every transform family switched off; enable at least one of "
                f"{FAMILIES}."
            )
        return fams

    def draw(
        self,
        n_groups: int,
        generator: torch.Generator,
        image_size: tuple[int, int],
        *,
        one_family: bool = False,
    ) -> AugmentParams:
        """Draw one parameter set per group.

        Parameters
        ----------
        n_groups : int
            Number of groups (classes when matching; samples when training a network).
        generator : torch.Generator
            Source of randomness; the parameters live on its device.
        image_size : tuple of int
            ``(H, W)`` of the images, for whole-pixel translations and the cutout square.
        one_family : bool, default=False
            Draw one family for all groups (each group still draws its own parameters), as the
            reference code does for a training mini-batch; by default each group draws its own.
        """
        dev = generator.device
        fams = self.families_
        n_draws = 1 if one_family else n_groups
        fam_idx = torch.randint(0, len(fams), (n_draws,), generator=generator, device=dev)
        fam_idx = fam_idx.expand(n_groups)
        u = torch.rand(n_groups, 11, generator=generator, device=dev)
        is_fam = {f: fam_idx == i for i, f in enumerate(fams)}
        off = torch.zeros(n_groups, dtype=torch.bool, device=dev)
        color, crop, cut = (
            is_fam.get("color", off),
            is_fam.get("crop", off),
            is_fam.get("cutout", off),
        )
        flip, scale, rot = (
            is_fam.get("flip", off),
            is_fam.get("scale", off),
            is_fam.get("rotate", off),
        )

        ones = torch.ones(n_groups, device=dev)
        brightness = torch.where(color, (u[:, 0] - 0.5) * self.brightness, 0.0 * ones)
        saturation = torch.where(color, u[:, 1] * self.saturation, ones)
        contrast = torch.where(color, 1.0 + (u[:, 2] * 2 - 1) * self.contrast, ones)

        height, width = image_size
        theta = torch.zeros(n_groups, 2, 3, device=dev)
        theta[:, 0, 0] = 1.0
        theta[:, 1, 1] = 1.0
        # crop: whole-pixel translation in [-s, s] with s a crop_ratio of that axis's side, in
        # affine_grid's normalised units
        shift_x = int(self.crop_ratio * width + 0.5)
        shift_y = int(self.crop_ratio * height + 0.5)
        tx = torch.floor(u[:, 3] * (2 * shift_x + 1)) - shift_x
        ty = torch.floor(u[:, 4] * (2 * shift_y + 1)) - shift_y
        theta[:, 0, 2] = torch.where(crop, tx * 2.0 / max(width - 1, 1), theta[:, 0, 2])
        theta[:, 1, 2] = torch.where(crop, ty * 2.0 / max(height - 1, 1), theta[:, 1, 2])
        # flip: mirror the x axis with probability flip_prob
        mirrored = flip & (u[:, 5] < self.flip_prob)
        theta[:, 0, 0] = torch.where(mirrored, -ones, theta[:, 0, 0])
        # scale: independent factors per axis
        lo = 1.0 / self.scale_ratio
        sx = u[:, 6] * (self.scale_ratio - lo) + lo
        sy = u[:, 7] * (self.scale_ratio - lo) + lo
        theta[:, 0, 0] = torch.where(scale, sx, theta[:, 0, 0])
        theta[:, 1, 1] = torch.where(scale, sy, theta[:, 1, 1])
        # rotate
        angle = (u[:, 8] * 2 - 1) * math.radians(self.rotate_degrees)
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot_theta = torch.stack(
            [torch.stack([cos, sin, 0 * cos], 1), torch.stack([-sin, cos, 0 * cos], 1)], 1
        )
        theta = torch.where(rot[:, None, None], rot_theta, theta)

        # centres as in the DSA code: 0..H-1 for an odd square, 0..H for an even one, so the
        # square is cut off alike at the top and the bottom border on average
        size_h = int(height * self.cutout_ratio + 0.5)
        size_w = int(width * self.cutout_ratio + 0.5)
        extent = torch.tensor([height + 1 - size_h % 2, width + 1 - size_w % 2], device=u.device)
        center = (torch.stack([u[:, 9], u[:, 10]], 1) * extent).floor().clamp_max(extent - 1)
        return AugmentParams(
            family=fam_idx,
            brightness=brightness,
            saturation=saturation,
            contrast=contrast,
            theta=theta,
            cutout_center=center,
            color=color,
            geometric=crop | mirrored | scale | rot,
            cutout=cut,
        )

    def __call__(
        self, x: torch.Tensor, params: AugmentParams, groups: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Apply the drawn transforms to a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (n, C, H, W)
            Images (normalised).
        params : AugmentParams
            From :meth:`draw`.
        groups : torch.Tensor of shape (n,), optional
            Group of each image (its class when matching). ``None`` means sample ``i`` uses group
            ``i``.

        Returns
        -------
        torch.Tensor
            Augmented images, differentiable with respect to ``x``.
        """
        if x.dim() != 4:
            raise ValueError(
                f"SiameseAugment needs images (n, C, H, W), got shape {tuple(x.shape)}."
            )
        if groups is None:
            groups = torch.arange(x.shape[0], device=x.device)
        groups = groups.to(params.family.device)

        def per_sample(t: torch.Tensor) -> torch.Tensor:
            return t[groups].to(x.device)

        color = per_sample(params.color)
        if bool(color.any()):
            view = (-1, 1, 1, 1)
            aug = x + per_sample(params.brightness).view(view)
            mean_c = aug.mean(dim=1, keepdim=True)
            aug = (aug - mean_c) * per_sample(params.saturation).view(view) + mean_c
            mean_all = aug.mean(dim=(1, 2, 3), keepdim=True)
            aug = (aug - mean_all) * per_sample(params.contrast).view(view) + mean_all
            x = torch.where(color.view(view), aug, x)

        geometric = per_sample(params.geometric)
        if bool(geometric.any()):
            theta = per_sample(params.theta).to(x.dtype)
            grid = F.affine_grid(theta, list(x.shape), align_corners=True)
            warped = F.grid_sample(
                x, grid, mode="bilinear", padding_mode="zeros", align_corners=True
            )
            x = torch.where(geometric.view(-1, 1, 1, 1), warped, x)

        cut = per_sample(params.cutout)
        if bool(cut.any()):
            height, width = x.shape[2], x.shape[3]
            size_h = int(height * self.cutout_ratio + 0.5)
            size_w = int(width * self.cutout_ratio + 0.5)
            center = per_sample(params.cutout_center)
            rows = torch.arange(height, device=x.device).view(1, -1)
            cols = torch.arange(width, device=x.device).view(1, -1)
            # the square around the centre, cut off at every border (as in the DSA code)
            top = center[:, :1] - size_h // 2
            left = center[:, 1:] - size_w // 2
            in_rows = (rows >= top) & (rows < top + size_h)
            in_cols = (cols >= left) & (cols < left + size_w)
            hole = in_rows[:, :, None] & in_cols[:, None, :] & cut.view(-1, 1, 1)
            x = x * (~hole).unsqueeze(1).to(x.dtype)
        return x
