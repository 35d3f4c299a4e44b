"""The floor of annie's recurrent design: the BLAS calls of one forward and backward pass of a
recurrent layer alone, on preallocated arrays, nothing else.

annie's kernels (``annie/functional/recurrent/kernel.py``) do exactly these matrix products:
the input projection of all steps with the biases through a column of ones, one product
h @ W_hh^T per step forward and one d @ W_hh per step backward, then dL/dW_ih (with the biases),
dL/dW_hh and, when the input needs a gradient, dL/dx over all steps at once. Where a float32
LSTM runs its gate-major steps (``compiled.column_functions``) the same products are taken
gate-major: W_in x^T into (4H, T*B), W_hh h^T per step forward, W_hh^T d per step backward.
A workload's ``floor`` contender times them; floor / PyTorch is the most this design can
reach, so every annie/PyTorch ratio is read against it.
"""
from __future__ import annotations

import numpy as np

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def recurrent_floor(kind: str, steps: int, batch: int, inputs: int, hidden: int,
                    input_grad: bool = False, layers: int = 1, dtype=np.float32):
    """A closure running the matrix products of ``layers`` stacked ``kind`` layers' forward and
    backward pass over (steps, batch, inputs), in annie's order and shapes."""
    if gate_major_path(kind, batch, hidden, dtype):
        return _gate_major_floor(steps, batch, inputs, hidden, input_grad, layers, dtype)
    rng = np.random.default_rng(0)
    width = GATES[kind] * hidden
    calls = []
    for layer in range(layers):
        columns = (inputs if layer == 0 else hidden) + 1
        x_k = rng.standard_normal((steps * batch, columns)).astype(dtype)
        w_in = (0.1 * rng.standard_normal((columns, width))).astype(dtype)
        w_hh = (0.1 * rng.standard_normal((width, hidden))).astype(dtype)
        w_hh_t = w_hh.T
        pre = np.empty((steps * batch, width), dtype=dtype)
        states = rng.standard_normal((steps + 1, batch, hidden)).astype(dtype)
        recurrent = np.empty((batch, width), dtype=dtype)
        d_pre = rng.standard_normal((steps, batch, width)).astype(dtype)
        dh = np.empty((batch, hidden), dtype=dtype)
        grad_in = np.empty((width, columns), dtype=dtype)
        grad_hh = np.empty((width, hidden), dtype=dtype)
        grad_x = np.empty((steps * batch, columns - 1), dtype=dtype)
        needs_x = input_grad or layer > 0
        calls.append((x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in,
                      grad_hh, grad_x, needs_x))

    def run() -> None:
        for (x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in, grad_hh,
             grad_x, needs_x) in calls:
            np.matmul(x_k, w_in, out=pre)
            for t in range(steps):
                np.dot(states[t], w_hh_t, out=recurrent)
        for (x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in, grad_hh,
             grad_x, needs_x) in reversed(calls):
            for t in range(steps - 1, -1, -1):
                np.dot(d_pre[t], w_hh, out=dh)
            d_flat = d_pre.reshape(steps * batch, -1)
            np.matmul(d_flat.T, x_k, out=grad_in)
            np.matmul(d_flat.T, states[:-1].reshape(steps * batch, -1), out=grad_hh)
            if needs_x:
                np.matmul(d_flat, w_in[:-1].T, out=grad_x)
    return run


def gate_major_path(kind: str, batch: int, hidden: int, dtype) -> bool:
    """Whether annie runs this layer on its gate-major steps (per-step BLAS calls, W @ h^T)."""
    try:
        from annie.functional.recurrent import compiled
    except ImportError:
        return False
    return (compiled.sequence_functions(kind, np.dtype(dtype), batch, hidden) is None
            and compiled.column_functions(kind, np.dtype(dtype), batch) is not None)


def _gate_major_floor(steps, batch, inputs, hidden, input_grad, layers, dtype):
    """``recurrent_floor``'s products in the LSTM's gate-major layout."""
    rng = np.random.default_rng(0)
    width = GATES["lstm"] * hidden
    calls = []
    for layer in range(layers):
        columns = (inputs if layer == 0 else hidden) + 1
        x_k = rng.standard_normal((steps * batch, columns)).astype(dtype)
        w_in = (0.1 * rng.standard_normal((columns, width))).astype(dtype)
        w_hh = (0.1 * rng.standard_normal((width, hidden))).astype(dtype)
        w_hh_t = np.ascontiguousarray(w_hh.T)
        pre = np.empty((width, steps * batch), dtype=dtype)
        states = rng.standard_normal((steps + 1, batch, hidden)).astype(dtype)
        recurrent = np.empty((width, batch), dtype=dtype)
        d_pre = rng.standard_normal((width, steps, batch)).astype(dtype)
        dh = np.empty((hidden, batch), dtype=dtype)
        grad_in = np.empty((width, columns), dtype=dtype)
        grad_hh = np.empty((width, hidden), dtype=dtype)
        grad_x = np.empty((steps * batch, columns - 1), dtype=dtype)
        needs_x = input_grad or layer > 0
        calls.append((x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in,
                      grad_hh, grad_x, needs_x))

    def run() -> None:
        for (x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in, grad_hh,
             grad_x, needs_x) in calls:
            np.matmul(w_in.T, x_k.T, out=pre)
            for t in range(steps):
                np.dot(w_hh, states[t].T, out=recurrent)
        for (x_k, w_in, w_hh, w_hh_t, pre, states, recurrent, d_pre, dh, grad_in, grad_hh,
             grad_x, needs_x) in reversed(calls):
            for t in range(steps - 1, -1, -1):
                np.dot(w_hh_t, d_pre[:, t], out=dh)
            d_flat = d_pre.reshape(width, steps * batch)
            np.matmul(d_flat, x_k, out=grad_in)
            np.matmul(d_flat, states[:-1].reshape(steps * batch, -1), out=grad_hh)
            if needs_x:
                np.matmul(d_flat.T, w_in[:-1].T, out=grad_x)
    return run
