"""The per-step seam: each recurrent cell's formula for one time step, written with annie's
differentiable ops (the autodiff engine gives its gradient), and ``unroll``, the one loop that
runs any cell over a sequence.

The fused whole-sequence kernels (``rnn``, ``lstm``, ``gru``) compute the same function with
backpropagation through time written by hand; they are the fast path and are tested equal to
``unroll`` over these cells. The cells are what ``nn.RNNCell``/``LSTMCell``/``GRUCell`` run, what
``RecurrentLayer.step`` exposes, and what ``diagnostics.gradient_flow`` observes step by step.

A state is a tuple of (batch, hidden) tensors: (h,) for RNN and GRU, (h, c) for LSTM.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...errors import ConfigError, ShapeError
from ...ops import getitem, stack, where
from ...tensor import Tensor, is_graph_free, wrap_array
from ..activations import relu, sigmoid, tanh
from ..linear import linear
from . import cell_arrays


def _pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> Tensor:
    return linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh)


def _gate(tensor: Tensor, index: int, hidden: int) -> Tensor:
    return tensor[:, index * hidden:(index + 1) * hidden]


def _state_tuple(owner: str, state, names: tuple) -> tuple:
    """``state`` as a tuple of ``names`` (h,) or (h, c); a ShapeError for anything else: a bare
    (batch, hidden) tensor would otherwise be taken apart row by row."""
    if not isinstance(state, (tuple, list)) or len(state) != len(names):
        form = f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"
        length = f" of length {len(state)}" if isinstance(state, (tuple, list)) else ""
        raise ShapeError(f"{owner}: state must be a tuple {form} of (batch, hidden_size) "
                         f"tensors, got {type(state).__name__}{length}")
    return tuple(state)


def _on_arrays(step, gates: int, x, state: tuple, params: tuple, **options) -> tuple | None:
    """The new state from ``cell_arrays``' ``step`` when no graph is recorded and the inputs
    are plain arrays of a step's shapes (the same formula without an op per term); else None,
    and the cell runs its Tensor formula."""
    if not is_graph_free():
        return None
    arrays = cell_arrays.step_arrays(gates, x, state, params)
    if arrays is None:
        return None
    return tuple(wrap_array(array) for array in step(*arrays, **options))


def rnn_cell(x, state: tuple, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
             nonlinearity: str = "tanh") -> tuple:
    """Elman step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu); returns (h',).
    Raises ConfigError for a nonlinearity other than "tanh" or "relu"."""
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    state = _state_tuple("rnn_cell", state, ("h",))
    done = _on_arrays(cell_arrays.rnn_step, 1, x, state, (weight_ih, weight_hh, bias_ih, bias_hh),
                      nonlinearity=nonlinearity)
    if done is not None:
        return done
    a = _pre_activation(x, state[0], weight_ih, weight_hh, bias_ih, bias_hh)
    return (tanh(a) if nonlinearity == "tanh" else relu(a),)


def lstm_cell(x, state: tuple, weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> tuple:
    """LSTM step (gate order i, f, g, o as PyTorch):
    i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*), g = tanh(W_ig x + b_ig + W_hg h + b_hg),
    c' = f c + i g, h' = o tanh(c'); returns (h', c')."""
    state = _state_tuple("lstm_cell", state, ("h", "c"))
    done = _on_arrays(cell_arrays.lstm_step, 4, x, state, (weight_ih, weight_hh, bias_ih, bias_hh))
    if done is not None:
        return done
    h, c = state
    hidden = weight_hh.shape[1]
    a = _pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    i = sigmoid(_gate(a, 0, hidden))
    f = sigmoid(_gate(a, 1, hidden))
    g = tanh(_gate(a, 2, hidden))
    o = sigmoid(_gate(a, 3, hidden))
    c_new = f * c + i * g
    return o * tanh(c_new), c_new


def gru_cell(x, state: tuple, weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> tuple:
    """GRU step (gate order r, z, n as PyTorch): r, z = sigmoid(W_i* x + b_i* + W_h* h + b_h*),
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h; returns (h',)."""
    state = _state_tuple("gru_cell", state, ("h",))
    done = _on_arrays(cell_arrays.gru_step, 3, x, state, (weight_ih, weight_hh, bias_ih, bias_hh))
    if done is not None:
        return done
    h = state[0]
    hidden = weight_hh.shape[1]
    from_input = linear(x, weight_ih, bias_ih)
    from_state = linear(h, weight_hh, bias_hh)
    r = sigmoid(_gate(from_input, 0, hidden) + _gate(from_state, 0, hidden))
    z = sigmoid(_gate(from_input, 1, hidden) + _gate(from_state, 1, hidden))
    n = tanh(_gate(from_input, 2, hidden) + r * _gate(from_state, 2, hidden))
    return ((1 - z) * n + z * h,)


def watched_state(on_state: Callable, t: int, state: tuple) -> tuple:
    """``on_state(t, state)``'s answer: the state to continue with. None (an observer that only
    watches) keeps ``state``; anything else must be a tuple of as many tensors."""
    answer = on_state(t, state)
    if answer is None:
        return state
    if not isinstance(answer, (tuple, list)) or len(answer) != len(state):
        raise ConfigError(f"stepwise: on_state(t, state) returned {answer!r} at step {t}; it must "
                          f"return None (keep the state) or a tuple of {len(state)} tensor(s) "
                          "like the state it was given")
    return tuple(answer)


def unroll(cell: Callable, x, initial: tuple, lengths=None, reverse: bool = False,
           on_state: Callable | None = None) -> tuple:
    """Run ``cell(x_t, state) -> state`` over x (time, batch, features), one step at a time;
    returns (output (time, batch, hidden), final state tuple).

    ``lengths`` (batch,): past a sequence's end its state is kept and its output is zero.
    ``reverse``: each sequence runs from its last real step back to its first.
    ``on_state(t, state) -> state or None`` (optional) sees every new state, t in the caller's
    time order, and may hand back a replacement (``gradient_flow`` puts its probes there);
    None keeps the state."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    state = tuple(s if isinstance(s, Tensor) else Tensor(np.asarray(s)) for s in initial)
    steps = x.shape[0]
    outputs: list = [None] * steps
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
        new_state = tuple(cell(getitem(x, t), state))
        if lengths is not None:
            running = (t < np.asarray(lengths))[:, None]
            new_state = tuple(where(running, new, old) for new, old in zip(new_state, state))
        if on_state is not None:
            new_state = watched_state(on_state, t, new_state)
        state = new_state
        outputs[t] = state[0] if lengths is None else where(running, state[0], 0.0)
    return stack(outputs, axis=0), state
