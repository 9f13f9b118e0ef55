"""Streaming real data (``data_mode="stream"``): rows decoded on demand from a Dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from condensekit import DatasetCondenser, list_methods
from condensekit._validation import InvalidParameterError
from condensekit.data import reading, streaming
from condensekit.methods import METHODS

STREAMING = [m for m in list_methods() if METHODS.get(m).supports_streaming]
SHORT = {"ipc": 2, "max_iter": 3, "random_state": 0, "verbose": 0, "model__width": 16}
SETTINGS = {
    "dsa": {"augment__flip": False},
    "dsa_dcc": {"augment__flip": False},
    "generative": {"strategy__warmup_iter": 3, "strategy__width": 16},
}


class LazyDigits(Dataset):
    """Digits decoded on access (as images from files would be), counting every read; the
    labels are a ``targets`` array, as torchvision datasets have."""

    def __init__(self, X: np.ndarray, y: np.ndarray, repeat: int = 1) -> None:
        self.X, self.targets, self.repeat = X, np.tile(y, repeat), repeat
        self.reads = 0

    def __len__(self) -> int:
        return len(self.X) * self.repeat

    def __getitem__(self, i: int):
        self.reads += 1
        return torch.as_tensor(self.X[i % len(self.X)]), int(self.targets[i])


@pytest.mark.parametrize("method", STREAMING)
def test_a_streamed_fit_gives_the_in_memory_set(digits_small, method):
    X, y = digits_small  # fewer samples than the statistics sample: the same statistics
    settings = {**SHORT, **SETTINGS.get(method, {})}
    memory = DatasetCondenser(method, **settings).fit(X, y)
    streamed = DatasetCondenser(method, data_mode="stream", **settings).fit(X, y)
    assert memory.data_mode_ == "memory" and streamed.data_mode_ == "stream"
    np.testing.assert_array_equal(streamed.transform()[0], memory.transform()[0])
    assert streamed.value_range_ == memory.value_range_


def test_a_dataset_is_read_lazily_and_only_where_needed(digits_small):
    X, y = digits_small
    dataset = LazyDigits(X.reshape(-1, 8, 8), y, repeat=20)  # 2,000 samples
    cond = DatasetCondenser(
        "dm", data_mode="stream", strategy__batch_real=8, **{**SHORT, "max_iter": 4}
    ).fit(dataset)
    n_classes = len(np.unique(y))
    # labels from ``targets``; the first item (its layout), the statistics sample (all 2,000
    # here) twice (mean, then variance around it), the real init and 8 per class an iteration
    assert dataset.reads == 1 + 2 * len(dataset) + 2 * n_classes + 4 * 8 * n_classes
    assert cond.data_mode_ == "stream" and cond.transform()[0].shape == (2 * n_classes, 8, 8)


def test_the_statistics_come_from_a_bounded_sample(digits_small, monkeypatch):
    X, y = digits_small
    monkeypatch.setattr(streaming, "STATISTICS_SAMPLE", 50)
    dataset = LazyDigits(X, y)
    cond = DatasetCondenser("dm", data_mode="stream", strategy__batch_real=4, **SHORT).fit(dataset)
    memory = DatasetCondenser("dm", **SHORT).fit(X, y)
    n_classes = len(np.unique(y))
    assert dataset.reads == 1 + 2 * 50 + 2 * n_classes + 3 * 4 * n_classes  # 50 of 100, twice
    assert not np.allclose(cond.normalizer_.mean, memory.normalizer_.mean)
    lo, hi = cond.value_range_
    assert X.min() <= lo <= hi <= X.max()


def test_workers_decode_the_same_rows(digits_small):
    X, y = digits_small
    dataset = TensorDataset(torch.as_tensor(X), torch.as_tensor(y))  # no ``targets``: one pass
    alone = DatasetCondenser("dc", data_mode="stream", **SHORT).fit(dataset)
    workers = DatasetCondenser("dc", data_mode="stream", num_workers=2, **SHORT).fit(dataset)
    np.testing.assert_array_equal(workers.transform()[0], alone.transform()[0])


def test_auto_streams_only_large_datasets_with_a_method_that_can(digits_small, monkeypatch):
    X, y = digits_small
    dataset = LazyDigits(X, y)
    assert DatasetCondenser("dm", **SHORT).fit(dataset).data_mode_ == "memory"
    assert DatasetCondenser("dm", **SHORT).fit(X, y).data_mode_ == "memory"
    monkeypatch.setattr(reading, "STREAM_ABOVE_BYTES", 1000)
    assert DatasetCondenser("dm", **SHORT).fit(dataset).data_mode_ == "stream"
    assert DatasetCondenser("dm", **SHORT).fit(X, y).data_mode_ == "memory"  # arrays stay
    herding = DatasetCondenser("herding", ipc=2, random_state=0).fit(dataset)
    assert herding.data_mode_ == "memory"  # a selection reads every sample


class NotPairs(LazyDigits):
    def __getitem__(self, i):
        return torch.as_tensor(self.X[i])


class Relabelled(LazyDigits):
    """Labels that change after the first read of an item."""

    def __getitem__(self, i):
        self.reads += 1
        return torch.as_tensor(self.X[i]), int(self.targets[i]) + (self.reads > len(self))


def test_bad_streamed_data_gets_a_clear_error(digits_small):
    X, y = digits_small
    with pytest.raises(TypeError, match="pairs; item 0 is Tensor"):
        DatasetCondenser("dm", data_mode="stream", **SHORT).fit(NotPairs(X, y))
    with pytest.raises(ValueError, match=r"now has label .* when the labels were read"):
        DatasetCondenser("dm", data_mode="stream", **SHORT).fit(Relabelled(X, y))
    with pytest.raises(InvalidParameterError, match="data_mode='stream': method 'herding'"):
        DatasetCondenser("herding", ipc=2, data_mode="stream").fit(X, y)
    with pytest.raises(ValueError, match="'data_mode' parameter"):
        DatasetCondenser("dm", data_mode="lazy").fit(X, y)
    with pytest.raises(ValueError, match="'num_workers' parameter"):
        DatasetCondenser("dm", num_workers=-1).fit(X, y)
    with pytest.raises(ValueError, match="pass y=None"):
        DatasetCondenser("dm", data_mode="stream", **SHORT).fit(LazyDigits(X, y), y)
    failed = DatasetCondenser("dm", data_mode="stream", **SHORT)
    with pytest.raises(TypeError):
        failed.fit(NotPairs(X, y))
    assert not hasattr(failed, "X_syn_")  # nothing half-fitted


def test_a_streamed_fit_leaves_the_global_random_state_alone(digits_small):
    X, y = digits_small
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    DatasetCondenser("dm", data_mode="stream", num_workers=1, **SHORT).fit(LazyDigits(X, y))
    assert torch.equal(torch.rand(3), expected)


class WithNaN(LazyDigits):
    def __getitem__(self, i):
        x, label = super().__getitem__(i)
        return (x * float("nan") if i == 7 else x), label


def test_streamed_rows_are_checked_and_an_empty_request_is_empty(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values \(item 7"):
        DatasetCondenser("dm", data_mode="stream", **SHORT).fit(WithNaN(X, y))
    dataset = LazyDigits(X, y)
    source = streaming.StreamingSource(
        dataset, dataset.targets, streaming.stream_layout(dataset, None)
    )
    assert source.decode([]).shape == (0, 1, 8, 8)
    assert source.decode([3, 1]).shape == (2, 1, 8, 8)


def test_labels_of_subsets_and_concatenations_come_from_targets(digits_small):
    X, y = digits_small
    dataset = LazyDigits(X, y)
    part = Subset(dataset, [5, 0, 42])
    assert streaming.read_labels(part).tolist() == [y[5], y[0], y[42]]
    both = ConcatDataset([part, dataset])
    assert streaming.read_labels(both).tolist() == [y[5], y[0], y[42], *y.tolist()]
    assert dataset.reads == 0  # no item decoded for its label


class NoTargets(Dataset):
    """Items only: labels need one pass over the dataset."""

    def __init__(self, X: np.ndarray, y: np.ndarray, bad: int | None = None) -> None:
        self.X, self.y, self.bad = X, y, bad

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        if i == self.bad:
            return "not an item"
        return torch.as_tensor(self.X[i]), int(self.y[i])


def test_a_label_pass_spreads_over_workers_with_the_same_labels(digits_small):
    X, y = digits_small
    assert streaming.read_labels(NoTargets(X, y)).tolist() == y.tolist()
    assert streaming.read_labels(NoTargets(X, y), num_workers=2).tolist() == y.tolist()
    with pytest.raises(TypeError, match=r"^A torch Dataset given as X .* item 7 is str"):
        streaming.read_labels(NoTargets(X, y, bad=7), num_workers=2)
    cond = DatasetCondenser("dm", data_mode="stream", num_workers=2, **SHORT)
    with pytest.raises(TypeError, match=r"^A torch Dataset given as X .* item 7 is str"):
        cond.fit(NoTargets(X, y, bad=7))  # the error of a worker, as its own line
