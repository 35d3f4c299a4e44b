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

from types import SimpleNamespace

import numpy as np

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def gate_major_path(kind: str, steps: int, batch: int, hidden: int, dtype) -> bool:
    """Whether annie runs this layer on its gate-major steps (per-step BLAS calls, W @ h^T)."""
    try:
        from annie.functional.recurrent import compiled
    except ImportError:
        return False
    return (compiled.sequence_functions(kind, np.dtype(dtype), batch, hidden, steps) is None
            and compiled.column_functions(kind, np.dtype(dtype), batch) is not None)


def recurrent_floor(kind: str, steps: int, batch: int, inputs: int, hidden: int,
                    input_grad: bool = False, layers: int = 1, dtype=np.float32):
    """A closure running the matrix products of ``layers`` stacked ``kind`` layers' forward and
    backward pass over (steps, batch, inputs), in annie's order, shapes and layout."""
    rng = np.random.default_rng(0)
    width = GATES[kind] * hidden
    gate_major = gate_major_path(kind, steps, batch, hidden, dtype)
    calls = []
    for layer in range(layers):
        columns = (inputs if layer == 0 else hidden) + 1
        arrays = SimpleNamespace(
            x_k=rng.standard_normal((steps * batch, columns)).astype(dtype),
            w_in=(0.1 * rng.standard_normal((columns, width))).astype(dtype),
            w_hh=(0.1 * rng.standard_normal((width, hidden))).astype(dtype),
            states=rng.standard_normal((steps + 1, batch, hidden)).astype(dtype),
            grad_in=np.empty((width, columns), dtype=dtype),
            grad_hh=np.empty((width, hidden), dtype=dtype),
            grad_x=np.empty((steps * batch, columns - 1), dtype=dtype),
            needs_x=input_grad or layer > 0)
        a = arrays
        if gate_major:  # (4H, T*B) pre-activations, W_hh @ h^T forward, W_hh^T @ d back
            a.w_hh_t = np.ascontiguousarray(a.w_hh.T)
            a.pre = np.empty((width, steps * batch), dtype=dtype)
            a.recurrent = np.empty((width, batch), dtype=dtype)
            a.d_pre = rng.standard_normal((width, steps, batch)).astype(dtype)
            a.dh = np.empty((hidden, batch), dtype=dtype)
        else:  # (T*B, G*H) pre-activations, h @ W_hh^T forward, d @ W_hh back
            a.w_hh_t = a.w_hh.T
            a.pre = np.empty((steps * batch, width), dtype=dtype)
            a.recurrent = np.empty((batch, width), dtype=dtype)
            a.d_pre = rng.standard_normal((steps, batch, width)).astype(dtype)
            a.dh = np.empty((batch, hidden), dtype=dtype)
        calls.append(arrays)

    def run() -> None:
        for a in calls:
            if gate_major:
                np.matmul(a.w_in.T, a.x_k.T, out=a.pre)
                for t in range(steps):
                    np.dot(a.w_hh, a.states[t].T, out=a.recurrent)
            else:
                np.matmul(a.x_k, a.w_in, out=a.pre)
                for t in range(steps):
                    np.dot(a.states[t], a.w_hh_t, out=a.recurrent)
        for a in reversed(calls):
            if gate_major:
                for t in range(steps - 1, -1, -1):
                    np.dot(a.w_hh_t, a.d_pre[:, t], out=a.dh)
                d_rows = a.d_pre.reshape(width, steps * batch)  # dL/d(pre-activations)^T
            else:
                for t in range(steps - 1, -1, -1):
                    np.dot(a.d_pre[t], a.w_hh, out=a.dh)
                d_rows = a.d_pre.reshape(steps * batch, -1).T
            np.matmul(d_rows, a.x_k, out=a.grad_in)
            np.matmul(d_rows, a.states[:-1].reshape(steps * batch, -1), out=a.grad_hh)
            if a.needs_x:
                np.matmul(d_rows.T, a.w_in[:-1].T, out=a.grad_x)
    return run
