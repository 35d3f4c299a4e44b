"""The Elman RNN over a whole sequence as one differentiable op, with backpropagation through
time written by hand.

Per step:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)   (or relu instead of tanh)

The input projection of all steps is one matrix product written straight into the state buffer;
each step adds h W_hh^T and applies the nonlinearity in place (three NumPy calls). Backward:
dL/da_t = (dL/dh_t) * f'(a_t), dL/dh_{t-1} = (dL/da_t) W_hh, and the weight gradients are one
matrix product each over all steps.
"""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...tensor import Function, Tensor, is_grad_enabled
from .layout import SequenceLayout, check_inputs, check_lengths

NONLINEARITIES = ("tanh", "relu")


class RNNSequence(Function):
    """(output, h_n) = Elman RNN over x of shape (time, batch, input_size), time-major."""

    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
                reverse=False, nonlinearity="tanh"):
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        check_inputs("rnn", x, h0, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
        steps, batch, _ = x.shape
        H = weight_hh.shape[1]
        lengths = check_lengths(lengths, steps, batch, "rnn")
        layout = SequenceLayout(steps, batch, lengths, reverse)
        dtype = x.dtype

        x_k = np.ascontiguousarray(layout.to_kernel(x)).reshape(steps * batch, -1)
        h_all = np.empty((steps + 1, batch, H), dtype=dtype)
        h_all[0] = layout.batch_to_kernel(h0)
        np.matmul(x_k, weight_ih.T, out=h_all[1:].reshape(steps * batch, H))
        for bias in (bias_ih, bias_hh):
            if bias is not None:
                h_all[1:] += bias
        w_hh_t = np.ascontiguousarray(weight_hh.T)
        recurrent = np.empty((batch, H), dtype=dtype)
        use_tanh = nonlinearity == "tanh"
        for t in range(steps):
            n = layout.active[t]
            h_new = h_all[t + 1, :n]
            np.matmul(h_all[t, :n], w_hh_t, out=recurrent[:n])
            h_new += recurrent[:n]
            if use_tanh:
                np.tanh(h_new, out=h_new)
            else:
                np.maximum(h_new, 0, out=h_new)
            if n < batch:  # finished sequences carry their last state
                h_all[t + 1, n:] = h_all[t, n:]

        if any(ctx.needs_input_grad) and is_grad_enabled():
            ctx.layout, ctx.x_k, ctx.weight_ih, ctx.weight_hh = layout, x_k, weight_ih, weight_hh
            ctx.h_all, ctx.use_tanh = h_all, use_tanh
            ctx.has_bias = (bias_ih is not None, bias_hh is not None)
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        h_n = layout.batch_from_kernel(h_all[steps].copy())
        return output, h_n

    def backward(ctx, grad_output, grad_h_n):
        layout, h_all = ctx.layout, ctx.h_all
        steps, batch, H = h_all[1:].shape
        dtype = h_all.dtype
        states = h_all[1:]
        # f'(a) from the output h = f(a): tanh' = 1 - h^2, relu' = [h > 0]
        slope = 1 - states * states if ctx.use_tanh else (states > 0).astype(dtype)

        grad_out_k = None if grad_output is None else layout.to_kernel(grad_output)
        dh = (np.zeros((batch, H), dtype=dtype) if grad_h_n is None
              else np.array(layout.batch_to_kernel(grad_h_n), dtype=dtype))
        d_pre = (np.zeros if layout.padded else np.empty)((steps, batch, H), dtype=dtype)
        w_hh = ctx.weight_hh
        for t in range(steps - 1, -1, -1):
            n = layout.active[t]
            dh_t = dh[:n]
            if grad_out_k is not None:
                dh_t += grad_out_k[t, :n]
            np.multiply(dh_t, slope[t, :n], out=d_pre[t, :n])
            np.matmul(d_pre[t, :n], w_hh, out=dh_t)

        needs = ctx.needs_input_grad
        d_flat = d_pre.reshape(steps * batch, H)
        grad_x = grad_h0 = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_x = layout.from_kernel((d_flat @ ctx.weight_ih).reshape(steps, batch, -1))
        if needs[1]:
            grad_h0 = layout.batch_from_kernel(dh)
        if needs[2]:
            grad_w_ih = d_flat.T @ ctx.x_k
        if needs[3]:
            grad_w_hh = d_flat.T @ h_all[:-1].reshape(steps * batch, H)
        if (ctx.has_bias[0] and needs[4]) or (ctx.has_bias[1] and needs[5]):
            grad_bias = d_flat.sum(axis=0)
            grad_b_ih = grad_bias if ctx.has_bias[0] and needs[4] else None
            grad_b_hh = grad_bias.copy() if ctx.has_bias[1] and needs[5] else None
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def rnn(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
        reverse: bool = False, nonlinearity: str = "tanh") -> tuple[Tensor, Tensor]:
    """One Elman RNN layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden)); h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""
    return RNNSequence.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, lengths=lengths,
                             reverse=reverse, nonlinearity=nonlinearity)
