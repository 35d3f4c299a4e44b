"""Mini-batches, DataLoader and train_test_split: coverage, order, seeds and errors."""
import numpy as np
import pytest

import annie
from annie import data
from annie.errors import ConfigError, DataError


def _dataset(count=10):
    X = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    y = np.arange(count, dtype=np.int64)
    return X, y


def test_batches_in_order_without_shuffle():
    X, y = _dataset(10)
    got = list(data.batches(X, y, batch_size=4, shuffle=False))
    assert [len(batch_y) for _, batch_y in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b for _, b in got]), y)
    for batch_X, batch_y in got:
        np.testing.assert_array_equal(batch_X, X[batch_y])  # rows stay paired


def test_shuffle_covers_every_sample_once_and_keeps_pairs():
    X, y = _dataset(23)
    got = list(data.batches(X, y, batch_size=5, shuffle=True))
    seen = np.concatenate([batch_y for _, batch_y in got])
    assert sorted(seen.tolist()) == list(range(23))
    assert seen.tolist() != list(range(23))  # 23! orders: the identity is practically impossible
    for batch_X, batch_y in got:
        np.testing.assert_array_equal(batch_X, X[batch_y])


def test_drop_last_and_len():
    X, y = _dataset(10)
    loader = data.DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b) for _, b in loader] == [4, 4]
    assert len(data.DataLoader(X, y, batch_size=4)) == 3
    assert len(data.DataLoader(X, y, batch_size=5)) == 2
    assert len(data.DataLoader(X, y, batch_size=50)) == 1


def test_x_only_yields_arrays():
    X, _ = _dataset(5)
    got = list(data.batches(X, batch_size=2, shuffle=False))
    assert all(isinstance(batch, np.ndarray) for batch in got)
    np.testing.assert_array_equal(np.concatenate(got), X)


def test_seed_repeats_and_annie_seed_repeats():
    X, y = _dataset(20)
    first = [b for _, b in data.batches(X, y, batch_size=6, seed=7)]
    again = [b for _, b in data.batches(X, y, batch_size=6, seed=7)]
    other = [b for _, b in data.batches(X, y, batch_size=6, seed=8)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    # without a seed the order comes from annie's generator, so manual_seed repeats it
    annie.manual_seed(3)
    from_annie = np.concatenate([b for _, b in data.batches(X, y, batch_size=6)])
    annie.manual_seed(3)
    np.testing.assert_array_equal(
        np.concatenate([b for _, b in data.batches(X, y, batch_size=6)]), from_annie)
    annie.manual_seed(3)
    np.testing.assert_array_equal(annie.backend.rng().permutation(20), from_annie)


def test_loader_reshuffles_each_epoch_and_follows_manual_seed_after_creation():
    X, y = _dataset(30)
    loader = data.DataLoader(X, y, batch_size=30, seed=1)
    epoch_one = next(iter(loader))[1]
    epoch_two = next(iter(loader))[1]
    assert not np.array_equal(epoch_one, epoch_two)
    unseeded = data.DataLoader(X, y, batch_size=30)
    annie.manual_seed(5)
    first = next(iter(unseeded))[1]
    annie.manual_seed(5)
    np.testing.assert_array_equal(next(iter(unseeded))[1], first)


def test_batching_errors():
    X, y = _dataset(10)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0"):
        data.batches(X, y, batch_size=0)
    with pytest.raises(ConfigError, match="batch_size"):
        data.DataLoader(X, y, batch_size=2.5)
    with pytest.raises(DataError, match="X has 10 samples.*y has 9"):
        data.batches(X, y[:9])
    with pytest.raises(DataError, match="empty"):
        data.batches(np.zeros((0, 3)))
    with pytest.raises(DataError, match="no batches"):
        data.DataLoader(X, y, batch_size=11, drop_last=True)
    with pytest.raises(ConfigError, match="seed"):
        data.batches(X, y, seed=-1)


def test_train_test_split_sizes_disjoint_and_paired():
    X, y = _dataset(50)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_test) == 10 and len(X_train) == 40
    assert set(y_train.tolist()).isdisjoint(y_test.tolist())
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(50))
    np.testing.assert_array_equal(X_train, X[y_train])
    X_train, X_test = data.train_test_split(X, test_size=0.3, seed=0)
    assert len(X_test) == 15 and len(X_train) == 35  # ceil(0.3 * 50)
    again = data.train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[3], data.train_test_split(X, y, test_size=0.2, seed=0)[3])


def test_stratified_split_keeps_class_shares():
    X, y = data.load_iris()
    _, _, y_train, y_test = data.train_test_split(X, y, test_size=0.2, stratify=True, seed=0)
    np.testing.assert_array_equal(np.bincount(y_test), [10, 10, 10])
    np.testing.assert_array_equal(np.bincount(y_train), [40, 40, 40])
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    _, _, y_train, y_test = data.train_test_split(np.zeros((100, 1)), labels, test_size=0.2,
                                                  stratify=True, seed=1)
    np.testing.assert_array_equal(np.bincount(y_test), [16, 3, 1])
    np.testing.assert_array_equal(np.bincount(y_train), [64, 12, 4])


def test_split_errors():
    X, y = _dataset(10)
    for bad in (0, 1, 1.5, -0.1, 0.0, True):
        with pytest.raises(ConfigError, match="test_size"):
            data.train_test_split(X, y, test_size=bad)
    with pytest.raises(DataError, match="different lengths"):
        data.train_test_split(X, y[:5])
    with pytest.raises(DataError, match="empty"):
        data.train_test_split(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(DataError, match="class 9 has 1"):
        data.train_test_split(X, np.array([0] * 9 + [9]), stratify=True)
    with pytest.raises(ConfigError, match="needs the labels"):
        data.train_test_split(X, stratify=True)
    with pytest.raises(DataError, match="no training samples"):
        data.train_test_split(np.zeros((2, 1)), test_size=0.9)
