"""The LSTM over a whole sequence as one differentiable op, with backpropagation through time
written by hand.

Per step (PyTorch's gate order i, f, g, o):
    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate cell
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
    c' = f * c + i * g,   h' = o * tanh(c')

The kernel keeps the gate blocks in the order o, i, f, g, so the three sigmoid gates are one
slice and a single tanh covers all four gates (see ``kernel.py`` for the shared layout). Step t
writes its gate activations over its pre-activations ``pre[t]`` (gate-major, so the cell update
runs over contiguous blocks), keeps tanh(c_t) for backward, and backward writes
dL/d(pre-activations) over the activations once it has used them. (The compiled float32
paths, numba's, keep the caller's order i, f, g, o and its unscaled weights instead: their loops
index each block where it is and halve the sigmoid gates themselves, so no permuted or halved
copy of the weights is made per call; ``SequenceRun.keep_caller_order``.) The large
internal arrays come from the caller's workspace (nn.LSTM owns one) and go back after backward:
fresh memory costs a page fault per 4 KiB on first write, as much as the arithmetic here.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from . import compiled
from .kernel import SequenceKernel, SequenceRun
from .layout import ScratchPool


def forward_step(gates, recurrent, c_previous, c_new, tanh_c, h_new) -> None:
    """One step. On entry the (n, 4H) block ``gates`` holds the input part of the
    pre-activations and ``recurrent`` h @ W_hh^T (o, i, f halved); the activations are written
    over ``gates`` gate-major, as four contiguous (n, H) blocks o, i, f, g, so the cell update
    runs over contiguous memory. c' = f c + i g, h' = o tanh(c')."""
    n, hidden = c_new.shape
    recurrent += gates
    blocks = gates.reshape(4, n, hidden)
    np.tanh(recurrent.reshape(n, 4, hidden).transpose(1, 0, 2), out=blocks)
    sigmoids = blocks[:3]
    sigmoids *= 0.5
    sigmoids += 0.5
    o, i, f, g = blocks
    np.multiply(f, c_previous, out=c_new)
    np.multiply(i, g, out=tanh_c)  # i * g, before tanh_c holds tanh(c')
    c_new += tanh_c
    np.tanh(c_new, out=tanh_c)
    np.multiply(o, tanh_c, out=h_new)


def backward_step(gates, tanh_c, c_previous, grad_output, dh, dc, dc_previous, work) -> None:
    """One step back: from the activations ``forward_step`` left in ``gates``, dL/dh_t
    (``dh``, plus ``grad_output`` when given) and dL/dc_t (``dc``, updated in place) write
    dL/d(pre-activations) over ``gates`` as an (n, 4H) block in the kernel's column order and
    dL/dc_{t-1} into ``dc_previous`` (``work``: scratch of gates' size). Each gate's gradient
    is (gradient reaching its output) * (its partner in the product) * (its slope)."""
    n, hidden = dh.shape
    if grad_output is not None:
        dh += grad_output
    blocks = gates.reshape(4, n, hidden)
    o, i, f, g = blocks
    d_blocks = work.reshape(4, n, hidden)
    d_o, d_i, d_f, d_g = d_blocks
    np.multiply(tanh_c, tanh_c, out=d_g)        # dc += dh * o * (1 - tanh(c')^2)
    np.subtract(1, d_g, out=d_g)
    d_g *= o
    d_g *= dh
    dc += d_g
    np.multiply(dh, tanh_c, out=d_o)            # d_o = dh * tanh(c') (* slope)
    np.multiply(dc, g, out=d_i)                 # d_i = dc * g (* slope)
    np.multiply(dc, c_previous, out=d_f)        # d_f = dc * c_{t-1} (* slope)
    np.multiply(dc, f, out=dc_previous)         # dL/dc_{t-1} = dc * f
    np.multiply(g, g, out=d_g)                  # d_g = dc * i * (1 - g^2)
    np.subtract(1, d_g, out=d_g)
    d_g *= i
    d_g *= dc
    sigmoids = blocks[:3]                       # sigmoid' = s (1 - s) for o, i, f
    d_blocks[:3] *= sigmoids
    np.subtract(1, sigmoids, out=sigmoids)
    d_blocks[:3] *= sigmoids
    np.copyto(gates.reshape(n, 4, hidden).transpose(1, 0, 2), d_blocks)


class LSTMSequence(SequenceKernel):
    """(output, h_n, c_n) = LSTM over x of shape (time, batch, input_size), time-major."""

    name, gates, state_count = "lstm", 4, 2
    gate_order = (3, 0, 1, 2)  # o, i, f, g
    sigmoid_blocks = 3

    def run_forward(ctx, run: SequenceRun):
        steps, batch, hidden = run.steps, run.batch, run.hidden
        run.steps_pair = compiled.step_functions("lstm", (forward_step, backward_step),
                                                 run.dtype)
        run.sequence = compiled.sequence_functions("lstm", run.dtype, batch, hidden, steps)
        run.columns = None if run.sequence is not None else compiled.column_functions(
            "lstm", run.dtype, batch)
        run.columns_sequence = None if run.columns is None else \
            compiled.column_sequence_functions("lstm", run.dtype, batch)
        if run.columns is not None:
            return LSTMSequence.run_forward_columns(run)
        step = run.steps_pair[0]
        active = run.layout.active
        if run.sequence is not None or isinstance(run.steps_pair, compiled.CallerOrder):
            run.keep_caller_order()  # compiled loops: the caller's gate order and weights
        gates = run.input_projection()
        h_all = run.initial(0)
        c_all = run.initial(1, pooled=True)
        tanh_c = run.take((steps, batch, hidden))
        if run.sequence is not None:
            run.sequence[0](gates, compiled.transposed(run.w_hh), h_all, c_all, tanh_c,
                            np.asarray(active, dtype=np.int64))
            run.gates, run.c_all, run.tanh_c = gates, c_all, tanh_c
            return run.finish(h_all, c_all[steps])
        w_hh_t, scale = run.recurrent_weight()
        recurrent = np.empty((batch, 4 * hidden), dtype=run.dtype)
        if not run.layout.padded:  # every sequence runs every step: one view per array
            for gates_t, c_old, c_new, tanh_t, h_old, h_new in zip(
                    gates, c_all, c_all[1:], tanh_c, h_all, h_all[1:]):
                np.dot(h_old, w_hh_t, out=recurrent)
                if scale is not None:
                    recurrent *= scale
                step(gates_t, recurrent, c_old, c_new, tanh_t, h_new)
        else:  # rows [:n] are the sequences still running at step t
            for t, n in enumerate(active):
                np.dot(h_all[t, :n], w_hh_t, out=recurrent[:n])
                if scale is not None:
                    recurrent[:n] *= scale
                step(gates[t, :n], recurrent[:n], c_all[t, :n], c_all[t + 1, :n],
                     tanh_c[t, :n], h_all[t + 1, :n])
                h_all[t + 1, n:] = h_all[t, n:]  # finished sequences carry their last state
                c_all[t + 1, n:] = c_all[t, n:]
        run.gates, run.c_all, run.tanh_c = gates, c_all, tanh_c
        return run.finish(h_all, c_all[steps])

    @staticmethod
    def run_forward_columns(run: SequenceRun):
        """The per-step loop in the gate-major layout (compiled steps, ``compiled.
        column_functions``) in the caller's gate order on the caller's weights:
        pre-activations (4H, T, B), the cell state and tanh(c) (T+1, H, B) and (T, H, B), each
        step's recurrent product W_hh @ h_{t-1}^T into a (4H, n) block."""
        steps, batch, hidden = run.steps, run.batch, run.hidden
        step = run.columns[0]
        run.keep_caller_order()  # the loops read gates i, f, g, o in place and halve themselves
        pre = run.input_projection(gate_major=True)
        w_hh = np.ascontiguousarray(run.w_hh)  # (4H, H): the caller's, no copy
        h_all = run.initial(0)
        c_all = run.take((steps + 1, hidden, batch))
        c_all[0] = run.layout.batch_to_kernel(run.states[1]).T
        tanh_c = run.take((steps, hidden, batch))
        recurrent = np.empty(4 * hidden * batch, dtype=run.dtype)
        if run.columns_sequence is not None:  # the whole loop compiled, BLAS called from it
            run.columns_sequence[0](pre, w_hh, h_all, c_all, tanh_c, recurrent,
                                    np.asarray(run.layout.active, dtype=np.int64))
            run.gates, run.c_all, run.tanh_c = pre, c_all, tanh_c
            return run.finish(h_all, c_all[steps].T)
        for t, n in enumerate(run.layout.active):
            product = recurrent[:4 * hidden * n].reshape(4 * hidden, n)
            np.dot(w_hh, h_all[t, :n].T, out=product)
            step(pre, t, product, c_all, tanh_c, h_all, n)
            if n < batch:  # finished sequences carry their last state
                h_all[t + 1, n:] = h_all[t, n:]
                c_all[t + 1, :, n:] = c_all[t, :, n:]
        run.gates, run.c_all, run.tanh_c = pre, c_all, tanh_c
        return run.finish(h_all, c_all[steps].T)

    @staticmethod
    def run_backward_columns(run: SequenceRun, grad_output, grad_finals):
        """Backward of ``run_forward_columns``: dL/d(pre-activations) over the (4H, T, B)
        activations, dh and dc as (H, B), dL/dh_{t-1} = W_hh^T d_t per step."""
        steps, batch, hidden = run.steps, run.batch, run.hidden
        step = run.columns[1]
        d_all, c_all, tanh_c = run.gates, run.c_all, run.tanh_c
        grad_steps = run.grad_steps(grad_output)
        dh = np.ascontiguousarray(run.grad_final(grad_finals[0]).T)
        dc = np.ascontiguousarray(run.grad_final(grad_finals[1]).T)
        w_hh_t = compiled.transposed(run.w_hh)  # (H, 4H), unscaled
        if run.columns_sequence is not None:
            add_output = grad_steps is not None
            run.columns_sequence[1](d_all, w_hh_t, c_all, tanh_c,
                                    grad_steps if add_output else dh[None], add_output,
                                    np.asarray(run.layout.active, dtype=np.int64), dh, dc)
            d_pre = d_all.reshape(4 * hidden, steps * batch).T
            return run.gradients(d_pre, d_pre, [np.ascontiguousarray(dh.T),
                                                np.ascontiguousarray(dc.T)])
        product = np.empty(hidden * batch, dtype=run.dtype)
        for t in range(steps - 1, -1, -1):
            n = run.layout.active[t]
            d_t = d_all[:, t]
            if grad_steps is None:
                step(d_all, t, tanh_c, c_all, dh[None], False, dh, dc, n)
            else:
                step(d_all, t, tanh_c, c_all, grad_steps, True, dh, dc, n)
            if n == batch:
                np.dot(w_hh_t, d_t, out=dh)
            else:  # finished sequences keep dh and dc until their end
                d_t[:, n:] = 0
                block = product[:hidden * n].reshape(hidden, n)
                np.dot(w_hh_t, d_t[:, :n], out=block)
                dh[:, :n] = block
        d_pre = d_all.reshape(4 * hidden, steps * batch).T
        return run.gradients(d_pre, d_pre, [np.ascontiguousarray(dh.T),
                                            np.ascontiguousarray(dc.T)])

    def run_backward(ctx, run: SequenceRun, grad_output, grad_finals):
        if run.columns is not None:
            return LSTMSequence.run_backward_columns(run, grad_output, grad_finals)
        steps, batch = run.steps, run.batch
        step = run.steps_pair[1]
        active = run.layout.active
        gates, c_all, tanh_c = run.gates, run.c_all, run.tanh_c
        grad_steps = run.grad_steps(grad_output)
        dh = run.grad_final(grad_finals[0])
        dc = run.grad_final(grad_finals[1])
        if run.sequence is not None:
            add_output = grad_steps is not None
            grad_steps = np.ascontiguousarray(grad_steps) if add_output else dh[None]
            run.sequence[1](gates, np.ascontiguousarray(run.w_hh), c_all, tanh_c, grad_steps,
                            add_output, np.asarray(active, dtype=np.int64), dh, dc)
            d_pre = gates.reshape(steps * batch, -1)
            return run.gradients(d_pre, d_pre, [dh, dc])
        dc_previous = np.empty_like(dc)
        work = np.empty((batch, 4 * run.hidden), dtype=run.dtype)
        w_hh = run.w_hh
        if not run.layout.padded:
            grads = [None] * steps if grad_steps is None else grad_steps
            for gates_t, tanh_t, c_old, grad_t in zip(gates[::-1], tanh_c[::-1], c_all[-2::-1],
                                                       grads[::-1]):
                step(gates_t, tanh_t, c_old, grad_t, dh, dc, dc_previous, work)
                np.dot(gates_t, w_hh, out=dh)   # dL/dh_{t-1} = [d_o d_i d_f d_g] W_hh
                dc, dc_previous = dc_previous, dc
        else:
            for t in range(steps - 1, -1, -1):
                n = active[t]
                grad_t = None if grad_steps is None else grad_steps[t, :n]
                step(gates[t, :n], tanh_c[t, :n], c_all[t, :n], grad_t, dh[:n], dc[:n],
                     dc_previous[:n], work[:n])
                np.dot(gates[t, :n], w_hh, out=dh[:n])
                gates[t, n:] = 0
                dc_previous[n:] = dc[n:]  # finished sequences keep theirs until their end
                dc, dc_previous = dc_previous, dc
        d_pre = gates.reshape(steps * batch, -1)
        return run.gradients(d_pre, d_pre, [dh, dc])


def lstm(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, lengths=None,
         reverse: bool = False, workspace: ScratchPool | None = None
         ) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer over x (time, batch, input_size) -> (output (time, batch, hidden),
    h_n (batch, hidden), c_n (batch, hidden)); ``lengths`` skips each sequence's padding,
    ``reverse`` runs from each sequence's last real step back to its first. A ``workspace``
    (a ScratchPool the caller owns, as the nn layers do) lends the large internal arrays and
    takes them back after backward, so repeated calls reuse memory instead of faulting fresh
    pages. An empty batch (batch 0) gives empty outputs and zero-size gradients."""
    return LSTMSequence.apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                              lengths=lengths, reverse=reverse, workspace=workspace)
