"""The GRU over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
    h' = (1 - z) * n + z * h

The input projection of all steps is one (batched) matrix product; each step does one product
with W_hh and a few in-place NumPy calls into preallocated buffers. Gates are stored gate-major
(``gates[k, t]`` a contiguous (batch, hidden) block), and sigmoid(a) = (1 + tanh(a / 2)) / 2 with
the halving folded into a copy of the r and z weights. The backward pass computes
dL/d(pre-activations) step by step while the step is in cache, writing them over the step's gate
activations, and forms the weight gradients with one (batched) product each over all steps.
"""
from __future__ import annotations

import numpy as np

from ...errors import AnnieError
from ...tensor import Function, Tensor, is_grad_enabled
from .layout import SequenceLayout, check_inputs, check_lengths


class GRUSequence(Function):
    """(output, h_n) = GRU over x of shape (time, batch, input_size), time-major."""

    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
                reverse=False):
        check_inputs("gru", x, h0, weight_ih, weight_hh, bias_ih, bias_hh, gates=3)
        steps, batch, _ = x.shape
        H = weight_hh.shape[1]
        lengths = check_lengths(lengths, steps, batch, "gru")
        layout = SequenceLayout(steps, batch, lengths, reverse)
        dtype = x.dtype

        half = np.array([0.5, 0.5, 1.0], dtype=dtype)[:, None, None]  # r, z see a / 2
        w_ih = weight_ih.reshape(3, H, -1)   # (gate, hidden, input)
        w_hh = weight_hh.reshape(3, H, H)
        x_k = np.ascontiguousarray(layout.to_kernel(x)).reshape(steps * batch, -1)
        # gates[k, t] is gate k's (batch, hidden) block at step t: every slice below is contiguous
        gates = np.matmul(x_k, (w_ih * half).transpose(0, 2, 1)).reshape(3, steps, batch, H)
        if bias_ih is not None:
            gates += (bias_ih.reshape(3, 1, 1, H) * half[:, :, :, None])
        # one matrix product per step (h @ [W_hr; W_hz; W_hn]^T), read gate-major afterwards
        w_hh_scaled_t = np.ascontiguousarray((w_hh * half).reshape(3 * H, H).T)
        bias_hh_scaled = None if bias_hh is None else bias_hh * np.repeat(half.ravel(), H)

        h_all = np.empty((steps + 1, batch, H), dtype=dtype)
        h_all[0] = layout.batch_to_kernel(h0)
        hidden_n = (np.zeros if layout.padded else np.empty)((steps, batch, H), dtype=dtype)
        recurrent = np.empty((batch, 3 * H), dtype=dtype)
        scratch = np.empty((batch, H), dtype=dtype)
        for t in range(steps):
            n_active = layout.active[t]
            gate, extra, h = gates[:, t, :n_active], recurrent[:n_active], h_all[t, :n_active]
            np.matmul(h, w_hh_scaled_t, out=extra)
            if bias_hh_scaled is not None:
                extra += bias_hh_scaled
            hidden = hidden_n[t, :n_active]
            hidden[...] = extra[:, 2 * H:]                # W_hn h + b_hn, kept for backward
            reset_update = gate[:2]
            reset_update += extra[:, :2 * H].reshape(n_active, 2, H).transpose(1, 0, 2)
            np.tanh(reset_update, out=reset_update)
            reset_update *= 0.5
            reset_update += 0.5
            r, z, candidate = gate
            tmp = scratch[:n_active]
            np.multiply(r, hidden, out=tmp)
            candidate += tmp
            np.tanh(candidate, out=candidate)
            np.subtract(h, candidate, out=tmp)
            tmp *= z
            np.add(candidate, tmp, out=h_all[t + 1, :n_active])
            if n_active < batch:  # finished sequences carry their last state
                h_all[t + 1, n_active:] = h_all[t, n_active:]

        if any(ctx.needs_input_grad) and is_grad_enabled():
            ctx.layout, ctx.x_k, ctx.w_ih, ctx.w_hh = layout, x_k, w_ih, w_hh
            ctx.gates, ctx.hidden_n, ctx.h_all = gates, hidden_n, h_all
            ctx.has_bias = (bias_ih is not None, bias_hh is not None)
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        h_n = layout.batch_from_kernel(h_all[steps].copy())
        return output, h_n

    def backward(ctx, grad_output, grad_h_n):
        if ctx.gates is None:
            raise AnnieError("gru: backward through the same GRU output a second time; its "
                             "buffers were reused by the first backward, so run forward again")
        layout, gates, h_all, hidden_n = ctx.layout, ctx.gates, ctx.h_all, ctx.hidden_n
        ctx.gates = None
        _, steps, batch, H = gates.shape
        dtype = gates.dtype
        grad_out_k = None if grad_output is None else layout.to_kernel(grad_output)
        dh = (np.zeros((batch, H), dtype=dtype) if grad_h_n is None
              else np.array(layout.batch_to_kernel(grad_h_n), dtype=dtype))
        d_hidden_n = (np.zeros if layout.padded else np.empty)((steps, batch, H), dtype=dtype)
        one_minus_z, factor, carry = (np.empty((batch, H), dtype=dtype) for _ in range(3))
        d_rows = np.empty((batch, 3 * H), dtype=dtype)  # d(W_hh h + b_hh) of one step
        w_hh = ctx.w_hh.reshape(3 * H, H)
        # Step t's dL/d(pre-activations) overwrite its gate activations (no longer needed):
        # gates[:, t] becomes (d r_pre, d z_pre, d n_pre) and d_hidden_n[t] = d(W_hn h + b_hn).
        for t in range(steps - 1, -1, -1):
            n = layout.active[t]
            gate, dh_t = gates[:, t, :n], dh[:n]
            r, z, candidate = gate
            a, b = one_minus_z[:n], factor[:n]
            if grad_out_k is not None:
                dh_t += grad_out_k[t, :n]
            np.multiply(dh_t, z, out=carry[:n])          # h' = n + z (h - n): dh' z reaches h
            np.subtract(1, z, out=a)
            np.subtract(h_all[t, :n], candidate, out=b)  # d z_pre = dh (h - n) z (1 - z)
            b *= dh_t
            b *= a
            z *= b
            np.multiply(candidate, candidate, out=b)     # d n_pre = dh (1 - z) (1 - n^2)
            np.subtract(1, b, out=b)
            b *= a
            np.multiply(b, dh_t, out=candidate)
            np.multiply(candidate, r, out=d_hidden_n[t, :n])
            np.subtract(1, r, out=a)           # d r_pre = d n_pre (W_hn h + b_hn) r (1 - r)
            a *= r
            a *= hidden_n[t, :n]
            np.multiply(a, candidate, out=r)
            np.copyto(d_rows[:n, :2 * H].reshape(n, 2, H).transpose(1, 0, 2), gate[:2])
            d_rows[:n, 2 * H:] = d_hidden_n[t, :n]
            np.matmul(d_rows[:n], w_hh, out=dh_t)
            dh_t += carry[:n]
        if layout.padded:
            for t, n in enumerate(layout.active):
                gates[:, t, n:] = 0
        d_input = gates.reshape(3, steps * batch, H)     # d(W_ih x + b_ih), per gate
        d_hidden_n = d_hidden_n.reshape(steps * batch, H)

        needs = ctx.needs_input_grad
        grad_x = grad_h0 = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_x_k = np.matmul(d_input, ctx.w_ih).sum(axis=0)
            grad_x = layout.from_kernel(grad_x_k.reshape(steps, batch, -1))
        if needs[1]:
            grad_h0 = layout.batch_from_kernel(dh)
        if needs[2]:
            grad_w_ih = np.matmul(d_input.transpose(0, 2, 1), ctx.x_k).reshape(3 * H, -1)
        if needs[3]:
            h_previous = h_all[:-1].reshape(steps * batch, H)
            grad_w_hh = np.empty((3, H, H), dtype=dtype)
            np.matmul(d_input[:2].transpose(0, 2, 1), h_previous, out=grad_w_hh[:2])
            np.matmul(d_hidden_n.T, h_previous, out=grad_w_hh[2])
            grad_w_hh = grad_w_hh.reshape(3 * H, H)
        if ctx.has_bias[0] and needs[4]:
            grad_b_ih = d_input.sum(axis=1).reshape(3 * H)
        if ctx.has_bias[1] and needs[5]:
            grad_b_hh = np.concatenate([d_input[:2].sum(axis=1).reshape(2 * H),
                                        d_hidden_n.sum(axis=0)])
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def gru(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
        reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One GRU layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden)); ``lengths`` skips each sequence's padding, ``reverse`` runs from each
    sequence's last real step back to its first."""
    return GRUSequence.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, lengths=lengths,
                             reverse=reverse)
