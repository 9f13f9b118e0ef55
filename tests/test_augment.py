"""Siamese augmentation: parameters drawn once, identical transforms for every batch."""

import pytest
import torch

from condensekit.augment import FAMILIES, SiameseAugment, build_augment


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def images(digits):
    X_train = digits[0]
    return torch.as_tensor(X_train[:40], dtype=torch.float32)[:, None] / 16


def test_same_params_same_transform_across_batches(images):
    aug = SiameseAugment()
    params = aug.draw(4, _gen(), (8, 8))
    groups = torch.arange(40) % 4
    whole = aug(images, params, groups)
    # the same images in another batch (another order, other company) get the same transform
    perm = torch.randperm(40, generator=_gen(1))
    part = aug(images[perm[:7]], params, groups[perm[:7]])
    torch.testing.assert_close(part, whole[perm[:7]])


def test_group_members_share_one_transform(images):
    aug = SiameseAugment()
    params = aug.draw(1, _gen(3), (8, 8))
    same = images[:1].expand(5, -1, -1, -1)
    out = aug(same, params, torch.zeros(5, dtype=torch.long))
    for i in range(1, 5):
        torch.testing.assert_close(out[i], out[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_alone_changes_images(images, family):
    flags = {f: f == family for f in FAMILIES}
    aug = SiameseAugment(**flags, flip_prob=1.0)
    params = aug.draw(40, _gen(5), (8, 8))
    assert params.family.unique().tolist() == [0]
    out = aug(images, params)
    assert out.shape == images.shape
    assert not torch.allclose(out, images)


def test_flip_is_an_exact_mirror(images):
    aug = SiameseAugment(
        color=False, crop=False, cutout=False, scale=False, rotate=False, flip_prob=1.0
    )
    out = aug(images, aug.draw(40, _gen(), (8, 8)))
    torch.testing.assert_close(out, images.flip(3), atol=1e-5, rtol=0)


def _shifted(image, dy, dx):
    """``image`` (C, H, W) moved by whole pixels, zero filled."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_crop_is_a_whole_pixel_shift(images):
    aug = SiameseAugment(color=False, flip=False, cutout=False, scale=False, rotate=False)
    params = aug.draw(40, _gen(2), (8, 8))
    out = aug(images, params)
    # every output is its input moved by at most crop_ratio * side = 1 pixel, zero padded: no
    # interpolation blur, and at least one image actually moves
    moved = 0
    for x, o in zip(images, out):
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        match = [s for s in shifts if torch.allclose(o, _shifted(x, *s), atol=1e-5)]
        assert match, "output is not a whole-pixel shift of its input"
        moved += (0, 0) not in match
    assert moved >= 10


def test_crop_shifts_each_axis_by_its_own_side():
    # 8 x 32 images: up to 1 pixel vertically, up to 4 horizontally (1/8 of each side)
    x = torch.rand(200, 1, 8, 32, generator=_gen(5))
    aug = SiameseAugment(color=False, flip=False, cutout=False, scale=False, rotate=False)
    out = aug(x, aug.draw(200, _gen(6), (8, 32)))
    seen = set()
    for xi, oi in zip(x, out):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-5, 6)]
        match = [s for s in shifts if torch.allclose(oi, _shifted(xi, *s), atol=1e-5)]
        assert len(match) == 1, "output is not one whole-pixel shift of its input"
        seen.add(match[0])
    assert {dy for dy, _ in seen} == {-1, 0, 1}
    assert {dx for _, dx in seen} == set(range(-4, 5))


def test_gradients_flow_to_the_images(images):
    aug = SiameseAugment()
    x = images.clone().requires_grad_(True)
    for seed in range(6):
        out = aug(x, aug.draw(40, _gen(seed), (8, 8)))
        (out**2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_draw_is_reproducible():
    aug = SiameseAugment()
    a, b = aug.draw(10, _gen(9), (8, 8)), aug.draw(10, _gen(9), (8, 8))
    assert torch.equal(a.theta, b.theta) and torch.equal(a.family, b.family)


def test_build_augment_routes_settings():
    aug = build_augment("dsa", flip=False)
    assert isinstance(aug, SiameseAugment) and "flip" not in aug.families_
    assert build_augment(None) is None
    with pytest.raises(ValueError, match="augment=None"):
        build_augment(None, flip=False)
    with pytest.raises(ValueError, match="Unknown augmentation"):
        build_augment("mixup")


def test_one_family_per_call_with_own_parameters(images):
    aug = SiameseAugment(flip=False)
    for seed in range(5):
        params = aug.draw(40, _gen(seed), (8, 8), one_family=True)
        assert len(params.family.unique()) == 1
    scale_only = SiameseAugment(color=False, crop=False, cutout=False, flip=False, rotate=False)
    params = scale_only.draw(40, _gen(0), (8, 8), one_family=True)
    assert len(params.theta[:, 0, 0].unique()) == 40  # each sample its own scale


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"flip_prob": 1.5}, "augment__flip_prob"),
        ({"scale_ratio": 0.5}, "augment__scale_ratio"),
        ({"rotate": "yes"}, "augment__rotate"),
        ({f: False for f in FAMILIES}, "every transform family switched off"),
    ],
)
def test_bad_augment_settings_are_refused(settings, match):
    with pytest.raises(ValueError, match=match):
        build_augment("dsa", **settings)
    with pytest.raises(ValueError, match="no setting 'shear'"):
        build_augment("dsa", shear=0.1)


def test_cutout_is_cut_off_alike_at_every_border():
    from dataclasses import replace

    aug = SiameseAugment(color=False, crop=False, flip=False, scale=False, rotate=False)
    params = aug.draw(4, _gen(0), (8, 8))
    assert bool(params.cutout.all())
    # an even 4x4 square (ratio 0.5) covers rows c-2..c+1; centres run over 0..8 (as in the
    # DSA code), so the extreme centres leave 2x2 in every corner, and 4x4 inside
    corners = torch.tensor([[0, 0], [8, 8], [0, 8], [4, 4]])
    out = aug(torch.ones(4, 1, 8, 8), replace(params, cutout_center=corners))
    zeros = (out == 0).flatten(1).sum(1).tolist()
    assert zeros == [4, 4, 4, 16], zeros
    centres = aug.draw(4000, _gen(1), (8, 8)).cutout_center
    assert centres.min() == 0 and centres.max() == 8
