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
from ...tensor import Tensor
from .kernel import SequenceKernel, SequenceRun
from .layout import ScratchPool

NONLINEARITIES = ("tanh", "relu")


class RNNSequence(SequenceKernel):
    """(output, h_n) = Elman RNN over x of shape (time, batch, input_size), time-major."""

    name, gates, state_count = "rnn", 1, 1

    def forward(ctx, x, *arrays, nonlinearity="tanh", **options):
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        return SequenceKernel.forward(ctx, x, *arrays, nonlinearity=nonlinearity, **options)

    def run_forward(ctx, run: SequenceRun, nonlinearity: str):
        steps, batch, hidden = run.steps, run.batch, run.hidden
        active = run.layout.active
        h_all = run.initial(0)
        # the input part of every step is written straight into the state history
        run.input_projection(out=h_all[1:])
        w_hh_t, _ = run.recurrent_weight()  # an RNN has no sigmoid gate: nothing scaled
        recurrent = np.empty((batch, hidden), dtype=run.dtype)
        use_tanh = nonlinearity == "tanh"
        for t in range(steps):
            n = active[t]
            h_new = h_all[t + 1, :n]
            np.dot(h_all[t, :n], w_hh_t, out=recurrent[:n])
            h_new += recurrent[:n]
            if use_tanh:
                np.tanh(h_new, out=h_new)
            else:
                np.maximum(h_new, 0, out=h_new)
            if n < batch:  # finished sequences carry their last state
                h_all[t + 1, n:] = h_all[t, n:]
        run.use_tanh = use_tanh
        return run.finish(h_all)

    def run_backward(ctx, run: SequenceRun, grad_output, grad_finals):
        steps, batch, hidden = run.steps, run.batch, run.hidden
        active = run.layout.active
        states = run.h_all[1:]
        # f'(a) from the output h = f(a): tanh' = 1 - h^2, relu' = [h > 0]; becomes dL/da
        d_pre = run.take((steps, batch, hidden))
        if run.use_tanh:
            np.multiply(states, states, out=d_pre)
            np.subtract(1, d_pre, out=d_pre)
        else:
            np.greater(states, 0, out=d_pre)
        grad_steps = run.grad_steps(grad_output)
        dh = run.grad_final(grad_finals[0])
        w_hh = run.w_hh
        for t in range(steps - 1, -1, -1):
            n = active[t]
            dh_t, d_step = dh[:n], d_pre[t, :n]
            if grad_steps is not None:
                dh_t += grad_steps[t, :n]
            d_step *= dh_t
            np.dot(d_step, w_hh, out=dh_t)
            if n < batch:
                d_pre[t, n:] = 0
        d_flat = d_pre.reshape(steps * batch, hidden)
        return run.gradients(d_flat, d_flat, [dh])


def rnn(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
        reverse: bool = False, nonlinearity: str = "tanh",
        workspace: ScratchPool | None = None) -> tuple[Tensor, Tensor]:
    """One Elman RNN layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden)); h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu); ``lengths``,
    ``reverse`` and ``workspace`` as for ``lstm``. An empty batch gives empty outputs and
    zero-size gradients."""
    return RNNSequence.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, lengths=lengths,
                             reverse=reverse, nonlinearity=nonlinearity, workspace=workspace)
