"""The DC paper's training augmentation for MNIST-like sets (Zhao et al., ICLR 2021).

The DC reference code (``get_daparam`` and ``augment`` in VICO-UoE/DatasetCondensation and
Saehyung-Lee/DCC) trains its evaluation networks on MNIST with a strategy ``crop_scale_rotate``:
every image draws one of three transforms, a translation of up to 4 pixels, a zoom of up to 20 %
and a rotation of up to 45 degrees; the DC code uses it to train evaluation networks on MNIST
only (the ``"dc"`` evaluation protocol applies it to every single-channel image set). It is
registered with the other augmentations, so ``augment="dc"`` also works while matching, where no
paper uses it.

Written here as a :class:`~condensekit.augment.SiameseAugment` with those three families and
ranges, drawn per *image* (the reference draws one transform per image, where DSA's training
draws one family per mini-batch). Two differences from the reference, both in how the same
transforms are expressed: the border is filled with zeros, which in normalised units is the
dataset mean (the reference fills a crop's and a rotation's border with the batch mean and a
zoom's with zeros), and a zoom scales each axis by a factor in ``[1/1.2, 1.2]`` (the reference:
``[0.8, 1.2]``).
"""

from __future__ import annotations

from typing import ClassVar

from .dsa import SiameseAugment


class DCAugment(SiameseAugment):
    """DC's crop / scale / rotate augmentation, one transform drawn per image.

    Parameters
    ----------
    color, crop, cutout, flip, scale, rotate : bool
        Transform families that may be drawn; DC's are crop, scale and rotate.
    brightness, saturation, contrast, cutout_ratio, flip_prob : float
        Settings of families that are off by default (see :class:`SiameseAugment`).
    crop_ratio : float, default=1/7
        Translation of up to this fraction of the side (4 pixels on 28x28 MNIST, as in DC).
    scale_ratio : float, default=1.2
        Each axis is scaled by a factor uniform in ``[1 / scale_ratio, scale_ratio]``.
    rotate_degrees : float, default=45.0
        Rotation uniform in ``±rotate_degrees`` (DC's MNIST setting).
    """

    #: One transform per image, never one per mini-batch (read by the training loop).
    family_per_batch: ClassVar[bool] = False

    def __init__(
        self,
        color: bool = False,
        crop: bool = True,
        cutout: bool = False,
        flip: bool = False,
        scale: bool = True,
        rotate: bool = True,
        brightness: float = 1.0,
        saturation: float = 2.0,
        contrast: float = 0.5,
        crop_ratio: float = 1 / 7,
        cutout_ratio: float = 0.5,
        scale_ratio: float = 1.2,
        rotate_degrees: float = 45.0,
        flip_prob: float = 0.5,
    ) -> None:
        super().__init__(
            color=color,
            crop=crop,
            cutout=cutout,
            flip=flip,
            scale=scale,
            rotate=rotate,
            brightness=brightness,
            saturation=saturation,
            contrast=contrast,
            crop_ratio=crop_ratio,
            cutout_ratio=cutout_ratio,
            scale_ratio=scale_ratio,
            rotate_degrees=rotate_degrees,
            flip_prob=flip_prob,
        )
