"""Registry cases of the whole-sequence recurrent kernels (rnn tanh/relu, lstm, gru), plain and
with variable lengths in the reverse direction, each against a plain NumPy reference that runs
every sequence on its own, step by step, with the textbook formulas."""
from __future__ import annotations

import numpy as np

from annie.functional.recurrent import gru, lstm, rnn

from . import Case

STEPS, BATCH, INPUT, HIDDEN = 4, 3, 3, 4
LENGTHS = np.array([2, 4, 3])


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _make(gates: int, with_cell: bool, with_lengths: bool):
    def make(rng, dtype):
        arrays = [rng.standard_normal((STEPS, BATCH, INPUT)),
                  rng.standard_normal((BATCH, HIDDEN))]
        if with_cell:
            arrays.append(rng.standard_normal((BATCH, HIDDEN)))
        arrays += [0.5 * rng.standard_normal((gates * HIDDEN, INPUT)),
                   0.5 * rng.standard_normal((gates * HIDDEN, HIDDEN)),
                   0.5 * rng.standard_normal(gates * HIDDEN),
                   0.5 * rng.standard_normal(gates * HIDDEN)]
        arrays = [a.astype(dtype) for a in arrays]
        if with_lengths:
            arrays.append(LENGTHS.copy())
        return arrays
    return make


def _reference(step, with_cell: bool, with_lengths: bool, reverse: bool):
    """Run ``step(x_t, state, weights) -> state`` over each sequence separately."""
    def reference(x, *rest):
        lengths = rest[-1] if with_lengths else np.full(x.shape[1], x.shape[0])
        weights = rest[2:6] if with_cell else rest[1:5]
        initial = rest[:2] if with_cell else rest[:1]
        output = np.zeros((x.shape[0], x.shape[1], initial[0].shape[1]))
        finals = [np.zeros_like(s) for s in initial]
        for b in range(x.shape[1]):
            state = tuple(s[b] for s in initial)
            times = list(range(lengths[b]))
            for t in (times[::-1] if reverse else times):
                state = step(x[t, b], state, *weights)
                output[t, b] = state[0]
            for final, value in zip(finals, state):
                final[b] = value
        return (output, *finals)
    return reference


def _rnn_step(activation):
    def step(x, state, w_ih, w_hh, b_ih, b_hh):
        return (activation(w_ih @ x + b_ih + w_hh @ state[0] + b_hh),)
    return step


def _lstm_step(x, state, w_ih, w_hh, b_ih, b_hh):
    h, c = state
    a_i, a_f, a_g, a_o = np.split(w_ih @ x + b_ih + w_hh @ h + b_hh, 4)
    c = _sigmoid(a_f) * c + _sigmoid(a_i) * np.tanh(a_g)
    return _sigmoid(a_o) * np.tanh(c), c


def _gru_step(x, state, w_ih, w_hh, b_ih, b_hh):
    h = state[0]
    x_r, x_z, x_n = np.split(w_ih @ x + b_ih, 3)
    h_r, h_z, h_n = np.split(w_hh @ h + b_hh, 3)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h,)


def _relu(a):
    return np.maximum(a, 0.0)


CASES = []
for with_lengths, reverse, label in ((False, False, ""), (True, True, "_lengths_reverse"),
                                     (True, False, "_lengths")):

    def rnn_fn(nonlinearity, with_lengths=with_lengths, reverse=reverse):
        def fn(x, h0, w_ih, w_hh, b_ih, b_hh, lengths=None):
            return rnn(x, h0, w_ih, w_hh, b_ih, b_hh, lengths=lengths, reverse=reverse,
                       nonlinearity=nonlinearity)
        return fn

    def lstm_fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=reverse):
        return lstm(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths=lengths, reverse=reverse)

    def gru_fn(x, h0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=reverse):
        return gru(x, h0, w_ih, w_hh, b_ih, b_hh, lengths=lengths, reverse=reverse)

    CASES += [
        Case(f"recurrent.rnn_tanh{label}", rnn_fn("tanh"), _make(1, False, with_lengths),
             _reference(_rnn_step(np.tanh), False, with_lengths, reverse), tags=("recurrent",)),
        Case(f"recurrent.rnn_relu{label}", rnn_fn("relu"), _make(1, False, with_lengths),
             _reference(_rnn_step(_relu), False, with_lengths, reverse), tags=("recurrent",)),
        Case(f"recurrent.lstm{label}", lstm_fn, _make(4, True, with_lengths),
             _reference(_lstm_step, True, with_lengths, reverse), tags=("recurrent",)),
        Case(f"recurrent.gru{label}", gru_fn, _make(3, False, with_lengths),
             _reference(_gru_step, False, with_lengths, reverse), tags=("recurrent",)),
    ]
