"""Recurrent cells ``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, for loops written by
hand (decoders, generation). Each step is the whole-sequence kernel run for a single step, so a
cell and its sequence layer compute the same formulas; parameters are PyTorch's
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``) with its initialisation."""
from __future__ import annotations

import math

import numpy as np

from .. import init
from ..backend import get_default_dtype
from ..errors import ConfigError, ShapeError
from ..functional.recurrent import gru, lstm, rnn
from ..ops import squeeze, unsqueeze
from ..tensor import Tensor
from .module import Module, Parameter


class RecurrentCell(Module):
    """Shared parameters and checks of the three cells."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        owner = type(self).__name__
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
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

    def _prepare(self, x, state, name: str):
        """x as (1, batch, input_size) for the kernel, the state as (batch, hidden) or zeros,
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
        if state is None:
            state = np.zeros((batch, self.hidden_size), dtype=x.dtype)
        else:
            if not isinstance(state, Tensor):
                state = Tensor(np.asarray(state))
            if unbatched and state.ndim == 1:
                state = unsqueeze(state, 0)
            if tuple(state.shape) != (batch, self.hidden_size):
                raise ShapeError(f"{owner}: {name} must have shape ({batch}, {self.hidden_size}), "
                                 f"got {tuple(state.shape)}")
        return unsqueeze(x, 0), state, unbatched

    def _finish(self, state, unbatched: bool):
        return squeeze(state, 0) if unbatched else state

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

    def forward(self, x, state=None):
        """The next hidden state h' for input x (batch, input_size) and state h (batch, hidden)."""
        x3, h, unbatched = self._prepare(x, state, "state")
        _, h_next = rnn(x3, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                        nonlinearity=self.nonlinearity)
        return self._finish(h_next, unbatched)


class LSTMCell(RecurrentCell):
    """c' = f*c + i*g, h' = o*tanh(c') with gates i, f, g, o; returns (h', c')."""

    gates = 4

    def forward(self, x, state=None):
        """(h', c') for input x (batch, input_size) and state (h, c) (zeros when None)."""
        if state is None:
            h = c = None
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            h, c = state
        else:
            raise ShapeError(f"LSTMCell: state must be a (h, c) pair, got {type(state).__name__}")
        x3, h, unbatched = self._prepare(x, h, "h")
        _, c, _ = self._prepare(x, c, "c")
        _, h_next, c_next = lstm(x3, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                                 self.bias_hh)
        return self._finish(h_next, unbatched), self._finish(c_next, unbatched)


class GRUCell(RecurrentCell):
    """n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h with gates r, z, n."""

    gates = 3

    def forward(self, x, state=None):
        """The next hidden state h' for input x (batch, input_size) and state h (batch, hidden)."""
        x3, h, unbatched = self._prepare(x, state, "state")
        _, h_next = gru(x3, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return self._finish(h_next, unbatched)
