"""The GRU over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
    h' = (1 - z) * n + z * h

The input projection of all steps is one matrix product (``kernel.py``), b_hr and b_hz folded
in; each step does one product h @ W_hh^T into ``recurrent[t]``, whose n block keeps
W_hn h + b_hn for backward. Step t writes its gate activations over its pre-activations
(gate-major, so the gate math runs over contiguous blocks), and
backward writes dL/d(pre-activations) over them and dL/d(W_hh h + b_hh) over ``recurrent[t]``,
so the weight gradients are one matrix product each over all steps.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from . import compiled
from .kernel import SequenceKernel, SequenceRun
from .layout import ScratchPool


def forward_step(gates, recurrent, bias_n, h_previous, h_new) -> None:
    """One step. On entry the (n, 3H) block ``gates`` holds the input part of the
    pre-activations (r, z halved, their hidden biases included) and ``recurrent``
    h @ W_hh^T (r, z halved); b_hn is added to recurrent's n block (W_hn h + b_hn, kept for
    backward), the activations are written over ``gates`` gate-major as three contiguous
    (n, H) blocks r, z, n, and h' = n + z (h - n) into ``h_new``."""
    n, hidden = h_new.shape
    hidden_n = recurrent[:, 2 * hidden:]
    if bias_n is not None:
        hidden_n += bias_n
    reset_update = recurrent[:, :2 * hidden]
    reset_update += gates[:, :2 * hidden]
    np.copyto(h_new, gates[:, 2 * hidden:])          # n's input part; h_new is scratch till the end
    blocks = gates.reshape(3, n, hidden)
    np.tanh(reset_update.reshape(n, 2, hidden).transpose(1, 0, 2), out=blocks[:2])
    sigmoids = blocks[:2]
    sigmoids *= 0.5
    sigmoids += 0.5
    r, z, candidate = blocks
    np.multiply(r, hidden_n, out=candidate)
    candidate += h_new
    np.tanh(candidate, out=candidate)
    np.subtract(h_previous, candidate, out=h_new)    # h' = n + z (h - n)
    h_new *= z
    h_new += candidate


def backward_step(gates, recurrent, h_previous, grad_output, dh, carry, work) -> None:
    """One step back: from the activations ``forward_step`` left in ``gates``, W_hn h + b_hn
    (``recurrent``'s n block) and dL/dh_t (``dh``, plus ``grad_output`` when given) write
    dL/d(pre-activations) over ``gates`` and dL/d(W_hh h + b_hh) over ``recurrent``, both as
    (n, 3H) blocks in column order, and dL/dh' * z (the direct path to h_{t-1}) into
    ``carry`` (``work``: scratch of gates' size)."""
    n, hidden = dh.shape
    if grad_output is not None:
        dh += grad_output
    r, z, candidate = gates.reshape(3, n, hidden)
    d_blocks = work.reshape(3, n, hidden)
    d_r, d_z, d_n = d_blocks
    hidden_n = recurrent[:, 2 * hidden:]
    np.multiply(dh, z, out=carry)                # h' = n + z (h - n): dh' z reaches h
    np.subtract(1, z, out=d_r)                   # d_r is scratch: 1 - z
    np.subtract(h_previous, candidate, out=d_z)  # d z_pre = dh (h - n) z (1 - z)
    d_z *= dh
    d_z *= z
    d_z *= d_r
    np.multiply(candidate, candidate, out=d_n)   # d n_pre = dh (1 - z) (1 - n^2)
    np.subtract(1, d_n, out=d_n)
    d_n *= d_r
    d_n *= dh
    np.subtract(1, r, out=d_r)                   # d r_pre = d n_pre (W_hn h + b_hn) r (1 - r)
    d_r *= r
    d_r *= hidden_n
    d_r *= d_n
    np.multiply(d_n, r, out=hidden_n)            # d(W_hn h + b_hn) = d n_pre * r
    np.copyto(recurrent[:, :2 * hidden].reshape(n, 2, hidden).transpose(1, 0, 2), d_blocks[:2])
    np.copyto(gates.reshape(n, 3, hidden).transpose(1, 0, 2), d_blocks)


class GRUSequence(SequenceKernel):
    """(output, h_n) = GRU over x of shape (time, batch, input_size), time-major."""

    name, gates, state_count = "gru", 3, 1
    sigmoid_blocks = 2
    folded_hh_blocks = 2  # b_hr, b_hz join the input bias; b_hn stays inside r * (...)

    def run_forward(ctx, run: SequenceRun):
        steps, batch, hidden = run.steps, run.batch, run.hidden
        run.steps_pair = compiled.step_functions("gru", (forward_step, backward_step),
                                                 run.dtype)
        step = run.steps_pair[0]
        active = run.layout.active
        gates = run.input_projection()
        w_hh_t, scale = run.recurrent_weight()
        bias_n = None if run.bias_hh is None else run.bias_hh[2 * hidden:]
        h_all = run.initial(0)
        recurrent = run.take((steps, batch, 3 * hidden))
        if not run.layout.padded:  # every sequence runs every step: one view per array
            for gates_t, recurrent_t, h_old, h_new in zip(gates, recurrent, h_all, h_all[1:]):
                np.dot(h_old, w_hh_t, out=recurrent_t)
                if scale is not None:
                    recurrent_t *= scale
                step(gates_t, recurrent_t, bias_n, h_old, h_new)
        else:  # rows [:n] are the sequences still running at step t
            for t, n in enumerate(active):
                np.dot(h_all[t, :n], w_hh_t, out=recurrent[t, :n])
                if scale is not None:
                    recurrent[t, :n] *= scale
                step(gates[t, :n], recurrent[t, :n], bias_n, h_all[t, :n], h_all[t + 1, :n])
                h_all[t + 1, n:] = h_all[t, n:]  # finished sequences carry their last state
        run.gates, run.recurrent = gates, recurrent
        return run.finish(h_all)

    def run_backward(ctx, run: SequenceRun, grad_output, grad_finals):
        steps, batch = run.steps, run.batch
        step = run.steps_pair[1]
        active = run.layout.active
        gates, recurrent, h_all = run.gates, run.recurrent, run.h_all
        grad_steps = run.grad_steps(grad_output)
        dh = run.grad_final(grad_finals[0])
        carry = np.empty_like(dh)
        work = np.empty((batch, 3 * run.hidden), dtype=run.dtype)
        w_hh = run.w_hh
        if not run.layout.padded:
            grads = [None] * steps if grad_steps is None else grad_steps
            for gates_t, recurrent_t, h_old, grad_t in zip(gates[::-1], recurrent[::-1],
                                                            h_all[-2::-1], grads[::-1]):
                step(gates_t, recurrent_t, h_old, grad_t, dh, carry, work)
                np.dot(recurrent_t, w_hh, out=dh)
                dh += carry
        else:
            for t in range(steps - 1, -1, -1):
                n = active[t]
                grad_t = None if grad_steps is None else grad_steps[t, :n]
                step(gates[t, :n], recurrent[t, :n], h_all[t, :n], grad_t, dh[:n], carry[:n],
                     work[:n])
                np.dot(recurrent[t, :n], w_hh, out=dh[:n])
                dh[:n] += carry[:n]
                gates[t, n:] = 0
                recurrent[t, n:] = 0
        return run.gradients(gates.reshape(steps * batch, -1),
                             recurrent.reshape(steps * batch, -1), [dh])


def gru(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
        reverse: bool = False, workspace: ScratchPool | None = None) -> tuple[Tensor, Tensor]:
    """One GRU layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden)); ``lengths`` skips each sequence's padding, ``reverse`` runs from each
    sequence's last real step back to its first; ``workspace`` as for ``lstm``. An empty batch
    gives empty outputs and zero-size gradients."""
    return GRUSequence.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, lengths=lengths,
                             reverse=reverse, workspace=workspace)
