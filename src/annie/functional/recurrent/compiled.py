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
# Each row's gate blocks are taken as separate 1-D slices so the inner loops vectorise.
def lstm_cell_update(gates, c_previous, c_new):
    """After tanh over all gates: o, i, f = (1 + tanh) / 2 in place, c' = f c + i g."""
    half = gates.dtype.type(0.5)
    hidden = c_new.shape[1]
    for b in range(gates.shape[0]):
        o, i = gates[b, :hidden], gates[b, hidden:2 * hidden]
        f, g = gates[b, 2 * hidden:3 * hidden], gates[b, 3 * hidden:]
        c_old, c_out = c_previous[b], c_new[b]
        for j in range(hidden):
            o[j] = half + half * o[j]
            i_j = half + half * i[j]
            f_j = half + half * f[j]
            i[j] = i_j
            f[j] = f_j
            c_out[j] = f_j * c_old[j] + i_j * g[j]


def lstm_backward(gates, tanh_c, c_previous, grad_output, add_output, dh, dc, dc_previous):
    """The whole LSTM backward step of ``lstm.backward_step`` in one loop per row."""
    one = gates.dtype.type(1)
    hidden = dh.shape[1]
    for b in range(gates.shape[0]):
        o, i = gates[b, :hidden], gates[b, hidden:2 * hidden]
        f, g = gates[b, 2 * hidden:3 * hidden], gates[b, 3 * hidden:]
        tanh_row, c_old, dh_row, dc_row, dc_out = (tanh_c[b], c_previous[b], dh[b], dc[b],
                                                   dc_previous[b])
        if add_output:
            out_row = grad_output[b]
            for j in range(hidden):
                dh_row[j] += out_row[j]
        for j in range(hidden):
            o_j, i_j, f_j, g_j = o[j], i[j], f[j], g[j]
            tanh_ct = tanh_row[j]
            d_h = dh_row[j]
            d_c = dc_row[j] + d_h * o_j * (one - tanh_ct * tanh_ct)
            dc_row[j] = d_c
            o[j] = d_h * tanh_ct * (o_j * (one - o_j))
            i[j] = d_c * g_j * (i_j * (one - i_j))
            f[j] = d_c * c_old[j] * (f_j * (one - f_j))
            g[j] = d_c * i_j * (one - g_j * g_j)
            dc_out[j] = d_c * f_j


def gru_add_recurrent(gates, recurrent, bias_n, add_bias):
    """r, z pre-activations += their recurrent part; the n block of ``recurrent`` += b_hn."""
    hidden = gates.shape[1] // 3
    for b in range(gates.shape[0]):
        reset_update, from_state = gates[b, :2 * hidden], recurrent[b, :2 * hidden]
        for j in range(2 * hidden):
            reset_update[j] += from_state[j]
        if add_bias:
            hidden_n = recurrent[b, 2 * hidden:]
            for j in range(hidden):
                hidden_n[j] += bias_n[j]


def gru_candidate(gates, recurrent):
    """After tanh over r, z: r, z = (1 + tanh) / 2 in place, n_pre += r * (W_hn h + b_hn)."""
    half = gates.dtype.type(0.5)
    hidden = gates.shape[1] // 3
    for b in range(gates.shape[0]):
        r, z, n = gates[b, :hidden], gates[b, hidden:2 * hidden], gates[b, 2 * hidden:]
        hidden_n = recurrent[b, 2 * hidden:]
        for j in range(hidden):
            r_j = half + half * r[j]
            r[j] = r_j
            z[j] = half + half * z[j]
            n[j] += r_j * hidden_n[j]


def gru_mix(gates, h_previous, h_new):
    """h' = n + z (h - n)."""
    hidden = h_new.shape[1]
    for b in range(gates.shape[0]):
        z, n = gates[b, hidden:2 * hidden], gates[b, 2 * hidden:]
        h_old, h_out = h_previous[b], h_new[b]
        for j in range(hidden):
            h_out[j] = n[j] + z[j] * (h_old[j] - n[j])


def gru_backward(gates, recurrent, h_previous, grad_output, add_output, dh, carry):
    """The whole GRU backward step of ``gru.backward_step`` in one loop per row."""
    one = gates.dtype.type(1)
    hidden = dh.shape[1]
    for b in range(gates.shape[0]):
        r, z, n = gates[b, :hidden], gates[b, hidden:2 * hidden], gates[b, 2 * hidden:]
        d_r, d_z, hidden_n = (recurrent[b, :hidden], recurrent[b, hidden:2 * hidden],
                              recurrent[b, 2 * hidden:])
        h_old, dh_row, carry_row = h_previous[b], dh[b], carry[b]
        if add_output:
            out_row = grad_output[b]
            for j in range(hidden):
                dh_row[j] += out_row[j]
        for j in range(hidden):
            r_j, z_j, n_j = r[j], z[j], n[j]
            d_h = dh_row[j]
            carry_row[j] = d_h * z_j
            dz = d_h * (h_old[j] - n_j) * (z_j * (one - z_j))
            dn = d_h * (one - z_j) * (one - n_j * n_j)
            dr = dn * hidden_n[j] * (r_j * (one - r_j))
            r[j] = dr
            z[j] = dz
            n[j] = dn
            d_r[j] = dr
            d_z[j] = dz
            hidden_n[j] = dn * r_j


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
