"""The RNN tab's sequence tasks, each a fixed training set and a held-out set.

- ``adding``: the adding problem (Hochreiter & Schmidhuber 1997, in the set-up of Le, Jaitly &
  Hinton 2015): T steps of two channels, a value from U(0, 1) and a marker that is 1 at one
  step in the first half and one step in the second half; the target is the sum of the two
  marked values. Predicting 1 always gives MSE 1/6 (about 0.167), the baseline to beat; the
  marker in the first half is T/2 or more steps back, a long-term dependency.
- ``sine``: forecast the next value of a noisy sum of two sine waves from the last T values.
- ``digits``: the bundled 8x8 digits read row by row (8 steps of 8 pixels) -> the digit
  (many-to-one classification; the same split as ``annie train``'s ``digits_rows``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADDING_BASELINE = 1.0 / 6.0  # MSE of always predicting 1 (the mean target)
TRAIN_SEQUENCES = 2000
TEST_SEQUENCES = 200


@dataclass
class SequenceData:
    """Train and held-out sequences (batch, time, features) and targets; ``task`` is
    "regression" (float targets (n,)) or "classification" (int64 labels)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    baseline: float | None = None  # held-out loss of a trivial predictor, if one is meaningful
    baseline_name: str = ""
    num_classes: int = 0


def adding_problem(count: int, steps: int, generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` adding-problem sequences of length ``steps``: X (count, steps, 2), y (count,)."""
    values = generator.uniform(0.0, 1.0, (count, steps))
    half = steps // 2
    first = generator.integers(0, half, count)
    second = generator.integers(half, steps, count)
    markers = np.zeros((count, steps))
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return X, y


def adding(steps: int, noise: float, seed: int) -> SequenceData:
    """The adding problem with sequences of length ``steps`` (noise is not used)."""
    generator = np.random.default_rng(seed)
    X_train, y_train = adding_problem(TRAIN_SEQUENCES, steps, generator)
    X_test, y_test = adding_problem(TEST_SEQUENCES, steps, generator)
    return SequenceData(X_train, y_train, X_test, y_test, "regression", ADDING_BASELINE,
                        "always 1")


def sine(steps: int, noise: float, seed: int) -> SequenceData:
    """Windows of ``steps`` values of x_t = sin(2 pi t / 25) + 0.5 sin(2 pi t / 7) + noise with
    the next value as target; the held-out windows come after the training ones in time."""
    from ..data import make_windows
    generator = np.random.default_rng(seed)
    total = TRAIN_SEQUENCES + TEST_SEQUENCES + steps
    t = np.arange(total) + generator.uniform(0, 25)
    series = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7)
    series = (series + generator.normal(0.0, noise, total)).astype(np.float32)
    X, y = make_windows(series, steps)
    X = X[..., None]
    persistence = float(np.mean((X[TRAIN_SEQUENCES:, -1, 0] - y[TRAIN_SEQUENCES:]) ** 2))
    return SequenceData(X[:TRAIN_SEQUENCES], y[:TRAIN_SEQUENCES], X[TRAIN_SEQUENCES:],
                        y[TRAIN_SEQUENCES:], "regression", persistence, "next = last")


def digits(steps: int, noise: float, seed: int, test_size: float = 0.2) -> SequenceData:
    """The bundled digits as 8 rows of 8 pixels (scaled to [0, 1]), split as ``annie train``
    splits ``digits_rows`` (stratified, by the seed); ``steps`` and ``noise`` are not used."""
    from ..data import load_digits, train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16.0).reshape(-1, 8, 8), y, test_size=test_size, stratify=True, seed=seed)
    return SequenceData(X_train.astype(np.float32), y_train, X_test.astype(np.float32), y_test,
                        "classification", num_classes=10)


TASKS = {"adding": adding, "sine": sine, "digits": digits}
FIXED_LENGTH = {"digits": 8}  # tasks whose sequence length the T control does not set


def make(task: str, steps: int, noise: float, seed: int) -> SequenceData:
    """The task's data for the settings."""
    return TASKS[task](steps, noise, seed)
