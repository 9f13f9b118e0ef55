"""Exports: tensors, DD-Ranking's layout and an ImageFolder tree, each read back as its tool
reads it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.datasets import ImageFolder
from torchvision.transforms import PILToTensor

from condensekit import DatasetCondenser, load_condensed
from condensekit.cli import main
from condensekit.export import (
    class_folder_names,
    export_ddranking,
    export_image_folder,
    to_tensor_dataset,
    to_tensors,
)

TINY = {"ipc": 2, "random_state": 0, "verbose": 0}


@pytest.fixture(scope="module")
def uint8_selection(digits):
    """Real 8-bit images (digits scaled to 0..255) kept by a random selection."""
    X, _, y, _ = digits
    X8 = np.clip(X * 16, 0, 255).astype(np.uint8)
    return DatasetCondenser("random", **TINY).fit(X8, y), X8


def test_tensors_are_channels_first_with_class_indices(uint8_selection):
    cond, _ = uint8_selection
    X, y = to_tensors(cond)
    assert X.shape == (20, 1, 8, 8) and X.dtype == torch.float32
    assert (
        y.dtype == torch.int64
        and y.tolist() == np.searchsorted(cond.classes_, cond.y_syn_).tolist()
    )
    np.testing.assert_array_equal(X[:, 0].numpy(), cond.X_syn_.astype(np.float32))
    normalized, _ = to_tensors(cond, normalized=True)
    mean, std = cond.normalizer_.mean[0], cond.normalizer_.std[0]
    torch.testing.assert_close(normalized, (X - float(mean)) / float(std))
    dataset = to_tensor_dataset(cond)
    assert len(dataset) == 20 and torch.equal(dataset[3][0], X[3])


def test_a_ddranking_export_loads_back_with_torch_load(uint8_selection, tmp_path):
    cond, _ = uint8_selection
    cond.save(tmp_path / "sel.npz")
    paths = export_ddranking(load_condensed(tmp_path / "sel.npz"), tmp_path / "dd")
    images, labels = torch.load(paths["images"]), torch.load(paths["labels"])
    X, y = to_tensors(cond)
    assert torch.equal(images, X) and torch.equal(labels, y)


def test_an_image_folder_export_reads_back_with_torchvision(uint8_selection, tmp_path):
    cond, _ = uint8_selection
    export_image_folder(cond, tmp_path / "pngs")
    folder = ImageFolder(str(tmp_path / "pngs"), transform=PILToTensor())
    assert folder.classes == [str(c) for c in range(10)] and len(folder) == 20
    read = sorted((int(label), image[0].numpy().tobytes()) for image, label in folder)
    X, y = to_tensors(cond)
    expected = sorted(
        (int(label), x[0].numpy().astype(np.uint8).tobytes()) for x, label in zip(X, y)
    )
    assert read == expected  # 8-bit images come back exactly, grey as equal RGB channels


def test_out_of_range_synthetic_pixels_are_clipped_or_refused(digits, tmp_path):
    X, _, y, _ = digits
    cond = DatasetCondenser("dm", max_iter=3, strategy__lr_syn=50.0, **TINY).fit(X, y)
    lo, hi = cond.value_range_
    assert (cond.X_syn_ < lo).any() or (cond.X_syn_ > hi).any()  # DM pixels leave the range
    with pytest.raises(ValueError, match="outside the real data's range"):
        export_image_folder(cond, tmp_path / "strict", clip=False)
    export_image_folder(cond, tmp_path / "clipped")
    assert len(ImageFolder(str(tmp_path / "clipped"))) == 20


def test_folder_names_sort_like_the_classes():
    assert class_folder_names(np.array([2, 10, 100])) == ["002", "010", "100"]
    assert class_folder_names(np.array(["cat", "dog"])) == ["cat", "dog"]
    with pytest.raises(ValueError, match="do not sort as folder names"):
        class_folder_names(np.array([2.0, 10.0]))


def test_rows_of_features_have_no_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), np.repeat([0, 1], 20)
    cond = DatasetCondenser("random", **TINY).fit(X, y)
    with pytest.raises(ValueError, match="needs images"):
        export_image_folder(cond, tmp_path)
    assert to_tensors(cond)[0].shape == (4, 5)


def test_the_export_command(uint8_selection, tmp_path, capsys):
    cond, _ = uint8_selection
    cond.save(tmp_path / "sel.npz")
    for fmt in ("ddranking", "imagefolder"):
        assert (
            main(["export", str(tmp_path / "sel.npz"), "--format", fmt, "-o", str(tmp_path / fmt)])
            == 0
        )
    assert (tmp_path / "ddranking" / "images.pt").exists()
    assert len(ImageFolder(str(tmp_path / "imagefolder"))) == 20
    assert "wrote imagefolder export of 20 samples" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "missing.npz"), "--format", "ddranking", "-o", "x"]) == 1
