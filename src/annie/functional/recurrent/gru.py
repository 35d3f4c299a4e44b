"""The GRU over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
    h' = (1 - z) * n + z * h

The input projection of all steps is one matrix product; each step does one product with W_hh
and a few in-place NumPy calls into preallocated buffers. sigmoid(a) = (1 + tanh(a / 2)) / 2,
with the halving folded into a copy of the r and z weights. The backward pass stores
dL/d(pre-activations) for every step and forms the weight gradients with one product each.
"""
from __future__ import annotations

import numpy as np

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

        half = np.ones((3 * H, 1), dtype=dtype)
        half[:2 * H] = 0.5  # the sigmoid gates r, z see a / 2
        x_k = np.ascontiguousarray(layout.to_kernel(x)).reshape(steps * batch, -1)
        gates = (x_k @ (weight_ih * half).T).reshape(steps, batch, 3 * H)
        if bias_ih is not None:
            gates += bias_ih * half[:, 0]
        w_hh_scaled_t = np.ascontiguousarray((weight_hh * half).T)
        bias_hh_scaled = None if bias_hh is None else bias_hh * half[:, 0]

        h_all = np.empty((steps + 1, batch, H), dtype=dtype)
        h_all[0] = layout.batch_to_kernel(h0)
        hidden_part = (np.zeros if layout.padded else np.empty)((steps, batch, 3 * H), dtype=dtype)
        scratch = np.empty((batch, H), dtype=dtype)
        for t in range(steps):
            n_active = layout.active[t]
            gate, recurrent, h = gates[t, :n_active], hidden_part[t, :n_active], h_all[t, :n_active]
            np.matmul(h, w_hh_scaled_t, out=recurrent)
            if bias_hh_scaled is not None:
                recurrent += bias_hh_scaled
            reset_update = gate[:, :2 * H]
            reset_update += recurrent[:, :2 * H]
            np.tanh(reset_update, out=reset_update)
            reset_update *= 0.5
            reset_update += 0.5
            r, z, candidate = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:]
            tmp = scratch[:n_active]
            np.multiply(r, recurrent[:, 2 * H:], out=tmp)
            candidate += tmp
            np.tanh(candidate, out=candidate)
            np.subtract(h, candidate, out=tmp)
            tmp *= z
            np.add(candidate, tmp, out=h_all[t + 1, :n_active])
            if n_active < batch:  # finished sequences carry their last state
                h_all[t + 1, n_active:] = h_all[t, n_active:]

        if any(ctx.needs_input_grad) and is_grad_enabled():
            ctx.layout, ctx.x_k, ctx.weight_ih, ctx.weight_hh = layout, x_k, weight_ih, weight_hh
            ctx.gates, ctx.hidden_part, ctx.h_all = gates, hidden_part, h_all
            ctx.has_bias = (bias_ih is not None, bias_hh is not None)
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        h_n = layout.batch_from_kernel(h_all[steps].copy())
        return output, h_n

    def backward(ctx, grad_output, grad_h_n):
        layout, gates, h_all = ctx.layout, ctx.gates, ctx.h_all
        steps, batch, three_hidden = gates.shape
        H = three_hidden // 3
        dtype = gates.dtype
        r, z, candidate = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
        hidden_n = ctx.hidden_part[..., 2 * H:]  # W_hn h + b_hn (the n rows are not halved)
        # dL/d(pre-activations) as (gradient reaching h') * factor:
        to_candidate = (1 - z) * (1 - candidate * candidate)      # d h'/d(n pre-activation)
        to_update = (h_all[:-1] - candidate) * z * (1 - z)        # d h'/d(z pre-activation)
        to_reset = hidden_n * r * (1 - r)                         # d(n pre)/d(r pre)

        grad_out_k = None if grad_output is None else layout.to_kernel(grad_output)
        dh = (np.zeros((batch, H), dtype=dtype) if grad_h_n is None
              else np.array(layout.batch_to_kernel(grad_h_n), dtype=dtype))
        zeros_or_empty = np.zeros if layout.padded else np.empty
        d_hidden = zeros_or_empty((steps, batch, 3 * H), dtype=dtype)  # d(W_hh h + b_hh)
        d_candidate = zeros_or_empty((steps, batch, H), dtype=dtype)   # d(n pre-activation)
        carry = np.empty((batch, H), dtype=dtype)
        w_hh = ctx.weight_hh
        for t in range(steps - 1, -1, -1):
            n_active = layout.active[t]
            dh_t = dh[:n_active]
            if grad_out_k is not None:
                dh_t += grad_out_k[t, :n_active]
            dn = d_candidate[t, :n_active]
            np.multiply(dh_t, to_candidate[t, :n_active], out=dn)
            np.multiply(dh_t, to_update[t, :n_active], out=d_hidden[t, :n_active, H:2 * H])
            np.multiply(dn, to_reset[t, :n_active], out=d_hidden[t, :n_active, :H])
            np.multiply(dn, r[t, :n_active], out=d_hidden[t, :n_active, 2 * H:])
            np.multiply(dh_t, z[t, :n_active], out=carry[:n_active])
            np.matmul(d_hidden[t, :n_active], w_hh, out=dh_t)
            dh_t += carry[:n_active]

        needs = ctx.needs_input_grad
        d_input = d_hidden.copy()  # d(W_ih x + b_ih): same r, z parts, n part is d_candidate
        d_input[..., 2 * H:] = d_candidate
        d_input_flat = d_input.reshape(steps * batch, 3 * H)
        d_hidden_flat = d_hidden.reshape(steps * batch, 3 * H)
        grad_x = grad_h0 = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_x = layout.from_kernel((d_input_flat @ ctx.weight_ih).reshape(steps, batch, -1))
        if needs[1]:
            grad_h0 = layout.batch_from_kernel(dh)
        if needs[2]:
            grad_w_ih = d_input_flat.T @ ctx.x_k
        if needs[3]:
            grad_w_hh = d_hidden_flat.T @ h_all[:-1].reshape(steps * batch, H)
        if ctx.has_bias[0] and needs[4]:
            grad_b_ih = d_input_flat.sum(axis=0)
        if ctx.has_bias[1] and needs[5]:
            grad_b_hh = d_hidden_flat.sum(axis=0)
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def gru(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
        reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One GRU layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden)); ``lengths`` skips each sequence's padding, ``reverse`` runs from each
    sequence's last real step back to its first."""
    return GRUSequence.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, lengths=lengths,
                             reverse=reverse)
