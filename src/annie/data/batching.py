"""Mini-batches and train/test splits.

Shuffling draws from ``annie.backend.rng()`` (so ``annie.manual_seed`` makes it repeatable)
unless a ``seed`` is given, which makes that one call repeatable on its own.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..errors import ConfigError, DataError, check_positive_int
from ._validate import check_same_length, make_generator, to_array


class DataLoader:
    """Iterates over (X_batch, y_batch) mini-batches (X_batch alone when y is None).

    Each pass over the loader is one epoch; with ``shuffle=True`` every epoch draws a new order.
    ``len(loader)`` is the number of batches per epoch: ceil(n / batch_size), or
    floor(n / batch_size) with ``drop_last=True`` (the last, smaller batch is then skipped).
    """

    def __init__(self, X, y=None, batch_size: int = 32, shuffle: bool = True,
                 drop_last: bool = False, seed: int | None = None):
        self.X = to_array(X, "DataLoader: X")
        self.y = None if y is None else to_array(y, "DataLoader: y")
        check_same_length(self.X, self.y, "DataLoader")
        self.batch_size = check_positive_int(batch_size, "batch_size", "DataLoader")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # with a seed the loader owns its generator; without, each epoch asks annie's current one
        self._own_generator = make_generator(seed) if seed is not None else None
        if self.drop_last and len(self.X) < self.batch_size:
            raise DataError(f"DataLoader: drop_last=True with {len(self.X)} samples and "
                            f"batch_size={self.batch_size} would give no batches")

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.X) // self.batch_size
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self) -> Iterator:
        count = len(self.X)
        order = None
        if self.shuffle:
            generator = self._own_generator or make_generator(None)
            order = generator.permutation(count)
        for batch_index in range(len(self)):
            start = batch_index * self.batch_size
            stop = min(start + self.batch_size, count)
            # slices of the unshuffled data are views; shuffled batches gather their rows
            rows = slice(start, stop) if order is None else order[start:stop]
            if self.y is None:
                yield self.X[rows]
            else:
                yield self.X[rows], self.y[rows]


def batches(X, y=None, batch_size: int = 32, shuffle: bool = True, drop_last: bool = False,
            seed: int | None = None) -> Iterator:
    """One epoch of mini-batches: yields (X_batch, y_batch), or X_batch when y is None."""
    return iter(DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                           seed=seed))


def _stratified_test_counts(class_counts: np.ndarray, test_total: int) -> np.ndarray:
    """Test samples per class, proportional to the class sizes and adding up to ``test_total``.

    Largest remainder: each class gets floor(share), then the classes with the largest
    fractional parts get one more until the total is reached.
    """
    shares = class_counts * (test_total / class_counts.sum())
    counts = np.floor(shares).astype(np.int64)
    remainders = shares - counts
    for class_index in np.argsort(-remainders, kind="stable")[: test_total - counts.sum()]:
        counts[class_index] += 1
    # keep at least one sample of every class on each side
    return np.clip(counts, 1, class_counts - 1)


def train_test_split(X, y=None, test_size: float = 0.2, stratify: bool = False,
                     seed: int | None = None):
    """Shuffle and split into (X_train, X_test, y_train, y_test), or (X_train, X_test) without y.

    The test part holds ceil(test_size * n) samples. ``stratify=True`` keeps each class's
    share of y (nearly) equal on both sides: every class needs at least 2 samples and keeps at
    least one on each side, which can move the test size by a sample or two.
    """
    X = to_array(X, "train_test_split: X")
    y = None if y is None else to_array(y, "train_test_split: y")
    check_same_length(X, y, "train_test_split")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)) \
            or not 0.0 < test_size < 1.0:
        raise ConfigError(f"train_test_split: test_size must be a fraction strictly between 0 "
                          f"and 1, got {test_size!r}")
    count = len(X)
    test_total = math.ceil(test_size * count)
    if test_total >= count:
        raise DataError(f"train_test_split: test_size={test_size} of {count} samples leaves "
                        f"no training samples")
    generator = make_generator(seed)
    if stratify:
        if y is None:
            raise ConfigError("train_test_split: stratify=True needs the labels y")
        if y.ndim != 1:
            raise DataError(f"train_test_split: stratify=True needs 1-D class labels, got y of "
                            f"shape {y.shape}")
        classes, class_of_sample, class_counts = np.unique(y, return_inverse=True,
                                                           return_counts=True)
        if class_counts.min() < 2:
            rare = classes[int(np.argmin(class_counts))].item()
            raise DataError(f"train_test_split: stratify=True needs at least 2 samples of every "
                            f"class; class {rare!r} has {class_counts.min()}")
        test_counts = _stratified_test_counts(class_counts, test_total)
        test_parts, train_parts = [], []
        for class_index, test_count in enumerate(test_counts):
            members = generator.permutation(np.flatnonzero(class_of_sample == class_index))
            test_parts.append(members[:test_count])
            train_parts.append(members[test_count:])
        test_rows = generator.permutation(np.concatenate(test_parts))
        train_rows = generator.permutation(np.concatenate(train_parts))
    else:
        order = generator.permutation(count)
        test_rows, train_rows = order[:test_total], order[test_total:]
    if y is None:
        return X[train_rows], X[test_rows]
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]
