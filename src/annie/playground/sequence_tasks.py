"""The RNN tab's sequence tasks.

- ``adding``: the adding problem (Hochreiter & Schmidhuber 1997, in the set-up of Le, Jaitly &
  Hinton 2015): T steps of two channels, a value from U(0, 1) and a marker that is 1 at one
  step in the first half and one step in the second half; the target is the sum of the two
  marked values. Predicting 1 always gives MSE 1/6 (about 0.167), the baseline to beat; the
  marker in the first half is T/2 or more steps back, a long-term dependency.
- ``sine``: forecast the next value of a noisy sum of two sine waves from the last T values
  (the series is a CSV file; ``annie train``'s sequence_regressor recipe cuts the windows).
- ``digits``: the bundled 8x8 digits read row by row (8 steps of 8 pixels) -> the digit, as
  ``annie train``'s sequence_classifier recipe splits ``digits_rows``.
"""
from __future__ import annotations

import numpy as np

ADDING_BASELINE = 1.0 / 6.0  # MSE of always predicting 1 (the mean target)
TRAIN_SEQUENCES = 2000
TEST_SEQUENCES = 200
SINE_STEPS = 1200  # length of the sine series
FIXED_LENGTH = {"digits": 8}  # tasks whose sequence length the T control does not set


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


def adding(steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and held-out adding-problem sets (X_train, y_train, X_test, y_test)."""
    generator = np.random.default_rng(seed)
    return (*adding_problem(TRAIN_SEQUENCES, steps, generator),
            *adding_problem(TEST_SEQUENCES, steps, generator))


def sine_series(noise: float, seed: int, length: int = SINE_STEPS) -> np.ndarray:
    """x_t = sin(2 pi t / 25) + 0.5 sin(2 pi t / 7) + N(0, noise^2), t from a random phase."""
    generator = np.random.default_rng(seed)
    t = np.arange(length) + generator.uniform(0, 25)
    series = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7)
    return (series + generator.normal(0.0, noise, length)).astype(np.float32)
