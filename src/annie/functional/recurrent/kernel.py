"""What the whole-sequence kernels (RNN, LSTM, GRU) share: the checks, the layout of a batch,
the prepared weights, the input projection of all steps, the empty batch, the guard against a
second backward pass and the weight gradients. Each kernel adds only its own step loops.

The kernel's view of a batch (``SequenceKernel``):

- every array is time-major and batch-major: ``pre[t]`` of shape (batch, gates*hidden) holds
  step t's pre-activations, one row per sequence, the gate blocks side by side in the kernel's
  gate order (``gate_order``; LSTM puts its three sigmoid gates first);
- sigmoid(a) = (1 + tanh(a / 2)) / 2, with the halving folded into a copy of the sigmoid gates'
  weights, so one tanh call covers every gate of a step (the LSTM's compiled float32 paths
  instead keep the caller's order and weights and halve in their loops, ``keep_caller_order``);
  1 + tanh(a / 2) cancels for a << 0, so a sigmoid gate's value carries an absolute error of up
  to a few spacings of floats near 1 (float32: 6e-8 with NumPy's tanh, 1.8e-7 with the compiled
  steps' rational tanh, exactly +-1 beyond 8; float64: 1e-16): a gate of 1e-9 comes out as 0,
  sigmoid(-17) = 4.1e-8 as 6.0e-8 or 0; every gate stays within [0, 1];
- the input projection of all steps, biases included, is one matrix product: the input gets a
  column of ones, the weights a column holding the biases. ``bias_hh`` folds in too where the
  formula adds it to the input part (all of RNN and LSTM, the r and z gates of GRU);
- backward ends with dL/d(pre-activations) of every step as one (time*batch, gates*hidden)
  matrix, so dL/dx, dW_ih with the biases (the column of ones), and dW_hh are one matrix
  product each over all steps.
"""
from __future__ import annotations

import functools

import numpy as np

from ...errors import AnnieError, DTypeError, ShapeError
from ...tensor import Function, is_grad_enabled
from .layout import ScratchPool, SequenceLayout, check_lengths, unpermute

NO_POOL = ScratchPool(per_shape=0, shapes=0)  # without a workspace: fresh arrays, none kept
# Scaling one step's product (a NumPy call, 0.7 us) costs about as much as copying this many
# weights (0.15 ns each, a (3H, H) W_hh with its sigmoid rows halved; measured on hidden 32 to
# 512): ``recurrent_weight`` scales each step's product instead of copying W_hh when the steps
# times this are at most W_hh's size (GRU: up to 3 steps at hidden 64, 49 at 256).
SCALED_PRODUCT_WEIGHTS = 4000


def check_inputs(owner: str, x: np.ndarray, states: tuple, weight_ih: np.ndarray,
                 weight_hh: np.ndarray, bias_ih, bias_hh, gates: int) -> None:
    """Shapes and dtypes of a kernel's arrays: x (T, B, I), each state (B, H), W_ih (G*H, I),
    W_hh (G*H, H), biases (G*H,) with G the number of gates; T >= 1, B >= 0."""
    if x.ndim != 3:
        raise ShapeError(f"{owner}: x must be (time, batch, input_size), got shape {x.shape}")
    steps, batch, input_size = x.shape
    hidden_size = weight_hh.shape[1] if weight_hh.ndim == 2 else -1
    if weight_hh.shape != (gates * hidden_size, hidden_size):
        raise ShapeError(f"{owner}: weight_hh must be ({gates}*hidden_size, hidden_size), "
                         f"got shape {weight_hh.shape}")
    if weight_ih.shape != (gates * hidden_size, input_size):
        raise ShapeError(f"{owner}: weight_ih must be ({gates * hidden_size}, {input_size}) for "
                         f"input of shape {x.shape}, got shape {weight_ih.shape}")
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None and bias.shape != (gates * hidden_size,):
            raise ShapeError(f"{owner}: {name} must have shape ({gates * hidden_size},), "
                             f"got shape {bias.shape}")
    for name, state in zip(("h0", "c0"), states):
        if state.shape != (batch, hidden_size):
            raise ShapeError(f"{owner}: initial state {name} must have shape ({batch}, "
                             f"{hidden_size}), got shape {state.shape}")
    if steps < 1:
        raise ShapeError(f"{owner}: x must have at least one time step, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{owner}: x must be a float array, got dtype {x.dtype}")
    named = [*zip(("h0", "c0"), states), ("weight_ih", weight_ih), ("weight_hh", weight_hh),
             ("bias_ih", bias_ih), ("bias_hh", bias_hh)]
    for name, array in named:
        if array is not None and array.dtype != x.dtype:
            advice = (f"give the initial states x's dtype (e.g. {name}.astype({x.dtype}))"
                      if name in ("h0", "c0") else
                      "convert the model or the input (e.g. model.to(x.dtype))")
            raise DTypeError(f"{owner}: {name} has dtype {array.dtype} but x has {x.dtype}; "
                             f"{advice}")


@functools.lru_cache(maxsize=64)
def gate_rows(order: tuple, hidden_size: int) -> np.ndarray:
    """Row indices that rearrange a (gates*H, ...) matrix's gate blocks into ``order``
    (read-only; one array per order and size)."""
    rows = np.concatenate([np.arange(g * hidden_size, (g + 1) * hidden_size) for g in order])
    rows.setflags(write=False)
    return rows


class SequenceKernel(Function):
    """Base of the whole-sequence kernels. ``forward(x, *states, weight_ih, weight_hh, bias_ih,
    bias_hh, lengths=None, reverse=False, workspace=None, **options)`` returns (output, *final
    states); a subclass writes ``run_forward(run, **options)`` and ``run_backward(run,
    grad_output, grad_finals)`` on the prepared ``run``, a ``SequenceRun``."""

    name = "recurrent"
    gates = 1            # gate blocks in weight_ih / weight_hh
    state_count = 1      # h, or h and c
    gate_order = None    # kernel block k holds the caller's gate gate_order[k] (None: same)
    sigmoid_blocks = 0   # leading kernel blocks that are sigmoid gates (their input is halved)
    folded_hh_blocks = None  # leading kernel blocks whose bias_hh joins the input bias (None: all)

    def forward(ctx, x, *arrays, lengths=None, reverse=False, workspace=None, **options):
        count = ctx.state_count
        states, (weight_ih, weight_hh, bias_ih, bias_hh) = arrays[:count], arrays[count:]
        check_inputs(ctx.name, x, states, weight_ih, weight_hh, bias_ih, bias_hh, ctx.gates)
        steps, batch = x.shape[:2]
        lengths = check_lengths(lengths, steps, batch, ctx.name)
        layout = SequenceLayout(steps, batch, lengths, reverse)
        run = SequenceRun(ctx, x, states, weight_ih, weight_hh, bias_ih, bias_hh, layout,
                          workspace if workspace is not None else NO_POOL)
        if batch == 0:
            outputs = run.empty_outputs()
        else:
            outputs = ctx.run_forward(run, **options)
        if any(ctx.needs_input_grad) and is_grad_enabled():
            ctx.run = run
        else:
            run.release()
        return outputs

    def backward(ctx, grad_output, *grad_finals):
        run = ctx.run
        if run is None:
            raise AnnieError(f"{ctx.name}: backward through the same {ctx.name.upper()} output "
                             f"a second time; its buffers were reused by the first backward, "
                             f"so run forward again")
        ctx.run = None
        if run.batch == 0:
            return run.empty_gradients()
        grads = ctx.run_backward(run, grad_output, grad_finals)
        run.release()
        return grads

    def run_forward(ctx, run: "SequenceRun", **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def run_backward(ctx, run: "SequenceRun", grad_output, grad_finals):  # pragma: no cover
        raise NotImplementedError


class SequenceRun:
    """One call of a kernel: its arrays in the kernel's layout and order, the prepared weights,
    and the shared steps before and after the kernel's own loops."""

    def __init__(self, kernel: SequenceKernel, x, states, weight_ih, weight_hh, bias_ih, bias_hh,
                 layout: SequenceLayout, pool: ScratchPool):
        self.kernel, self.layout, self.pool = kernel, layout, pool
        self.steps, self.batch, self.input_size = x.shape
        self.hidden = weight_hh.shape[1]
        self.dtype = x.dtype
        self.states = states
        self.weight_ih, self.weight_hh = weight_ih, weight_hh
        self.bias_ih, self.bias_hh = bias_ih, bias_hh
        self.has_bias = bias_ih is not None or bias_hh is not None
        self.x = x
        self.pooled: list[np.ndarray] = []  # arrays to hand back to the pool when done
        self.columns = None  # a kernel's gate-major steps, when it runs them (lstm.py)
        self.columns_sequence = None  # ... and their whole loop compiled, where it runs
        self.rows = (None if kernel.gate_order is None
                     else gate_rows(kernel.gate_order, self.hidden))
        self.halved = kernel.sigmoid_blocks > 0  # sigmoid gates' weights halved in a copy

    # unscaled weights in the kernel's gate order (backward's products use them); made on
    # first use, so that ``keep_caller_order`` can skip them
    @functools.cached_property
    def w_ih(self) -> np.ndarray:
        return self.weight_ih if self.rows is None else self.weight_ih[self.rows]

    @functools.cached_property
    def w_hh(self) -> np.ndarray:
        return self.weight_hh if self.rows is None else self.weight_hh[self.rows]

    def keep_caller_order(self) -> None:
        """Work in the caller's gate order on unscaled weights: the loops then index each gate
        block where it is and halve the sigmoid gates' pre-activations themselves, and no
        permuted or halved copy of a weight is made (the LSTM's compiled float32 paths,
        ``lstm.py``). Call before anything reads ``w_ih`` or ``w_hh``."""
        if "w_ih" in vars(self) or "w_hh" in vars(self):
            raise RuntimeError("keep_caller_order: the weights were already permuted")
        self.rows, self.halved = None, False

    # ----- forward helpers ----------------------------------------------------------------
    def take(self, shape: tuple) -> np.ndarray:
        """An uninitialised array from the workspace, handed back when the run is done."""
        array = self.pool.take(shape, self.dtype)
        self.pooled.append(array)
        return array

    def column_scale(self) -> np.ndarray | None:
        """Per kernel column: 1/2 for the sigmoid gates (sigmoid(a) = (1 + tanh(a/2)) / 2),
        else 1; None when no gate is a sigmoid or the loops halve (``keep_caller_order``)."""
        blocks = self.kernel.sigmoid_blocks
        if not self.halved:
            return None
        scale = np.ones(self.kernel.gates * self.hidden, dtype=self.dtype)
        scale[:blocks * self.hidden] = 0.5
        return scale

    def kernel_order(self, vector):
        """A (gates*H,) vector of the caller's (a bias) in the kernel's gate order."""
        if vector is None or self.rows is None:
            return vector
        return vector[self.rows]

    def input_projection(self, out: np.ndarray | None = None,
                         gate_major: bool = False) -> np.ndarray:
        """pre (T, B, G*H): every step's input part W_ih x_t + b (kernel order, sigmoid columns
        halved) in one matrix product, into ``out`` (contiguous) when given; also keeps x in
        the kernel's order as ``x_k``. ``gate_major``: pre as (G*H, T, B) instead, W_in x_k^T,
        so that each step's block pre[:, t] is (G*H, B)."""
        steps, batch, inputs = self.steps, self.batch, self.input_size
        columns = inputs + (1 if self.has_bias else 0)
        x_k = self.take((steps, batch, columns))
        x_k[:, :, :inputs] = self.layout.to_kernel(self.x)
        self.x_k = x_k.reshape(steps * batch, columns)
        scale = self.column_scale()
        width = self.kernel.gates * self.hidden
        # a padded step's input never counts; zeroed, a NaN or inf there cannot reach dL/dW_ih
        # through 0 * NaN (pandas fills ragged series with NaN)
        if self.has_bias:
            x_k[:, :, inputs] = 1
        self.layout.zero_padding(x_k, in_place=True)
        if steps * batch <= columns and not gate_major:
            # a few rows (a short sequence of a small batch): the product with W_ih as it is,
            # then the bias added to its rows, costs G*H per row where [W_ih | b] below would
            # copy G*H*(I + 1) numbers every call
            pre = self.take((steps, batch, width)) if out is None else out
            rows = pre.reshape(steps * batch, width)
            np.matmul(self.x_k[:, :inputs], self.w_ih.T, out=rows)
            if self.has_bias:
                rows += self._input_bias()
            if scale is not None:
                rows *= scale
            return pre
        # [W_ih | b] (G*H, I + 1), one row per gate unit: no transposed copy of W_ih (for a
        # large input, NumPy's copy of a transpose costs a tenth of the product itself); the
        # products below hand the transposed views to BLAS as they are
        w_in = np.empty((width, columns), dtype=self.dtype)
        w_in[:, :inputs] = self.w_ih
        if self.has_bias:
            w_in[:, inputs] = self._input_bias()
        if scale is not None:
            w_in *= scale[:, None]
        if gate_major:
            pre = self.take((width, steps, batch))
            np.matmul(w_in, self.x_k.T, out=pre.reshape(width, steps * batch))
            return pre
        pre = self.take((steps, batch, width)) if out is None else out
        np.matmul(self.x_k, w_in.T, out=pre.reshape(steps * batch, -1))
        return pre

    def _input_bias(self) -> np.ndarray:
        """The biases the input part carries, (G*H,) in the kernel's order: b_ih, plus b_hh
        where the formula adds it to the input part (``folded_hh_blocks``)."""
        bias = np.zeros(self.kernel.gates * self.hidden, dtype=self.dtype)
        if self.bias_ih is not None:
            bias += self.kernel_order(self.bias_ih)
        if self.bias_hh is not None:
            folded = self.kernel.folded_hh_blocks
            end = None if folded is None else folded * self.hidden
            bias[:end] += self.kernel_order(self.bias_hh)[:end]
        return bias

    def recurrent_weight(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(W_hh^T (H, G*H) in the kernel's order, scale): the per-step product is h @ W_hh^T
        and then, when ``scale`` is not None, times ``scale`` (its sigmoid columns halved,
        ``column_scale``). Over many steps the halving is folded into a copy of W_hh and scale
        is None; over few (``SCALED_PRODUCT_WEIGHTS``) W_hh^T is a view and each step's product
        is scaled. Halving is exact in floating point: both give the same numbers."""
        scale = self.column_scale()
        if scale is None:
            return self.w_hh.T, None
        if self.steps * SCALED_PRODUCT_WEIGHTS <= self.w_hh.size:
            return self.w_hh.T, scale
        return (self.w_hh * scale[:, None]).T, None

    def initial(self, index: int, pooled: bool = False) -> np.ndarray:
        """(T+1, B, H) state history with step 0 set to initial state ``index``."""
        shape = (self.steps + 1, self.batch, self.hidden)
        history = self.take(shape) if pooled else np.empty(shape, dtype=self.dtype)
        history[0] = self.layout.batch_to_kernel(self.states[index])
        return history

    def finish(self, h_all: np.ndarray, *finals: np.ndarray) -> tuple:
        """(output (T, B, H), h_n, further final states) in the caller's order."""
        layout = self.layout
        self.h_all = h_all
        output = layout.from_kernel(layout.zero_padding(h_all[1:]))
        return (output, layout.batch_from_kernel(h_all[self.steps].copy()),
                *(layout.batch_from_kernel(final.copy()) for final in finals))

    def empty_outputs(self) -> tuple:
        """An empty batch: output (T, 0, H) and final states (0, H), as PyTorch gives."""
        output = np.zeros((self.steps, 0, self.hidden), dtype=self.dtype)
        finals = [np.zeros((0, self.hidden), dtype=self.dtype)
                  for _ in range(self.kernel.state_count)]
        return (output, *finals)

    # ----- backward helpers ---------------------------------------------------------------
    def grad_steps(self, grad_output) -> np.ndarray | None:
        """dL/d output in the kernel's order, (T, B, H) (often a strided view), or None."""
        return None if grad_output is None else self.layout.to_kernel(grad_output)

    def grad_final(self, grad) -> np.ndarray:
        """dL/d (a final state) in the kernel's order as a fresh (B, H) array (zeros if None)."""
        if grad is None:
            return np.zeros((self.batch, self.hidden), dtype=self.dtype)
        return np.array(self.layout.batch_to_kernel(grad), dtype=self.dtype)

    def gradients(self, d_pre: np.ndarray, d_recurrent: np.ndarray, d_states: list) -> tuple:
        """Every input's gradient from d_pre (T*B, G*H), dL/d(input part of the pre-activations),
        and d_recurrent (T*B, G*H), dL/d(W_hh h_{t-1} + b_hh), both in the kernel's order with
        finished sequences' rows zero; ``d_states`` are dL/d(initial states) in kernel order."""
        needs = self.kernel.needs_input_grad
        count = self.kernel.state_count
        steps, batch, inputs = self.steps, self.batch, self.input_size
        grad_x = None
        if needs[0]:
            grad_x = self.layout.from_kernel(np.matmul(d_pre, self.w_ih).reshape(steps, batch,
                                                                                 inputs))
        grad_states = [self.layout.batch_from_kernel(d) if needs[1 + i] else None
                       for i, d in enumerate(d_states)]
        need_w_ih, need_w_hh, need_b_ih, need_b_hh = needs[1 + count:5 + count]
        need_b_ih = need_b_ih and self.bias_ih is not None
        need_b_hh = need_b_hh and self.bias_hh is not None
        grad_w_ih = grad_b_ih = grad_w_hh = grad_b_hh = None
        if need_w_ih or need_b_ih:  # the column of ones in x_k gives the bias's gradient
            grad_in = np.matmul(d_pre.T, self.x_k)
            grad_w_ih = self._caller_order(grad_in[:, :inputs]) if need_w_ih else None
            grad_b_ih = self._caller_order(grad_in[:, inputs]) if need_b_ih else None
        if need_w_hh:
            h_previous = self.h_all[:-1].reshape(steps * batch, self.hidden)
            grad_w_hh = self._caller_order(np.matmul(d_recurrent.T, h_previous))
        if need_b_hh:
            if d_recurrent is d_pre and grad_b_ih is not None:
                grad_b_hh = grad_b_ih.copy()
            else:
                grad_b_hh = self._caller_order(d_recurrent.sum(axis=0))
        return (grad_x, *grad_states, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)

    def empty_gradients(self) -> tuple:
        """Gradients of an empty batch: zero-size for x and the states, zero for the weights."""
        needs = self.kernel.needs_input_grad
        inputs = (self.x, *self.states, self.weight_ih, self.weight_hh, self.bias_ih,
                  self.bias_hh)
        return tuple(np.zeros_like(array) if need and array is not None else None
                     for need, array in zip(needs, inputs))

    def _caller_order(self, grad: np.ndarray) -> np.ndarray:
        """Undo the kernel's gate order on a gradient's first axis."""
        return unpermute(grad, self.rows)

    def release(self) -> None:
        """Hand the workspace arrays back; the run cannot be used for backward afterwards."""
        self.pool.give(*self.pooled)
        self.pooled = []
