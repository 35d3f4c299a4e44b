"""The LSTM over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order i, f, g, o):
    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate cell
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
    c' = f * c + i * g,   h' = o * tanh(c')

Speed: the input projection of all steps is one (batched) matrix product; the loop does one
product with W_hh and a few in-place NumPy calls per step into preallocated buffers. Gates are
stored gate-major, ``gates[k, t]`` a contiguous (batch, hidden) block, so every elementwise call
runs over contiguous memory; the blocks are in the order o, i, f, g so the three sigmoid gates
are one slice, and sigmoid(a) = (1 + tanh(a / 2)) / 2 with the halving folded into a copy of
their weights, so a single tanh covers all four gates. The backward pass computes
dL/d(pre-activations) step by step while the step's values are in cache, writing them over the
step's gate activations, and then forms dW_ih, dW_hh and the biases' gradients with one
(batched) matrix product each over all steps.
"""
from __future__ import annotations

import numpy as np

from ...errors import AnnieError, ShapeError
from ...tensor import Function, Tensor, is_grad_enabled
from .layout import SequenceLayout, check_inputs, check_lengths, gate_rows, scatter_rows

KERNEL_GATE_ORDER = [3, 0, 1, 2]  # o, i, f, g as blocks of PyTorch's i, f, g, o


class LSTMSequence(Function):
    """(output, h_n, c_n) = LSTM over x of shape (time, batch, input_size), time-major."""

    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                lengths=None, reverse=False):
        check_inputs("lstm", x, h0, weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
        steps, batch, _ = x.shape
        hidden = weight_hh.shape[1]
        if c0.shape != h0.shape or c0.dtype != x.dtype:
            raise ShapeError(f"lstm: c0 must match h0 (shape {h0.shape}, dtype {h0.dtype}), "
                             f"got shape {c0.shape}, dtype {c0.dtype}")
        lengths = check_lengths(lengths, steps, batch, "lstm")
        layout = SequenceLayout(steps, batch, lengths, reverse)
        dtype = x.dtype

        rows = gate_rows(KERNEL_GATE_ORDER, hidden)
        H = hidden
        w_ih = weight_ih[rows].reshape(4, H, -1)   # (gate, hidden, input), kernel gate order
        w_hh = weight_hh[rows].reshape(4, H, H)
        half = np.array([0.5, 0.5, 0.5, 1.0], dtype=dtype)[:, None, None]  # o, i, f see a / 2
        x_k = np.ascontiguousarray(layout.to_kernel(x)).reshape(steps * batch, -1)
        # gates[k, t] is gate k's (batch, hidden) block at step t: every slice below is contiguous
        gates = np.matmul(x_k, (w_ih * half).transpose(0, 2, 1)).reshape(4, steps, batch, H)
        bias = None
        if bias_ih is not None or bias_hh is not None:
            bias = np.zeros(4 * H, dtype=dtype)
            for b in (bias_ih, bias_hh):
                if b is not None:
                    bias += b[rows]
            bias *= np.repeat(half.ravel(), H)  # added per step, while the step is in cache
        # one matrix product per step (h @ [W_o; W_i; W_f; W_g]^T), read gate-major afterwards
        w_hh_scaled_t = np.ascontiguousarray((w_hh * half).reshape(4 * H, H).T)

        h_all = np.empty((steps + 1, batch, H), dtype=dtype)
        c_all = np.empty((steps + 1, batch, H), dtype=dtype)
        tanh_c = np.empty((batch, H), dtype=dtype)  # recomputed in backward: less memory
        h_all[0] = layout.batch_to_kernel(h0)
        c_all[0] = layout.batch_to_kernel(c0)
        recurrent = np.empty((batch, 4 * H), dtype=dtype)
        product = np.empty((batch, H), dtype=dtype)
        for t in range(steps):
            n = layout.active[t]
            gate, extra = gates[:, t, :n], recurrent[:n]
            np.matmul(h_all[t, :n], w_hh_scaled_t, out=extra)
            if bias is not None:
                extra += bias
            gate += extra.reshape(n, 4, H).transpose(1, 0, 2)
            np.tanh(gate, out=gate)
            sigmoid_part = gate[:3]
            sigmoid_part *= 0.5
            sigmoid_part += 0.5
            o, i, f, g = gate
            c_new = c_all[t + 1, :n]
            np.multiply(f, c_all[t, :n], out=c_new)
            np.multiply(i, g, out=product[:n])
            c_new += product[:n]
            np.tanh(c_new, out=tanh_c[:n])
            np.multiply(o, tanh_c[:n], out=h_all[t + 1, :n])
            if n < batch:  # finished sequences carry their last state
                h_all[t + 1, n:] = h_all[t, n:]
                c_all[t + 1, n:] = c_all[t, n:]

        if any(ctx.needs_input_grad) and is_grad_enabled():
            ctx.layout, ctx.rows, ctx.x_k = layout, rows, x_k
            ctx.w_ih, ctx.w_hh = w_ih, w_hh
            ctx.gates, ctx.h_all, ctx.c_all = gates, h_all, c_all
            ctx.has_bias = (bias_ih is not None, bias_hh is not None)
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        h_n = layout.batch_from_kernel(h_all[steps].copy())
        c_n = layout.batch_from_kernel(c_all[steps].copy())
        return output, h_n, c_n

    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        if ctx.gates is None:
            raise AnnieError("lstm: backward through the same LSTM output a second time; its "
                             "buffers were reused by the first backward, so run forward again")
        layout, gates, h_all, c_all = ctx.layout, ctx.gates, ctx.h_all, ctx.c_all
        ctx.gates = None
        _, steps, batch, H = gates.shape
        dtype = gates.dtype
        grad_out_k = None if grad_output is None else layout.to_kernel(grad_output)
        dh = (np.zeros((batch, H), dtype=dtype) if grad_h_n is None
              else np.array(layout.batch_to_kernel(grad_h_n), dtype=dtype))
        dc = (np.zeros((batch, H), dtype=dtype) if grad_c_n is None
              else np.array(layout.batch_to_kernel(grad_c_n), dtype=dtype))
        dc_previous = np.empty_like(dc)
        scratch = np.empty((batch, H), dtype=dtype)
        tanh_c = np.empty((batch, H), dtype=dtype)
        sigmoid_slope = np.empty((3, batch, H), dtype=dtype)
        d_rows = np.empty((batch, 4 * H), dtype=dtype)
        w_hh = ctx.w_hh.reshape(4 * H, H)
        # dL/d(pre-activation) of each gate = (gradient reaching the gate's output) * (its
        # partner in the product) * (its activation's slope). Step t's values overwrite the
        # gate activations of step t (no longer needed), so the work stays in cache.
        for t in range(steps - 1, -1, -1):
            n = layout.active[t]
            gate, tmp = gates[:, t, :n], scratch[:n]
            o, i, f, g = gate
            dh_t, dc_t, tanh_ct = dh[:n], dc[:n], tanh_c[:n]
            if grad_out_k is not None:
                dh_t += grad_out_k[t, :n]
            np.tanh(c_all[t + 1, :n], out=tanh_ct)
            np.multiply(tanh_ct, tanh_ct, out=tmp)      # dc += dh * o * (1 - tanh(c')^2)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh_t
            dc_t += tmp
            slope = sigmoid_slope[:, :n]                # sigmoid' = s (1 - s) for o, i, f
            np.subtract(1, gate[:3], out=slope)
            slope *= gate[:3]
            np.multiply(g, g, out=tmp)                  # d_g = dc * i * (1 - g^2)
            np.subtract(1, tmp, out=tmp)
            tmp *= i
            tmp *= dc_t
            np.multiply(dh_t, tanh_ct, out=o)           # d_o (before slope) = dh * tanh(c')
            np.multiply(dc_t, g, out=i)                 # d_i = dc * g
            np.multiply(dc_t, f, out=dc_previous[:n])   # dL/dc_{t-1} = dc * f
            np.multiply(dc_t, c_all[t, :n], out=f)      # d_f = dc * c_{t-1}
            g[...] = tmp
            gate[:3] *= slope
            np.copyto(d_rows[:n].reshape(n, 4, H).transpose(1, 0, 2), gate)
            np.matmul(d_rows[:n], w_hh, out=dh_t)       # dL/dh_{t-1} = [d_o d_i d_f d_g] W_hh
            dc_t[...] = dc_previous[:n]
        if layout.padded:
            for t, n in enumerate(layout.active):
                gates[:, t, n:] = 0
        d_pre = gates.reshape(4, steps * batch, H)  # dL/d(pre-activations), kernel gate order
        d_pre_t = d_pre.transpose(0, 2, 1)

        needs = ctx.needs_input_grad
        rows = ctx.rows
        grad_x = grad_h0 = grad_c0 = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_x_k = np.matmul(d_pre, ctx.w_ih).sum(axis=0)
            grad_x = layout.from_kernel(grad_x_k.reshape(steps, batch, -1))
        if needs[1]:
            grad_h0 = layout.batch_from_kernel(dh)
        if needs[2]:
            grad_c0 = layout.batch_from_kernel(dc)
        if needs[3]:
            grad_w_ih = scatter_rows(np.matmul(d_pre_t, ctx.x_k).reshape(4 * H, -1), rows)
        if needs[4]:
            h_previous = h_all[:-1].reshape(steps * batch, H)
            grad_w_hh = scatter_rows(np.matmul(d_pre_t, h_previous).reshape(4 * H, H), rows)
        if (ctx.has_bias[0] and needs[5]) or (ctx.has_bias[1] and needs[6]):
            grad_bias = scatter_rows(d_pre.sum(axis=1).reshape(4 * H), rows)
            grad_b_ih = grad_bias if ctx.has_bias[0] and needs[5] else None
            grad_b_hh = grad_bias.copy() if ctx.has_bias[1] and needs[6] else None
        return grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def lstm(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
         reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden), c_n (batch, hidden)); ``lengths`` skips each sequence's padding,
    ``reverse`` runs from each sequence's last real step back to its first."""
    return LSTMSequence.apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                              lengths=lengths, reverse=reverse)
