"""The compiled recurrent steps' loops, as plain Python: ``compiled.py`` has numba compile them
(``numba_steps``) or runs them as they are (``python_steps``, for tests without numba).

Each is the elementwise work of an LSTM or GRU step (or, for the float32 LSTM, a whole step or
the whole recurrence) written as loops over rows, so that the compiler turns the inner loops
into vector instructions; the formulas are those of the NumPy steps in ``lstm.py`` and
``gru.py``, which stay the reference. Each row's gate blocks are taken as separate 1-D slices
so the inner loops vectorise. Everything that goes into the compiled code lives in this one file,
the overloads numba uses for two helpers included (``register_overloads``): numba's disk cache
checks only the source file of the function it compiled, so an edit here recompiles and an
edit elsewhere could leave stale code running.
"""
from __future__ import annotations

import math

import numpy as np

def lstm_cell_update(gates, c_previous, c_new):
    """After tanh over all gates: o, i, f = (1 + tanh) / 2 in place, c' = f c + i g."""
    for b in range(gates.shape[0]):
        lstm_cell_row(gates[b], c_previous[b], c_new[b])


# tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= 8, exactly +-1 beyond: a rational fit of tanh (made on
# |x| <= 9) with relative error 2e-8 in exact arithmetic, about 3e-7 (a few ulps) evaluated in
# float32; no branch and no call, so the loops around it vectorise. The limit is 8, not 9: from
# 8.03 on the float32 evaluation can round above 1 (a sigmoid gate read -6e-8, |h| 1.0000001),
# and tanh(8) is within 2.4e-7 of 1; a clamp of the result instead cost 15 % of the LSTM step.
TANH_LIMIT = 8.0
TANH_P = (0.9999999796065677, 0.13381044561172195, 0.0034956099145169294,
          2.0609414409407976e-05, 1.3355073353528116e-08)
TANH_Q = (1.0, 0.46714360194911453, 0.025877066840815487, 0.00032856692981099813,
          7.776737017499408e-07)


def rational_tanh32(x):
    """tanh(x) for a float32 x as the rational function above, in float32 arithmetic, within
    [-1, 1] (so a sigmoid gate stays in [0, 1] and |h| <= 1); exactly +-1 beyond the limit, so
    a saturated gate's slope 1 - tanh^2 is exactly 0 and a huge input cannot leak through it."""
    limit, one = np.float32(TANH_LIMIT), np.float32(1)
    outside = one if x > limit else (-one if x < -limit else np.float32(0))
    x = limit if x > limit else x  # comparisons, not min/max: a NaN stays NaN
    x = -limit if x < -limit else x
    s = x * x
    numerator = ((((np.float32(TANH_P[4]) * s + np.float32(TANH_P[3])) * s
                   + np.float32(TANH_P[2])) * s + np.float32(TANH_P[1])) * s
                 + np.float32(TANH_P[0]))
    denominator = ((((np.float32(TANH_Q[4]) * s + np.float32(TANH_Q[3])) * s
                     + np.float32(TANH_Q[2])) * s + np.float32(TANH_Q[1])) * s
                   + np.float32(TANH_Q[0]))
    value = x * numerator / denominator
    return value if outside == 0 else outside


def tanh_scalar(x):
    """tanh of one float: ``rational_tanh32`` for float32, math.tanh otherwise. Compiled, numba
    picks the implementation from the type (``numba_steps`` registers it), so a loop calling
    this has no branch and vectorises."""
    return rational_tanh32(x) if isinstance(x, np.float32) else math.tanh(x)


def add_product(out, a, w):
    """out (n, m) += a (n, p) @ w (p, m): for each four rows of w one pass over out, so each
    element of out is loaded and stored once per four multiply-adds."""
    n, p = a.shape
    m = w.shape[1]
    k = 0
    while k + 4 <= p:
        w0, w1, w2, w3 = w[k], w[k + 1], w[k + 2], w[k + 3]
        for b in range(n):
            a0, a1, a2, a3 = a[b, k], a[b, k + 1], a[b, k + 2], a[b, k + 3]
            row = out[b]
            for j in range(m):
                row[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
        k += 4
    while k < p:
        w0 = w[k]
        for b in range(n):
            a0 = a[b, k]
            row = out[b]
            for j in range(m):
                row[j] += a0 * w0[j]
        k += 1


def lstm_cell_row(row, c_old, c_new):
    """One row of ``lstm_cell_update``: o, i, f = (1 + tanh) / 2 in place, c' = f c + i g."""
    half = row.dtype.type(0.5)
    hidden = c_new.shape[0]
    o, i = row[:hidden], row[hidden:2 * hidden]
    f, g = row[2 * hidden:3 * hidden], row[3 * hidden:]
    for j in range(hidden):
        o[j] = half + half * o[j]
        i_j = half + half * i[j]
        f_j = half + half * f[j]
        i[j] = i_j
        f[j] = f_j
        c_new[j] = f_j * c_old[j] + i_j * g[j]


def lstm_gate_gradients(i, f, g, o, tanh_row_c, c_old, dh_row, dc_row, dc_out):
    """One row of an LSTM step back, the gate blocks given one by one (wherever the row keeps
    them): from the activations i, f, g, o, dL/dh_t (``dh_row``) and dL/dc_t (``dc_row``,
    updated to the total through h_t) write dL/d(pre-activations) over the activations and
    dL/dc_{t-1} = dc f into ``dc_out`` (may be ``dc_row`` itself). Each gate's gradient is
    (gradient reaching its output) * (its partner in the product) * (its slope)."""
    one = dh_row.dtype.type(1)
    for j in range(dh_row.shape[0]):
        i_j, f_j, g_j, o_j = i[j], f[j], g[j], o[j]
        tanh_ct = tanh_row_c[j]
        d_h = dh_row[j]
        d_c = dc_row[j] + d_h * o_j * (one - tanh_ct * tanh_ct)
        dc_row[j] = d_c
        i[j] = d_c * g_j * (i_j * (one - i_j))
        f[j] = d_c * c_old[j] * (f_j * (one - f_j))
        g[j] = d_c * i_j * (one - g_j * g_j)
        o[j] = d_h * tanh_ct * (o_j * (one - o_j))
        dc_out[j] = d_c * f_j


def lstm_cell_backward(row, tanh_row_c, c_old, dh_row, dc_row, dc_out):
    """``lstm_gate_gradients`` for a row in the kernel's gate order o, i, f, g."""
    hidden = dh_row.shape[0]
    lstm_gate_gradients(row[hidden:2 * hidden], row[2 * hidden:3 * hidden], row[3 * hidden:],
                        row[:hidden], tanh_row_c, c_old, dh_row, dc_row, dc_out)


def lstm_gates_forward(row, c_old, c_new, tanh_row_c, h_new):
    """One row of an LSTM step after its pre-activations are complete, in the caller's gate
    order i, f, g, o on unscaled weights, in one loop over the hidden units: the activations
    over ``row`` (sigmoid(a) = (1 + tanh(a / 2)) / 2 for i, f, o, the halving done here; tanh
    for g), c' = f c + i g into ``c_new``, tanh(c') into ``tanh_row_c``, h' = o tanh(c') into
    ``h_new``."""
    half = row.dtype.type(0.5)
    hidden = c_new.shape[0]
    i, f = row[:hidden], row[hidden:2 * hidden]
    g, o = row[2 * hidden:3 * hidden], row[3 * hidden:]
    for j in range(hidden):
        i_j = half + half * tanh_scalar(half * i[j])
        f_j = half + half * tanh_scalar(half * f[j])
        g_j = tanh_scalar(g[j])
        o_j = half + half * tanh_scalar(half * o[j])
        c_j = f_j * c_old[j] + i_j * g_j
        tanh_c_j = tanh_scalar(c_j)
        i[j] = i_j
        f[j] = f_j
        g[j] = g_j
        o[j] = o_j
        c_new[j] = c_j
        tanh_row_c[j] = tanh_c_j
        h_new[j] = o_j * tanh_c_j


def lstm_gates_backward(row, tanh_row_c, c_old, dh_row, dc_row, dc_out):
    """``lstm_gate_gradients`` for a row in the caller's gate order i, f, g, o."""
    hidden = dh_row.shape[0]
    lstm_gate_gradients(row[:hidden], row[hidden:2 * hidden], row[2 * hidden:3 * hidden],
                        row[3 * hidden:], tanh_row_c, c_old, dh_row, dc_row, dc_out)


def lstm_step_forward(gates, recurrent, c_previous, c_new, tanh_c, h_new):
    """The whole LSTM forward step of ``lstm.forward_step`` in one loop per row, in the
    caller's gate order i, f, g, o on unscaled weights (``lstm_gates_forward``)."""
    for b in range(gates.shape[0]):
        row, from_state = gates[b], recurrent[b]
        for j in range(row.shape[0]):
            row[j] += from_state[j]
        lstm_gates_forward(row, c_previous[b], c_new[b], tanh_c[b], h_new[b])


def lstm_backward(gates, tanh_c, c_previous, grad_output, add_output, dh, dc, dc_previous,
                  caller_order):
    """The whole LSTM backward step of ``lstm.backward_step`` in one loop per row; its gate
    blocks in the caller's order i, f, g, o when ``caller_order`` (after
    ``lstm_step_forward``), else in the kernel's o, i, f, g (after the NumPy forward step)."""
    hidden = dh.shape[1]
    for b in range(gates.shape[0]):
        dh_row, row = dh[b], gates[b]
        if add_output:
            out_row = grad_output[b]
            for j in range(hidden):
                dh_row[j] += out_row[j]
        if caller_order:
            lstm_gates_backward(row, tanh_c[b], c_previous[b], dh_row, dc[b], dc_previous[b])
        else:
            lstm_cell_backward(row, tanh_c[b], c_previous[b], dh_row, dc[b], dc_previous[b])


def lstm_sequence_forward(gates, w_hh_t, h_all, c_all, tanh_c, active):
    """``LSTMSequence.run_forward``'s loop over all steps in one call, in the caller's gate
    order i, f, g, o on unscaled weights: gates (T, B, 4H) holds the input parts, w_hh_t
    (H, 4H) is W_hh^T, h_all and c_all (T+1, B, H) start at the initial states; rows
    [:active[t]] run at step t, the others carry their state."""
    steps, batch = gates.shape[:2]
    for t in range(steps):
        n = active[t]
        gates_t = gates[t]
        add_product(gates_t[:n], h_all[t, :n], w_hh_t)
        for b in range(n):
            lstm_gates_forward(gates_t[b], c_all[t, b], c_all[t + 1, b], tanh_c[t, b],
                               h_all[t + 1, b])
        for b in range(n, batch):
            h_all[t + 1, b] = h_all[t, b]
            c_all[t + 1, b] = c_all[t, b]


def lstm_sequence_backward(gates, w_hh, c_all, tanh_c, grad_steps, add_output, active, dh,
                           dc):
    """``LSTMSequence.run_backward``'s loop over all steps in one call: turns the activations
    in ``gates`` into dL/d(pre-activations) (zero for rows past their sequence's end), dh and dc
    (B, H) from dL/d(final states) into dL/d(initial states); ``grad_steps`` (T, B, H) is added
    to dh at each step when ``add_output``."""
    steps, batch, width = gates.shape
    hidden = width // 4
    for t in range(steps - 1, -1, -1):
        n = active[t]
        gates_t = gates[t]
        for b in range(n):
            dh_row, dc_row = dh[b], dc[b]
            if add_output:
                out_row = grad_steps[t, b]
                for j in range(hidden):
                    dh_row[j] += out_row[j]
            lstm_gates_backward(gates_t[b], tanh_c[t, b], c_all[t, b], dh_row, dc_row, dc_row)
            for j in range(hidden):
                dh_row[j] = 0
        add_product(dh[:n], gates_t[:n], w_hh)  # dL/dh_{t-1} = d(pre-activations) W_hh
        for b in range(n, batch):
            gates_t[b] = 0


def lstm_columns_forward(pre, t, recurrent, c_all, tanh_c, h_all, n):
    """Step t of the LSTM in the gate-major layout, columns (sequences) [:n], in the caller's
    gate order i, f, g, o (PyTorch's) on unscaled weights: ``pre`` (4H, T, B) holds the
    pre-activations' input parts; step t's block gets ``recurrent`` (4H, n) = W_hh h_{t-1}
    added and the activations written over it (sigmoid(a) = (1 + tanh(a / 2)) / 2, the halving
    done here); c_{t+1} = f c_t + i g into ``c_all`` (T+1, H, B), tanh(c_{t+1}) into ``tanh_c``
    (T, H, B), h_{t+1} = o tanh(c_{t+1}) into ``h_all`` (T+1, B, H): the layer's output stays
    batch-major. (The whole arrays indexed in place, not a row slice per gate: 22 % faster at
    B = 16; and a separate loop for h: a strided step view or a scattered store in the main
    loop keeps it from vectorising, 15 us -> 100 us at B = 32, H = 256.)"""
    hidden = c_all.shape[1]
    half = pre.dtype.type(0.5)
    for j in range(hidden):  # the gates' rows: j, H + j, 2H + j, 3H + j, written out below
        for b in range(n):   # (row numbers in variables: 30 % slower, measured)
            i_b = half + half * tanh_scalar(half * (pre[j, t, b] + recurrent[j, b]))
            f_b = half + half * tanh_scalar(half * (pre[hidden + j, t, b]
                                                    + recurrent[hidden + j, b]))
            g_b = tanh_scalar(pre[2 * hidden + j, t, b] + recurrent[2 * hidden + j, b])
            o_b = half + half * tanh_scalar(half * (pre[3 * hidden + j, t, b]
                                                    + recurrent[3 * hidden + j, b]))
            c_b = f_b * c_all[t, j, b] + i_b * g_b
            pre[j, t, b] = i_b
            pre[hidden + j, t, b] = f_b
            pre[2 * hidden + j, t, b] = g_b
            pre[3 * hidden + j, t, b] = o_b
            c_all[t + 1, j, b] = c_b
            tanh_c[t, j, b] = tanh_scalar(c_b)
        for b in range(n):
            h_all[t + 1, b, j] = pre[3 * hidden + j, t, b] * tanh_c[t, j, b]


def lstm_columns_backward(d_all, t, tanh_c, c_all, grad_steps, add_output, dh, dc, n):
    """Step t of the LSTM back in the gate-major layout, columns [:n], gate order i, f, g, o:
    from the activations in ``d_all`` (4H, T, B), dL/dh_t (``dh`` (H, B), plus
    ``grad_steps[t]`` (B, H) when ``add_output``) and dL/dc_t (``dc`` (H, B)) write
    dL/d(pre-activations) over step t's block and dL/dc_{t-1} = dc f over ``dc``; ``tanh_c``
    and ``c_all`` as forward left them. The caller then forms dL/dh_{t-1} = W_hh^T d_t."""
    one = d_all.dtype.type(1)
    hidden = dh.shape[0]
    if add_output:
        for b in range(n):
            for j in range(hidden):
                dh[j, b] += grad_steps[t, b, j]
    for j in range(hidden):  # indexed in place, as in lstm_columns_forward
        for b in range(n):
            d_h = dh[j, b]
            i_b = d_all[j, t, b]
            f_b = d_all[hidden + j, t, b]
            g_b = d_all[2 * hidden + j, t, b]
            o_b = d_all[3 * hidden + j, t, b]
            tanh_ct = tanh_c[t, j, b]
            d_c = dc[j, b] + d_h * o_b * (one - tanh_ct * tanh_ct)
            d_all[j, t, b] = d_c * g_b * (i_b * (one - i_b))
            d_all[hidden + j, t, b] = d_c * c_all[t, j, b] * (f_b * (one - f_b))
            d_all[2 * hidden + j, t, b] = d_c * i_b * (one - g_b * g_b)
            d_all[3 * hidden + j, t, b] = d_h * tanh_ct * (o_b * (one - o_b))
            dc[j, b] = d_c * f_b


def recurrent_product(out, w, rows, n):
    """out (m, n) = w (m, k) @ rows[:n].T, ``rows`` (B, k) C-contiguous: a step's W_hh @ h^T.
    (Compiled, ``compiled.numba_steps`` has it call NumPy's OpenBLAS directly.)"""
    np.dot(w, rows[:n].T, out=out)


def recurrent_product_back(dh, w_t, d_all, t, n):
    """dh[:, :n] = w_t (H, 4H) @ d_all[:, t, :n], d_all (4H, T, B): dL/dh_{t-1} = W_hh^T d_t
    for the running columns; dh's other columns stay."""
    if n == dh.shape[1]:
        np.dot(w_t, d_all[:, t], out=dh)
    else:
        dh[:, :n] = np.dot(w_t, d_all[:, t, :n])


def transpose_into(out, a):
    """out (n, m) = a (m, n)^T, both C-contiguous. (Compiled, ``register_overloads`` makes it
    OpenBLAS's somatcopy in float32 where NumPy's OpenBLAS is found, else a loop over 16 x 16
    tiles: NumPy's strided copy of a (4H, H) weight's transpose takes 0.3 ms at H = 256 and
    2.7 ms at H = 512, somatcopy 0.05 and 0.23 ms.)"""
    out[...] = a.T


def transpose(out, a):
    """``transpose_into`` as a compiled call of its own (``compiled.transposed``)."""
    transpose_into(out, a)


def lstm_columns_sequence_forward(pre, w_hh, h_all, c_all, tanh_c, recurrent, active):
    """The gate-major LSTM forward over all steps in one call: per step t the product
    W_hh h_t^T of the running columns [:active[t]] into ``recurrent`` (flat, 4H * B), then
    ``lstm_columns_forward``; finished columns carry their state."""
    steps, batch = h_all.shape[0] - 1, h_all.shape[1]
    width = pre.shape[0]
    for t in range(steps):
        n = active[t]
        product = recurrent[:width * n].reshape((width, n))
        recurrent_product(product, w_hh, h_all[t], n)
        lstm_columns_forward(pre, t, product, c_all, tanh_c, h_all, n)
        for b in range(n, batch):
            h_all[t + 1, b] = h_all[t, b]
            c_all[t + 1, :, b] = c_all[t, :, b]


def lstm_columns_sequence_backward(d_all, w_hh_t, c_all, tanh_c, grad_steps, add_output,
                                   active, dh, dc):
    """The gate-major LSTM backward over all steps in one call: per step t (last first)
    ``lstm_columns_backward``, zero dL/d(pre-activations) for finished columns, then
    dL/dh_{t-1} = W_hh^T d_t for the running ones."""
    steps, batch = tanh_c.shape[0], dh.shape[1]
    for t in range(steps - 1, -1, -1):
        n = active[t]
        lstm_columns_backward(d_all, t, tanh_c, c_all, grad_steps, add_output, dh, dc, n)
        for b in range(n, batch):
            d_all[:, t, b] = 0
        recurrent_product_back(dh, w_hh_t, d_all, t, n)


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


# the helpers are called by the loops (and, compiled, inlined into them)
HELPERS = (add_product, lstm_cell_row, lstm_gate_gradients, lstm_cell_backward,
           lstm_gates_forward, lstm_gates_backward)
# loops that call OpenBLAS: compiled only where compiled.numpy_openblas finds it
BLAS_LOOPS = (lstm_columns_sequence_forward, lstm_columns_sequence_backward)
LOOPS = (transpose, lstm_cell_update, lstm_step_forward, lstm_backward, lstm_sequence_forward,
         lstm_sequence_backward, lstm_columns_forward, lstm_columns_backward, gru_add_recurrent,
         gru_candidate, gru_mix, gru_backward)


# ----- how numba compiles the loops (here, so that numba's cache of the loops notices an edit
# to it: it checks the loops' own source file, not the options it was compiled with) --------
# error_model="numpy": a division needs no zero check, so the rational tanh vectorises.
# fastmath={"contract"} and nothing more: each a * b + c may become one fused multiply-add,
# rounded once instead of twice (the LSTM's forward gate step 20 % faster at H = 256, B = 16;
# the rational tanh then checked over every float32 in [0, 9]: within 3.1e-7 of tanh, never
# above 1); no flag that assumes away NaN or infinity or reorders a sum.
NUMBA_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
# NumPy's OpenBLAS, called from the compiled loops: its C interface under the names of NumPy's
# wheels (64-bit integers: ILP64), for float32 and float64.
GEMM_SYMBOLS = {"float32": "scipy_cblas_sgemm64_", "float64": "scipy_cblas_dgemm64_"}
TRANSPOSE_SYMBOL = "scipy_cblas_somatcopy64_"  # float32 only: its float64 twin is slower here
ROW_MAJOR, PLAIN, TRANSPOSED = 101, 111, 112  # CBLAS_ORDER, CBLAS_TRANSPOSE


def register_overloads(numba, overload, options, blas: bool) -> bool:
    """Give numba its implementations of ``tanh_scalar`` (by type), of ``transpose_into``
    (OpenBLAS's somatcopy for float32 when ``blas``, else tiles) and, when ``blas`` (the library
    of ``GEMM_SYMBOLS`` loaded, ``compiled.numba_steps``), of ``recurrent_product`` and
    ``recurrent_product_back`` as direct calls of that gemm, declared by symbol name so that the
    compiled code can be cached. Returns ``blas``."""

    # the options that shape an implementation's arithmetic (overload reads jit_options only)
    arithmetic = {key: options[key] for key in ("error_model", "fastmath")}

    def check(*arrays):  # raw pointers with hand-made leading dimensions: C order only
        if any(array.layout != "C" for array in arrays):
            raise numba.core.errors.TypingError("the OpenBLAS calls take C-ordered arrays")

    @overload(tanh_scalar, jit_options=arithmetic)
    def typed_tanh(x):  # the implementation for x's type, chosen when compiling
        if x == numba.float32:
            return rational_tanh32
        return lambda x: math.tanh(x)
    types = numba.types
    omatcopy = types.ExternalFunction(TRANSPOSE_SYMBOL, types.void(
        types.int32, types.int32, types.int64, types.int64, types.float32, types.intp,
        types.int64, types.intp, types.int64))

    @overload(transpose_into, jit_options=arithmetic)
    def typed_transpose(out, a):
        check(out, a)
        if blas and a.dtype == numba.float32:
            def by_blas(out, a):
                rows, columns = a.shape
                omatcopy(np.int32(ROW_MAJOR), np.int32(TRANSPOSED), rows, columns,
                         np.float32(1), a.ctypes.data, max(columns, 1), out.ctypes.data,
                         max(rows, 1))
            return by_blas

        def by_tiles(out, a):  # 16 x 16 tiles: each stays in cache while it is read and written
            rows, columns = a.shape
            for i0 in range(0, rows, 16):
                for j0 in range(0, columns, 16):
                    for j in range(j0, min(j0 + 16, columns)):
                        out_row = out[j]
                        for i in range(i0, min(i0 + 16, rows)):
                            out_row[i] = a[i, j]
        return by_tiles
    if not blas:
        return False
    gemm = {getattr(types, name): types.ExternalFunction(symbol, types.void(
        types.int32, types.int32, types.int32, types.int64, types.int64, types.int64,
        getattr(types, name), types.intp, types.int64, types.intp, types.int64,
        getattr(types, name), types.intp, types.int64)) for name, symbol in GEMM_SYMBOLS.items()}

    @overload(recurrent_product, jit_options=arithmetic)
    def typed_product(out, w, rows, n):
        check(out, w, rows)
        call = gemm[out.dtype]

        def product(out, w, rows, n):  # out (m, n) = w (m, k) @ rows[:n]^T
            m, k = w.shape
            one, zero = out.dtype.type(1), out.dtype.type(0)
            call(np.int32(ROW_MAJOR), np.int32(PLAIN), np.int32(TRANSPOSED), m, n, k, one,
                 w.ctypes.data, k, rows.ctypes.data, rows.shape[1], zero, out.ctypes.data,
                 max(n, 1))
        return product

    @overload(recurrent_product_back, jit_options=arithmetic)
    def typed_product_back(dh, w_t, d_all, t, n):
        check(dh, w_t, d_all)
        call = gemm[dh.dtype]

        def product_back(dh, w_t, d_all, t, n):  # dh[:, :n] = w_t @ d_all[:, t, :n]
            hidden, width = w_t.shape
            steps, batch = d_all.shape[1], d_all.shape[2]
            one, zero = dh.dtype.type(1), dh.dtype.type(0)
            block = d_all.ctypes.data + t * batch * d_all.itemsize
            call(np.int32(ROW_MAJOR), np.int32(PLAIN), np.int32(PLAIN), hidden, n, width, one,
                 w_t.ctypes.data, width, block, steps * batch, zero, dh.ctypes.data,
                 dh.shape[1])
        return product_back
    return True
