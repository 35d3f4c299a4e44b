"""The LSTM over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order i, f, g, o):
    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate cell
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
    c' = f * c + i * g,   h' = o * tanh(c')

Speed: the input projection of all steps, biases included, is one matrix product (the input
gets a column of ones, the weights a row holding the biases), stored time-major as
``pre[t]`` of shape (batch, 4*hidden), so the loop adds each step's recurrent product
h @ W_hh^T contiguously. Step t then writes its gate activations over pre[t], gate-major:
``gates[t, k]`` is a contiguous (batch, hidden) block, so the cell update runs over contiguous
memory; the blocks are in the order o, i, f, g so the three sigmoid gates are one slice, and
sigmoid(a) = (1 + tanh(a / 2)) / 2 with the halving folded into a copy of their weights, so a
single tanh covers all four gates. tanh(c_t) is kept for the backward pass. The backward pass
computes dL/d(pre-activations) step by step while the step's values are in cache and writes
them over the step's gate activations as a (batch, 4*hidden) block, so it ends holding a
time-major (time*batch, 4*hidden) matrix: dW_ih with the biases' gradient (the column of ones),
dW_hh and dL/dx are one matrix product each over all steps.
The large internal arrays (pre-activations, cell states, tanh(c)) go back to the caller's
workspace (a ScratchPool; nn.LSTM owns one) after backward and are reused by the next call of
the same shape: fresh memory costs a page fault per 4 KiB on first write, as much as the
arithmetic at these sizes.
"""
from __future__ import annotations

import numpy as np

from ...errors import AnnieError, ShapeError
from ...tensor import Function, Tensor, is_grad_enabled
from .layout import (ScratchPool, SequenceLayout, check_inputs, check_lengths, gate_rows,
                     scatter_rows)

KERNEL_GATE_ORDER = [3, 0, 1, 2]  # o, i, f, g as blocks of PyTorch's i, f, g, o
NO_POOL = ScratchPool(per_shape=0, shapes=0)  # without a workspace: fresh arrays, none kept


class LSTMSequence(Function):
    """(output, h_n, c_n) = LSTM over x of shape (time, batch, input_size), time-major."""

    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                lengths=None, reverse=False, workspace=None):
        pool = workspace if workspace is not None else NO_POOL
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
        w_ih, w_hh = weight_ih[rows], weight_hh[rows]  # (4H, input), (4H, H), kernel gate order
        half = np.repeat(np.array([0.5, 0.5, 0.5, 1.0], dtype=dtype), H)[:, None]  # o, i, f: a/2
        has_bias = (bias_ih is not None, bias_hh is not None)
        inputs = x.shape[2] + (1 if any(has_bias) else 0)  # the column of ones carries the bias
        x_k = pool.take((steps, batch, inputs), dtype)
        x_k[:, :, :x.shape[2]] = layout.to_kernel(x)
        x_k = x_k.reshape(steps * batch, inputs)
        w_in = np.empty((inputs, 4 * H), dtype=dtype)  # [W_ih^T; b_ih + b_hh], halved for o, i, f
        w_in[:x.shape[2]] = (w_ih * half).T
        if any(has_bias):
            x_k[:, -1] = 1
            w_in[-1] = 0
            for b in (bias_ih, bias_hh):
                if b is not None:
                    w_in[-1] += b[rows]
            w_in[-1] *= half[:, 0]
        pre = pool.take((steps, batch, 4 * H), dtype)  # pre[t]: input part of step t
        np.matmul(x_k, w_in, out=pre.reshape(steps * batch, 4 * H))
        w_hh_scaled_t = np.ascontiguousarray((w_hh * half).T)     # (H, 4H)

        # step t writes its gate activations over pre[t], gate-major: gates[t, k] is gate k's
        # (batch, hidden) block, so every slice below is contiguous
        gates = pre.reshape(steps, 4, batch, H)
        h_all = np.empty((steps + 1, batch, H), dtype=dtype)
        c_all = pool.take((steps + 1, batch, H), dtype)
        tanh_c = pool.take((steps, batch, H), dtype)
        h_all[0] = layout.batch_to_kernel(h0)
        c_all[0] = layout.batch_to_kernel(c0)
        recurrent = np.empty((batch, 4 * H), dtype=dtype)
        product = np.empty((batch, H), dtype=dtype)
        for t in range(steps):
            n = layout.active[t]
            gate, step_pre = gates[t, :, :n], recurrent[:n]
            np.matmul(h_all[t, :n], w_hh_scaled_t, out=step_pre)
            step_pre += pre[t, :n]  # pre[t] is free from here on
            np.tanh(step_pre.reshape(n, 4, H).transpose(1, 0, 2), out=gate)
            sigmoid_part = gate[:3]
            sigmoid_part *= 0.5
            sigmoid_part += 0.5
            o, i, f, g = gate
            c_new, tanh_ct = c_all[t + 1, :n], tanh_c[t, :n]
            np.multiply(f, c_all[t, :n], out=c_new)
            np.multiply(i, g, out=product[:n])
            c_new += product[:n]
            np.tanh(c_new, out=tanh_ct)
            np.multiply(o, tanh_ct, out=h_all[t + 1, :n])
            if n < batch:  # finished sequences carry their last state
                h_all[t + 1, n:] = h_all[t, n:]
                c_all[t + 1, n:] = c_all[t, n:]

        saved = any(ctx.needs_input_grad) and is_grad_enabled()
        if saved:
            ctx.layout, ctx.rows, ctx.x_k = layout, rows, x_k
            ctx.w_ih, ctx.w_hh = w_ih, w_hh
            ctx.gates, ctx.h_all, ctx.c_all, ctx.tanh_c = gates, h_all, c_all, tanh_c
            ctx.pre = pre
            ctx.pool = pool
            ctx.has_bias = has_bias
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        h_n = layout.batch_from_kernel(h_all[steps].copy())
        c_n = layout.batch_from_kernel(c_all[steps].copy())
        if not saved:
            pool.give(x_k.reshape(steps, batch, inputs), pre, c_all, tanh_c)
        return output, h_n, c_n

    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        if ctx.gates is None:
            raise AnnieError("lstm: backward through the same LSTM output a second time; its "
                             "buffers were reused by the first backward, so run forward again")
        layout, gates, c_all, tanh_c = ctx.layout, ctx.gates, ctx.c_all, ctx.tanh_c
        ctx.gates = None
        steps, _, batch, H = gates.shape
        dtype = gates.dtype
        grad_out_k = None if grad_output is None else layout.to_kernel(grad_output)
        dh = (np.zeros((batch, H), dtype=dtype) if grad_h_n is None
              else np.array(layout.batch_to_kernel(grad_h_n), dtype=dtype))
        dc = (np.zeros((batch, H), dtype=dtype) if grad_c_n is None
              else np.array(layout.batch_to_kernel(grad_c_n), dtype=dtype))
        dc_previous = np.empty_like(dc)
        scratch = np.empty((batch, H), dtype=dtype)
        sigmoid_slope = np.empty((3, batch, H), dtype=dtype)
        d_gates = np.empty((4, batch, H), dtype=dtype)
        # d_pre[t] = dL/d(pre-activations) of step t, (batch, 4H) in kernel gate order, written
        # over step t's gate activations once they are used; finished sequences' rows are zero
        d_pre = gates.reshape(steps, batch, 4 * H)
        w_hh = ctx.w_hh
        # dL/d(pre-activation) of each gate = (gradient reaching the gate's output) * (its
        # partner in the product) * (its activation's slope).
        for t in range(steps - 1, -1, -1):
            n = layout.active[t]
            gate, tmp, d_step = gates[t, :, :n], scratch[:n], d_gates[:, :n]
            o, i, f, g = gate
            dh_t, dc_t, tanh_ct = dh[:n], dc[:n], tanh_c[t, :n]
            if grad_out_k is not None:
                dh_t += grad_out_k[t, :n]
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
            np.multiply(tmp, dc_t, out=d_step[3])
            np.multiply(dh_t, tanh_ct, out=o)           # d_o (before slope) = dh * tanh(c')
            np.multiply(dc_t, g, out=i)                 # d_i = dc * g
            np.multiply(dc_t, f, out=dc_previous[:n])   # dL/dc_{t-1} = dc * f
            np.multiply(dc_t, c_all[t, :n], out=f)      # d_f = dc * c_{t-1}
            np.multiply(gate[:3], slope, out=d_step[:3])
            np.copyto(d_pre[t, :n].reshape(n, 4, H).transpose(1, 0, 2), d_step)
            if n < batch:
                d_pre[t, n:] = 0
            np.matmul(d_pre[t, :n], w_hh, out=dh_t)     # dL/dh_{t-1} = [d_o d_i d_f d_g] W_hh
            if n < batch:  # finished sequences keep their gradient until their last step
                dc_previous[n:] = dc[n:]
            dc, dc_previous = dc_previous, dc
        d_pre = d_pre.reshape(steps * batch, 4 * H)
        d_pre_t = d_pre.T

        needs = ctx.needs_input_grad
        rows, has_bias = ctx.rows, ctx.has_bias
        grad_x = grad_h0 = grad_c0 = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_x_k = np.matmul(d_pre, ctx.w_ih)
            grad_x = layout.from_kernel(grad_x_k.reshape(steps, batch, -1))
        if needs[1]:
            grad_h0 = layout.batch_from_kernel(dh)
        if needs[2]:
            grad_c0 = layout.batch_from_kernel(dc)
        wants_bias = (has_bias[0] and needs[5]) or (has_bias[1] and needs[6])
        if needs[3] or wants_bias:  # the column of ones in x_k gives the biases' gradient
            grad_in = np.matmul(d_pre_t, ctx.x_k)
            if needs[3]:
                grad_w_ih = scatter_rows(grad_in[:, :ctx.w_ih.shape[1]], rows)
            if wants_bias:
                grad_bias = scatter_rows(grad_in[:, -1], rows)
                grad_b_ih = grad_bias if has_bias[0] and needs[5] else None
                grad_b_hh = grad_bias.copy() if has_bias[1] and needs[6] else None
        if needs[4]:
            h_previous = ctx.h_all[:-1].reshape(steps * batch, H)
            grad_w_hh = scatter_rows(np.matmul(d_pre_t, h_previous), rows)
        ctx.pool.give(ctx.x_k.reshape(steps, batch, -1), ctx.pre, c_all, tanh_c)
        ctx.x_k = ctx.pre = ctx.c_all = ctx.tanh_c = None
        return grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def lstm(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
         reverse: bool = False, workspace: ScratchPool | None = None
         ) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden), c_n (batch, hidden)); ``lengths`` skips each sequence's padding,
    ``reverse`` runs from each sequence's last real step back to its first. A ``workspace``
    (a ScratchPool the caller owns, as nn.LSTM does) lends the large internal arrays and takes
    them back after backward, so repeated calls reuse memory instead of faulting fresh pages."""
    return LSTMSequence.apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                              lengths=lengths, reverse=reverse, workspace=workspace)
