"""Generated tasks that measure how far back a recurrent network remembers, drawn with annie's
random generator (``annie.manual_seed`` makes them repeatable).

- ``make_adding_problem``: the adding problem of Hochreiter & Schmidhuber (1997) in the form of
  Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio (2016): a long dependency;
- ``make_delayed_recall``: a stream of random tokens, the target at each step is the token seen
  ``delay`` steps earlier: how much a state of fixed size can hold (limited memory).
"""
from __future__ import annotations

import numpy as np

from ..backend import get_default_dtype, rng
from ..errors import ConfigError, check_positive_int

ADDING_BASELINE_MSE = 1.0 / 6.0  # predicting 1 (the mean sum): Var(U1 + U2) = 2/12


def make_adding_problem(count: int, steps: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``count`` adding-problem sequences of ``steps`` steps (default 100, the papers' T).

    Each step has two features: a value drawn from U(0, 1) and a marker. The marker is 1 at
    exactly two steps, one drawn uniformly from the first half (steps 0 .. T/2 - 1) and one
    from the second half (T/2 .. T - 1), and 0 elsewhere. The target is the sum of the two
    marked values, so the first of them lies on average 3T/4 steps before the end. Predicting
    the mean, 1, gives mean squared error 1/6 = 0.167 (``ADDING_BASELINE_MSE``).

    Returns X of shape (count, steps, 2) and y of shape (count,), both in the default dtype
    (float32). Raises ConfigError if ``count`` < 1 or ``steps`` < 2.
    """
    count = check_positive_int(count, "count", "make_adding_problem")
    steps = check_positive_int(steps, "steps", "make_adding_problem")
    if steps < 2:
        raise ConfigError(f"make_adding_problem: steps must be at least 2 (one marker in each "
                          f"half), got {steps}")
    generator = rng()
    values = generator.random((count, steps))
    half = steps // 2
    first = generator.integers(0, half, size=count)
    second = generator.integers(half, steps, size=count)
    markers = np.zeros((count, steps))
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    dtype = get_default_dtype()
    X = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second]).astype(dtype)
    return X, y


def make_delayed_recall(count: int, steps: int, delay: int,
                        vocab_size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``count`` streams of ``steps`` random tokens (ids 0 .. vocab_size - 1, uniform) with the
    target at step t equal to the token at step t - ``delay``; the first ``delay`` steps have
    no target and are labelled -100 (ignored by ``nn.sequence_cross_entropy``).

    To get step t right a model must hold the last ``delay`` tokens, about
    delay * log2(vocab_size) bits, in its state; chance accuracy is 1 / vocab_size.
    Returns (tokens int64 (count, steps), targets int64 (count, steps)).
    Raises ConfigError unless 1 <= delay < steps and vocab_size >= 2.
    """
    count = check_positive_int(count, "count", "make_delayed_recall")
    steps = check_positive_int(steps, "steps", "make_delayed_recall")
    delay = check_positive_int(delay, "delay", "make_delayed_recall")
    vocab_size = check_positive_int(vocab_size, "vocab_size", "make_delayed_recall")
    if delay >= steps:
        raise ConfigError(f"make_delayed_recall: delay ({delay}) must be smaller than steps "
                          f"({steps})")
    if vocab_size < 2:
        raise ConfigError(f"make_delayed_recall: vocab_size must be at least 2, got {vocab_size}")
    tokens = rng().integers(0, vocab_size, size=(count, steps)).astype(np.int64)
    targets = np.full((count, steps), -100, dtype=np.int64)
    targets[:, delay:] = tokens[:, :-delay]
    return tokens, targets
