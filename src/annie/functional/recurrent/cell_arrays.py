"""The cells' step formulas on raw arrays, for prediction: what ``rnn_cell``, ``lstm_cell`` and
``gru_cell`` (``cells.py``) run when no graph is recorded (under ``no_grad()``), as
``Linear.forward_array`` does for a layer; a recurrent layer called on one time step under
no_grad runs them too (``RecurrentLayer._run_one_step``).

They compute the formulas of the Tensor versions in ``cells.py`` (the reference; tested equal)
with a step's work in a handful of NumPy calls instead of one op per term, sigmoid as
(1 + tanh(a / 2)) / 2 as the fused kernels compute it. Generating text one character at a time
or feeding a stream step by step calls a cell once per step, and there the ops' bookkeeping was
most of the time (``RecurrentLayer.step`` of an LSTM at hidden 256: 57 us as ops, 26 us here;
BENCHMARKS.md, "One step at a time"). In float32 the LSTM step is the fused kernel's compiled
step (``compiled.step_functions``: tanh as a rational function) where numba is installed.
"""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...tensor import Tensor
from . import compiled


def array_of(value):
    """A Tensor's array, anything else as it is (an ndarray's own ``.data`` is a buffer)."""
    return value.data if isinstance(value, Tensor) else value


def step_arrays(gates: int, x, state: tuple, params: tuple) -> tuple | None:
    """(x, state arrays, param arrays) of a cell with ``gates`` gate blocks when every one is
    a float array of one dtype with the shapes of a step: x (B, I), each state (B, H), W_ih
    (gates*H, I), W_hh (gates*H, H), biases (gates*H,) or None. None otherwise: the Tensor
    formula then runs, and raises its own errors for a wrong shape or dtype."""
    x = array_of(x)
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype.kind != "f":
        return None
    states = tuple(array_of(s) for s in state)
    params = tuple(array_of(p) for p in params)
    weight_ih, weight_hh, bias_ih, bias_hh = params
    if not (isinstance(weight_ih, np.ndarray) and isinstance(weight_hh, np.ndarray)
            and weight_hh.ndim == 2):
        return None
    hidden = weight_hh.shape[1]
    shapes = [(weight_ih, (gates * hidden, x.shape[1])), (weight_hh, (gates * hidden, hidden))]
    shapes += [(s, (x.shape[0], hidden)) for s in states]
    shapes += [(b, (gates * hidden,)) for b in (bias_ih, bias_hh) if b is not None]
    for array, shape in shapes:
        if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != x.dtype:
            return None
    return x, states, params


def _sigmoid_in_place(a: np.ndarray) -> np.ndarray:
    """sigmoid(a) = (1 + tanh(a / 2)) / 2 over ``a`` in place, as the kernels compute it: four
    NumPy calls on the gate's block (a value near 0 carries an absolute error up to the dtype's
    epsilon, see ``kernel.py``)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> np.ndarray:
    """W_ih x + b_ih + W_hh h + b_hh, one row per sequence: (B, gates*H)."""
    a = x.dot(weight_ih.T)
    a += h.dot(weight_hh.T)
    if bias_ih is not None:
        a += bias_ih
    if bias_hh is not None:
        a += bias_hh
    return a


def rnn_step(x, state: tuple, params: tuple, nonlinearity: str = "tanh") -> tuple:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu); returns (h',). Raises ConfigError
    for a nonlinearity other than "tanh" or "relu"."""
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    a = _pre_activation(x, state[0], *params)
    return (np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a),)


def lstm_step(x, state: tuple, params: tuple) -> tuple:
    """i, f, o = sigmoid(.), g = tanh(.) of W_i* x + b_i* + W_h* h + b_h* (gate order i, f, g,
    o), c' = f c + i g, h' = o tanh(c'); returns (h', c')."""
    h, c = state
    weight_ih, weight_hh, bias_ih, bias_hh = params
    hidden = weight_hh.shape[1]
    steps = compiled.step_functions("lstm", None, x.dtype)
    if isinstance(steps, compiled.CallerOrder):  # float32 with numba: the kernel's step
        gates = x.dot(weight_ih.T)  # the input part; the step adds the recurrent part
        if bias_ih is not None:
            gates += bias_ih
        if bias_hh is not None:
            gates += bias_hh
        c_new, tanh_c, h_new = np.empty_like(c), np.empty_like(c), np.empty_like(h)
        steps[0](gates, h.dot(weight_hh.T), np.ascontiguousarray(c), c_new, tanh_c, h_new)
        return h_new, c_new
    a = _pre_activation(x, h, *params)
    _sigmoid_in_place(a[:, :2 * hidden])  # i, f
    i, f = a[:, :hidden], a[:, hidden:2 * hidden]
    g = np.tanh(a[:, 2 * hidden:3 * hidden])
    o = _sigmoid_in_place(a[:, 3 * hidden:])
    c_new = f * c
    c_new += i * g
    return o * np.tanh(c_new), c_new


def gru_step(x, state: tuple, params: tuple) -> tuple:
    """r, z = sigmoid(W_i* x + b_i* + W_h* h + b_h*), n = tanh(W_in x + b_in + r (W_hn h +
    b_hn)), h' = (1 - z) n + z h (gate order r, z, n); returns (h',)."""
    h = state[0]
    weight_ih, weight_hh, bias_ih, bias_hh = params
    hidden = weight_hh.shape[1]
    from_input = x.dot(weight_ih.T)
    from_state = h.dot(weight_hh.T)
    if bias_ih is not None:
        from_input += bias_ih
    if bias_hh is not None:
        from_state += bias_hh
    reset_update = from_input[:, :2 * hidden]
    reset_update += from_state[:, :2 * hidden]
    _sigmoid_in_place(reset_update)
    r, z = reset_update[:, :hidden], reset_update[:, hidden:]
    n = from_input[:, 2 * hidden:]
    n += r * from_state[:, 2 * hidden:]
    np.tanh(n, out=n)
    return ((1 - z) * n + z * h,)
