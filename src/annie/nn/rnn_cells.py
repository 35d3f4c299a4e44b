"""Recurrent cells ``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, for loops written by
hand (decoders, generation), and ``Stepwise``, the per-step seam they share with the sequence
layers. A cell runs its formula from ``annie.functional.recurrent`` (``rnn_cell``, ``lstm_cell``,
``gru_cell``: differentiable ops), the same formula the sequence layers' ``step`` exposes and
their fused kernels are tested equal to; parameters are PyTorch's (``weight_ih``,
``weight_hh``, ``bias_ih``, ``bias_hh``) with its initialisation."""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import numpy as np

from .. import init
from ..backend import get_default_dtype
from ..errors import ConfigError, ShapeError, check_positive_int
from ..functional.recurrent import gru_cell, lstm_cell, rnn_cell, watched_state
from ..ops import squeeze, unsqueeze
from ..tensor import Tensor
from .module import Module, Parameter


def _no_watch(name: str, steps: int) -> None:
    return None


class Stepwise:
    """The per-step seam of recurrent layers and cells.

    ``step(...)`` runs one time step of the cell formula. Inside ``with module.stepwise(watch):``
    every step goes through ``step`` (a sequence layer runs the generic loop
    ``functional.recurrent.unroll`` instead of its fused kernel, with the same result), and at
    the start of each sequence ``watch(name, steps)`` may hand back ``on_state(t, state) ->
    state``, called with every new state (a tuple (h,) or (h, c)); whatever it returns
    continues the recurrence (None: the state it was given, for an observer that only
    watches). ``name`` is the (layer, direction) key such as ``"l0"`` or ``"l1_reverse"`` for
    a sequence layer and ``""`` for a cell (one step per call)."""

    _watch: Callable | None = None  # set while stepwise

    @contextlib.contextmanager
    def stepwise(self, watch: Callable | None = None):
        """Run step by step (see the class docstring) until the block ends."""
        previous = vars(self).get("_watch")
        self._watch = watch if watch is not None else _no_watch
        try:
            yield self
        finally:
            if previous is None:
                vars(self).pop("_watch", None)
            else:
                self._watch = previous

    def _on_state(self, name: str, steps: int) -> Callable | None:
        return None if self._watch is None else self._watch(name, steps)


class RecurrentCell(Stepwise, Module):
    """Shared parameters, checks and forward of the three cells."""

    gates = 1
    state_count = 1  # h, or (h, c) for LSTMCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_positive_int(input_size, "input_size", owner)
        self.hidden_size = check_positive_int(hidden_size, "hidden_size", owner)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        rows = self.gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((rows, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((rows, self.hidden_size), dtype))
        self.bias_ih = Parameter(np.empty(rows, dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(rows, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def cell_formula(self, x, state: tuple, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """The step formula (a function of ``annie.functional.recurrent``)."""
        raise NotImplementedError  # pragma: no cover

    def step(self, x, state: tuple) -> tuple:
        """One step of the cell formula with this cell's parameters: x (batch, input_size),
        state a tuple of (batch, hidden_size) tensors -> the new state tuple."""
        return tuple(self.cell_formula(x, state, self.weight_ih, self.weight_hh, self.bias_ih,
                                       self.bias_hh))

    def forward(self, x, state=None):
        """The next state for input x (batch, input_size) or (input_size,): h' for RNNCell and
        GRUCell, (h', c') for LSTMCell; a missing state is zeros."""
        x, states, unbatched = self._prepare(x, state)
        new_state = self.step(x, states)
        on_state = self._on_state("", 1)
        if on_state is not None:
            new_state = watched_state(on_state, 0, new_state)
        if unbatched:
            new_state = tuple(squeeze(s, 0) for s in new_state)
        return new_state[0] if self.state_count == 1 else new_state

    def _prepare(self, x, state):
        """x as (batch, input_size), the states as (batch, hidden) tensors (zeros when None),
        and whether the input was a single unbatched vector."""
        owner = type(self).__name__
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{owner}(input_size={self.input_size}, hidden_size="
                             f"{self.hidden_size}): expected input (batch, {self.input_size}) or "
                             f"({self.input_size},), got shape {tuple(x.shape)}")
        unbatched = x.ndim == 1
        x = unsqueeze(x, 0) if unbatched else x
        batch = x.shape[0]
        if self.state_count == 1:
            states, names = (state,), ("state",)
        elif state is None:
            states, names = (None, None), ("h", "c")
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            states, names = tuple(state), ("h", "c")
        else:
            raise ShapeError(f"{owner}: state must be a (h, c) pair, got {type(state).__name__}")
        prepared = []
        for value, name in zip(states, names):
            if value is None:
                prepared.append(Tensor(np.zeros((batch, self.hidden_size), dtype=x.dtype)))
                continue
            if not isinstance(value, Tensor):
                value = Tensor(np.asarray(value))
            if unbatched and value.ndim == 1:
                value = unsqueeze(value, 0)
            if tuple(value.shape) != (batch, self.hidden_size):
                raise ShapeError(f"{owner}: {name} must have shape ({batch}, {self.hidden_size}), "
                                 f"got {tuple(value.shape)}")
            prepared.append(value)
        return x, tuple(prepared), unbatched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias_ih is not None
                                                           else ", bias=False")


class RNNCell(RecurrentCell):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', "
                              f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.rnn_cell`` with this cell's nonlinearity."""
        return rnn_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh, self.nonlinearity)


class LSTMCell(RecurrentCell):
    """c' = f*c + i*g, h' = o*tanh(c') with gates i, f, g, o; returns (h', c')."""

    gates = 4
    state_count = 2

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.lstm_cell``."""
        return lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)


class GRUCell(RecurrentCell):
    """n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h with gates r, z, n."""

    gates = 3

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.gru_cell``."""
        return gru_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
