"""Optional compiled per-step kernels (``pip install annie[fast]``: numba).

A recurrent step on a small batch costs little arithmetic but ten to twenty NumPy calls, each
with a fixed cost of about a microsecond; at batch 1 that fixed cost is most of the time. Here
the elementwise work of one LSTM or GRU step between two tanh calls is one loop, compiled by
numba: the forward step becomes 6 calls instead of 10 (LSTM) or 12 (GRU), the backward step 2
or 3 instead of about 18. The tanh calls stay NumPy's (vectorised; numba's tanh is scalar and
slower than NumPy's from a batch of about 16 on), and so do the matrix products (BLAS).

The NumPy steps in ``lstm.py`` and ``gru.py`` are the reference: these loops compute the same
formulas and are tested equal to them. Compilation happens on first use, not at
``import annie``, and is cached on disk (numba's ``cache=True``), so only the first run on a
machine pays it. ``ANNIE_NUMBA=0`` in the environment turns the compiled steps off.
"""
from __future__ import annotations

import functools
import os
from types import SimpleNamespace

import numpy as np


# ----- the loops (plain Python; numba compiles them) -------------------------------------------
def lstm_cell_update(gates, c_previous, c_new):
    """After tanh over all gates: o, i, f = (1 + tanh) / 2 in place, c' = f c + i g."""
    half = gates.dtype.type(0.5)
    hidden = c_new.shape[1]
    for b in range(gates.shape[0]):
        row, c_old, c_out = gates[b], c_previous[b], c_new[b]
        for j in range(hidden):
            o = half + half * row[j]
            i = half + half * row[hidden + j]
            f = half + half * row[2 * hidden + j]
            row[j] = o
            row[hidden + j] = i
            row[2 * hidden + j] = f
            c_out[j] = f * c_old[j] + i * row[3 * hidden + j]


def lstm_backward(gates, tanh_c, c_previous, grad_output, add_output, dh, dc, dc_previous):
    """The whole LSTM backward step of ``lstm.backward_step`` in one loop."""
    one = gates.dtype.type(1)
    hidden = dh.shape[1]
    for b in range(gates.shape[0]):
        row, tanh_row, c_old = gates[b], tanh_c[b], c_previous[b]
        out_row, dh_row, dc_row, dc_out = grad_output[b], dh[b], dc[b], dc_previous[b]
        for j in range(hidden):
            o, i = row[j], row[hidden + j]
            f, g = row[2 * hidden + j], row[3 * hidden + j]
            tanh_ct = tanh_row[j]
            d_h = dh_row[j] + out_row[j] if add_output else dh_row[j]
            d_c = dc_row[j] + d_h * o * (one - tanh_ct * tanh_ct)
            dc_row[j] = d_c
            row[j] = d_h * tanh_ct * (o * (one - o))
            row[hidden + j] = d_c * g * (i * (one - i))
            row[2 * hidden + j] = d_c * c_old[j] * (f * (one - f))
            row[3 * hidden + j] = d_c * i * (one - g * g)
            dc_out[j] = d_c * f


def gru_add_recurrent(gates, recurrent, bias_n, add_bias):
    """r, z pre-activations += their recurrent part; the n block of ``recurrent`` += b_hn."""
    hidden = gates.shape[1] // 3
    for b in range(gates.shape[0]):
        row, rec = gates[b], recurrent[b]
        for j in range(2 * hidden):
            row[j] += rec[j]
        if add_bias:
            for j in range(hidden):
                rec[2 * hidden + j] += bias_n[j]


def gru_candidate(gates, recurrent):
    """After tanh over r, z: r, z = (1 + tanh) / 2 in place, n_pre += r * (W_hn h + b_hn)."""
    half = gates.dtype.type(0.5)
    hidden = gates.shape[1] // 3
    for b in range(gates.shape[0]):
        row, rec = gates[b], recurrent[b]
        for j in range(hidden):
            r = half + half * row[j]
            row[j] = r
            row[hidden + j] = half + half * row[hidden + j]
            row[2 * hidden + j] += r * rec[2 * hidden + j]


def gru_mix(gates, h_previous, h_new):
    """h' = n + z (h - n)."""
    hidden = h_new.shape[1]
    for b in range(gates.shape[0]):
        row, h_old, h_out = gates[b], h_previous[b], h_new[b]
        for j in range(hidden):
            n = row[2 * hidden + j]
            h_out[j] = n + row[hidden + j] * (h_old[j] - n)


def gru_backward(gates, recurrent, h_previous, grad_output, add_output, dh, carry):
    """The whole GRU backward step of ``gru.backward_step`` in one loop."""
    one = gates.dtype.type(1)
    hidden = dh.shape[1]
    for b in range(gates.shape[0]):
        row, rec, h_old = gates[b], recurrent[b], h_previous[b]
        out_row, dh_row, carry_row = grad_output[b], dh[b], carry[b]
        for j in range(hidden):
            r, z, n = row[j], row[hidden + j], row[2 * hidden + j]
            d_h = dh_row[j] + out_row[j] if add_output else dh_row[j]
            carry_row[j] = d_h * z
            d_z = d_h * (h_old[j] - n) * (z * (one - z))
            d_n = d_h * (one - z) * (one - n * n)
            d_r = d_n * rec[2 * hidden + j] * (r * (one - r))
            row[j] = d_r
            row[hidden + j] = d_z
            row[2 * hidden + j] = d_n
            rec[j] = d_r
            rec[hidden + j] = d_z
            rec[2 * hidden + j] = d_n * r


LOOPS = (lstm_cell_update, lstm_backward, gru_add_recurrent, gru_candidate, gru_mix,
         gru_backward)


# ----- steps with the NumPy steps' signatures ----------------------------------------------
def build_steps(loops: SimpleNamespace) -> dict:
    """{"lstm": (forward_step, backward_step), "gru": (...)} calling ``loops`` (the functions
    above, compiled or not) between NumPy's tanh calls."""

    def lstm_forward(gates, recurrent, c_previous, c_new, tanh_c, h_new):
        gates += recurrent
        np.tanh(gates, out=gates)
        loops.lstm_cell_update(gates, c_previous, c_new)
        np.tanh(c_new, out=tanh_c)
        np.multiply(gates[:, :c_new.shape[1]], tanh_c, out=h_new)

    def lstm_backward(gates, tanh_c, c_previous, grad_output, dh, dc, dc_previous, work):
        if grad_output is None:
            loops.lstm_backward(gates, tanh_c, c_previous, dh, False, dh, dc, dc_previous)
        else:
            loops.lstm_backward(gates, tanh_c, c_previous, grad_output, True, dh, dc,
                                dc_previous)

    def gru_forward(gates, recurrent, bias_n, h_previous, h_new):
        hidden = h_new.shape[1]
        if bias_n is None:
            loops.gru_add_recurrent(gates, recurrent, h_new[0], False)
        else:
            loops.gru_add_recurrent(gates, recurrent, bias_n, True)
        reset_update = gates[:, :2 * hidden]
        np.tanh(reset_update, out=reset_update)
        loops.gru_candidate(gates, recurrent)
        candidate = gates[:, 2 * hidden:]
        np.tanh(candidate, out=candidate)
        loops.gru_mix(gates, h_previous, h_new)

    def gru_backward(gates, recurrent, h_previous, grad_output, dh, carry, work):
        if grad_output is None:
            loops.gru_backward(gates, recurrent, h_previous, dh, False, dh, carry)
        else:
            loops.gru_backward(gates, recurrent, h_previous, grad_output, True, dh, carry)

    return {"lstm": (lstm_forward, lstm_backward), "gru": (gru_forward, gru_backward)}


def python_steps() -> dict:
    """The loop steps uncompiled (slow; for tests on machines without numba)."""
    return build_steps(SimpleNamespace(**{loop.__name__: loop for loop in LOOPS}))


@functools.lru_cache(maxsize=None)
def numba_steps() -> dict | None:
    """The loop steps compiled by numba (cached on disk), or None without numba."""
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(cache=True, nogil=True)
    return build_steps(SimpleNamespace(**{loop.__name__: jit(loop) for loop in LOOPS}))


def enabled() -> bool:
    """True when the compiled steps are used: numba is installed and ANNIE_NUMBA is not 0."""
    return os.environ.get("ANNIE_NUMBA", "1") != "0" and numba_steps() is not None


def step_functions(kind: str, numpy_steps: tuple) -> tuple:
    """The (forward_step, backward_step) pair the kernels of ``kind`` use: compiled ones when
    ``enabled()``, else ``numpy_steps``."""
    if os.environ.get("ANNIE_NUMBA", "1") == "0":
        return numpy_steps
    compiled = numba_steps()
    return numpy_steps if compiled is None else compiled[kind]
