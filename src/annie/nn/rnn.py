"""Recurrent sequence layers ``RNN``, ``LSTM`` and ``GRU``: stacks of whole-sequence kernels.

Each (layer, direction) is one fused op from ``annie.functional.recurrent``; layers stack by
feeding one layer's output (both directions side by side) to the next. ``step`` exposes the
cell formula of any (layer, direction), and inside ``with layer.stepwise(watch):`` the layer
runs that formula step by step through the generic loop ``unroll`` instead of the fused kernel
(same results; see ``Stepwise``). Parameter names, shapes, gate order and initialisation are
PyTorch's, so a converted PyTorch ``state_dict`` loads as is. Unlike PyTorch,
``batch_first=True`` is the default: input (batch, time, features).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import init
from ..backend import get_default_dtype
from ..errors import ConfigError, DTypeError, ShapeError, check_positive_int
from ..functional.dropout import dropout
from ..functional.recurrent import gru, gru_cell, lstm, lstm_cell, rnn, rnn_cell, unroll
from ..functional.recurrent import cell_arrays
from ..functional.recurrent.kernel import check_inputs
from ..functional.recurrent.layout import ScratchPool, check_lengths
from ..ops import concat, getitem, stack, swapaxes
from ..tensor import Tensor, is_graph_free, wrap_array
from .module import Module, Parameter
from .rnn_cells import Stepwise

RECURRENT_INITS = ("uniform", "orthogonal", "identity")


class RecurrentLayer(Stepwise, Module):
    """Shared machinery of RNN, LSTM and GRU: parameters, initialisation, stacking, directions,
    and the per-step seam (``step``, ``stepwise``)."""

    gates = 1  # gate blocks in weight_ih / weight_hh (RNN 1, GRU 3, LSTM 4)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 recurrent_init: str = "uniform", dtype=None, stateful: bool = False):
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_positive_int(input_size, "input_size", owner)
        self.hidden_size = check_positive_int(hidden_size, "hidden_size", owner)
        self.num_layers = check_positive_int(num_layers, "num_layers", owner)
        if (not isinstance(dropout, numbers.Real) or isinstance(dropout, bool)
                or not 0 <= dropout < 1):
            raise ConfigError(f"{owner}: dropout must be a probability in [0, 1), got {dropout!r}")
        if recurrent_init not in RECURRENT_INITS:
            raise ConfigError(f"{owner}: recurrent_init must be one of {RECURRENT_INITS}, "
                              f"got {recurrent_init!r}")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.recurrent_init = recurrent_init
        self.stateful = bool(stateful)
        self.carried_state: list[np.ndarray] | None = None  # see reset_state
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        directions = 2 if self.bidirectional else 1
        rows = self.gates * self.hidden_size
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * directions
            for suffix in self._suffixes():
                name = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{name}", Parameter(np.empty((rows, layer_input), dtype)))
                setattr(self, f"weight_hh_{name}",
                        Parameter(np.empty((rows, self.hidden_size), dtype)))
                if self.bias:
                    setattr(self, f"bias_ih_{name}", Parameter(np.empty(rows, dtype)))
                    setattr(self, f"bias_hh_{name}", Parameter(np.empty(rows, dtype)))
        self.reset_parameters()
        # the kernels' large internal arrays, reused from one call to the next (memory only)
        self._workspace = ScratchPool(per_shape=2 * directions * self.num_layers)

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        """PyTorch's init: every weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden)); with
        ``recurrent_init="orthogonal"`` each gate's block of weight_hh is an orthogonal matrix;
        with ``recurrent_init="identity"`` each block is the identity matrix and every bias
        starts at 0 (with ``nonlinearity="relu"``: the IRNN of Le, Jaitly & Hinton 2015)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        block_init = {"orthogonal": init.orthogonal_, "identity": init.eye_}.get(
            self.recurrent_init)
        for name, param in self.named_parameters():
            init.uniform_(param, -bound, bound)
            if name.startswith("weight_hh") and block_init is not None:
                for gate in range(self.gates):  # each gate's (hidden, hidden) block
                    rows = slice(gate * self.hidden_size, (gate + 1) * self.hidden_size)
                    param.data[rows] = block_init(Tensor(np.empty_like(param.data[rows]))).data
            if name.startswith("bias") and self.recurrent_init == "identity":
                init.zeros_(param)

    def _layer_parameters(self, layer: int, suffix: str) -> list:
        name = f"l{layer}{suffix}"
        bias = ([getattr(self, f"bias_ih_{name}"), getattr(self, f"bias_hh_{name}")] if self.bias
                else [None, None])
        return [getattr(self, f"weight_ih_{name}"), getattr(self, f"weight_hh_{name}"), *bias]

    def _check_input(self, x) -> Tensor:
        owner = type(self).__name__
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        layout = "(batch, time, input_size)" if self.batch_first else "(time, batch, input_size)"
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{owner}(input_size={self.input_size}, hidden_size="
                             f"{self.hidden_size}): expected input {layout} with input_size "
                             f"{self.input_size}, got shape {tuple(x.shape)}")
        if x.dtype.kind != "f":
            raise DTypeError(f"{owner}: input must be a float array, got dtype {x.dtype}")
        if x.shape[1 if self.batch_first else 0] == 0:
            raise ShapeError(f"{owner}: the input has no time steps (shape {tuple(x.shape)}); "
                             f"a sequence needs at least one step")
        return x

    def _initial_state(self, state, batch: int, dtype, name: str):
        """The initial state as a list, one (batch, hidden) entry per layer and direction."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        if state is None:
            zeros = np.zeros((batch, self.hidden_size), dtype=dtype)
            return [zeros] * count
        if not isinstance(state, Tensor):
            state = Tensor(np.asarray(state))
        expected = (count, batch, self.hidden_size)
        if tuple(state.shape) != expected:
            raise ShapeError(f"{type(self).__name__}: {name} must have shape (num_layers * "
                             f"num_directions, batch, hidden_size) = {expected}, "
                             f"got {tuple(state.shape)}")
        if is_graph_free():  # no gradient flows back into the state: its rows as they are
            return list(state.data)
        return [getitem(state, k) for k in range(count)]

    def reset_state(self) -> None:
        """Forget the state a ``stateful`` layer carries: the next call starts from zeros.

        With ``stateful=True`` a call without an initial state starts from the final state of
        the previous call (detached: gradients never flow into an earlier call), so a long
        sequence can be fed in consecutive pieces, row i of each batch continuing row i of the
        previous one. ``fit`` calls this at the start of every epoch."""
        self.carried_state = None

    def _carried_initial(self, states: list, batch: int) -> list:
        """The initial states of this call: the given ones, or the carried ones (stateful)."""
        if not self.stateful or self.carried_state is None or any(s is not None for s in states):
            return states
        carried_batch = self.carried_state[0].shape[1]
        if carried_batch != batch:
            raise ShapeError(f"{type(self).__name__}(stateful=True): the carried state is for "
                             f"batches of {carried_batch} sequences, this input has {batch}; "
                             f"use one batch size (or call reset_state() first)")
        return list(self.carried_state)

    def _dropout_between_layers(self, x: Tensor) -> Tensor:
        return dropout(x, self.dropout, training=self.training)

    def _run(self, x, states: list, lengths):
        """Run every layer and direction; ``states`` holds one initial-state list per state
        (h, or h and c). Returns the output and the final states, stacked per state."""
        x = self._check_input(x)
        batch_axis = 0 if self.batch_first else 1
        batch, steps = x.shape[batch_axis], x.shape[1 - batch_axis]
        lengths = check_lengths(lengths, steps, batch, type(self).__name__)
        states = self._carried_initial(states, batch)
        initial = [self._initial_state(state, batch, x.dtype, name)
                   for state, name in zip(states, ("h0", "c0"))]
        if steps == 1 and self._watch is None and is_graph_free():
            output, stacked = self._run_one_step(x, initial)  # a stream or a decoder
        else:
            output, stacked = self._run_sequence(x, initial, lengths)
        if self.stateful:
            self.carried_state = [final.data.copy() for final in stacked]
        return output, stacked

    def _run_sequence(self, x, initial: list, lengths) -> tuple:
        """Each layer and direction through its fused kernel (or, while ``stepwise``, the
        unrolled cell loop); returns (output, final states stacked per state)."""
        layer_input = swapaxes(x, 0, 1) if self.batch_first else x
        finals: list[list] = [[] for _ in initial]
        index = 0
        for layer in range(self.num_layers):
            if layer > 0:
                layer_input = self._dropout_between_layers(layer_input)
            outputs = []
            for direction, suffix in enumerate(self._suffixes()):
                start = [state[index] for state in initial]
                if self._watch is None:
                    result = self._kernel(layer_input, start,
                                          self._layer_parameters(layer, suffix), lengths,
                                          reverse=direction == 1)
                else:
                    result = self._unrolled(layer_input, start, layer, direction, lengths)
                outputs.append(result[0])
                for final, value in zip(finals, result[1:]):
                    final.append(value)
                index += 1
            layer_input = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
        output = swapaxes(layer_input, 0, 1) if self.batch_first else layer_input
        return output, [stack(final, axis=0) for final in finals]

    def _run_one_step(self, x, initial: list) -> tuple:
        """A one-step input under no_grad (a stream or a decoder fed one step per call), on
        raw arrays as ``Sequential`` runs its layers' array paths: each layer and direction is
        the cell formula once (``functional.recurrent.cell_arrays``; one step is its own
        reverse and every length is 1), the same numbers its kernel gives without setting a
        kernel up per call. The kernel's checks run first, so a wrong input gets its errors."""
        layer_input = x.data[:, 0] if self.batch_first else x.data[0]  # (batch, input)
        finals: list[list] = [[] for _ in initial]
        index = 0
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout:
                layer_input = self._dropout_between_layers(wrap_array(layer_input)).data
            outputs = []
            for suffix in self._suffixes():
                params = tuple(map(cell_arrays.array_of, self._layer_parameters(layer, suffix)))
                start = tuple(cell_arrays.array_of(state[index]) for state in initial)
                check_inputs(type(self).__name__.lower(), layer_input[None], start, *params,
                             self.gates)
                new_state = self.array_step(layer_input, start, params)
                outputs.append(new_state[0])
                for final, value in zip(finals, new_state):
                    final.append(value)
                index += 1
            layer_input = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)
        output = layer_input[:, None] if self.batch_first else layer_input[None]
        return wrap_array(output), [wrap_array(np.stack(final)) for final in finals]

    def _kernel(self, x, start: list, params: list, lengths, reverse: bool):  # pragma: no cover
        raise NotImplementedError

    def cell_formula(self, x, state: tuple, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """The step formula (a function of ``annie.functional.recurrent``)."""
        raise NotImplementedError  # pragma: no cover

    def array_step(self, x, state: tuple, params: tuple) -> tuple:
        """The step formula on checked raw arrays (``functional.recurrent.cell_arrays``)."""
        raise NotImplementedError  # pragma: no cover

    def step(self, x, state: tuple, layer: int = 0, direction: int = 0) -> tuple:
        """One time step of layer ``layer``'s cell formula (``direction`` 1: the reverse
        direction's parameters): x (batch, input of that layer), state a tuple of (batch,
        hidden_size) tensors, (h,) or (h, c) -> the new state tuple. Differentiable; the fused
        kernel computes the same over a whole sequence."""
        if not 0 <= layer < self.num_layers or direction not in range(len(self._suffixes())):
            raise ConfigError(f"{type(self).__name__}.step: no layer {layer} direction "
                              f"{direction} (num_layers={self.num_layers}, "
                              f"bidirectional={self.bidirectional})")
        params = self._layer_parameters(layer, self._suffixes()[direction])
        return tuple(self.cell_formula(x, state, *params))  # the cell checks the state tuple

    def _unrolled(self, x, start: list, layer: int, direction: int, lengths) -> tuple:
        """One (layer, direction) through ``unroll`` over ``step``: the stepwise path."""
        name = f"l{layer}{self._suffixes()[direction]}"
        on_state = self._on_state(name, x.shape[0])
        output, final = unroll(lambda x_t, state: self.step(x_t, state, layer, direction), x,
                               tuple(start), lengths, reverse=direction == 1, on_state=on_state)
        return (output, *final)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if not self.batch_first:
            text += ", batch_first=False"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.stateful:
            text += ", stateful=True"
        if self.recurrent_init != "uniform":
            text += f", recurrent_init={self.recurrent_init!r}"
        return text


class RNN(RecurrentLayer):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu), stacked
    ``num_layers`` deep; returns (output, h_n), h_n of shape (layers*directions, batch, hidden)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = True,
                 dropout: float = 0.0, bidirectional: bool = False,
                 recurrent_init: str = "uniform", dtype=None, stateful: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, recurrent_init, dtype, stateful)

    def forward(self, x, h0=None, lengths=None):
        """(output, h_n) for x (batch, time, input_size); time first if not batch_first."""
        output, (h_n,) = self._run(x, [h0], lengths)
        return output, h_n

    def _kernel(self, x, start, params, lengths, reverse):
        return rnn(x, start[0], *params, lengths=lengths, reverse=reverse,
                   nonlinearity=self.nonlinearity, workspace=self._workspace)

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.rnn_cell`` with this layer's nonlinearity."""
        return rnn_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh, self.nonlinearity)

    def array_step(self, x, state: tuple, params: tuple) -> tuple:
        return cell_arrays.rnn_step(x, state, params, self.nonlinearity)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RecurrentLayer):
    """Long short-term memory: gates i, f, g, o (PyTorch's order); c_t = f*c_{t-1} + i*g,
    h_t = o*tanh(c_t). Returns (output, (h_n, c_n)). ``forget_bias`` is added to the forget
    gate's bias_ih at initialisation (1.0 is the classic remedy for vanishing gradients)."""

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 recurrent_init: str = "uniform", forget_bias: float = 0.0, dtype=None,
                 stateful: bool = False):
        if forget_bias and not bias:
            raise ConfigError(f"LSTM: forget_bias={forget_bias} needs bias=True")
        self.forget_bias = float(forget_bias)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, recurrent_init, dtype, stateful)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (f", forget_bias={self.forget_bias}" if self.forget_bias else "")

    def reset_parameters(self) -> None:
        """PyTorch's uniform init, then ``forget_bias`` added to the forget gate's bias_ih."""
        super().reset_parameters()
        if self.forget_bias and self.bias:
            forget = slice(self.hidden_size, 2 * self.hidden_size)
            for name, param in self.named_parameters():
                if name.startswith("bias_ih"):
                    param.data[forget] += self.forget_bias

    def forward(self, x, h0=None, lengths=None):
        """(output, (h_n, c_n)); ``h0`` is an optional (h_0, c_0) pair as in PyTorch."""
        if h0 is None:
            h_0 = c_0 = None
        elif isinstance(h0, (tuple, list)) and len(h0) == 2:
            h_0, c_0 = h0
        else:
            raise ShapeError("LSTM: the initial state h0 must be a (h_0, c_0) pair, "
                             f"got {type(h0).__name__}")
        output, (h_n, c_n) = self._run(x, [h_0, c_0], lengths)
        return output, (h_n, c_n)

    def _kernel(self, x, start, params, lengths, reverse):
        return lstm(x, start[0], start[1], *params, lengths=lengths, reverse=reverse,
                    workspace=self._workspace)

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.lstm_cell``."""
        return lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)

    def array_step(self, x, state: tuple, params: tuple) -> tuple:
        return cell_arrays.lstm_step(x, state, params)


class GRU(RecurrentLayer):
    """Gated recurrent unit: gates r, z, n (PyTorch's order);
    n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h_t = (1-z)*n + z*h_{t-1};
    returns (output, h_n)."""

    gates = 3

    def forward(self, x, h0=None, lengths=None):
        """(output, h_n) for x (batch, time, input_size); time first if not batch_first."""
        output, (h_n,) = self._run(x, [h0], lengths)
        return output, h_n

    def _kernel(self, x, start, params, lengths, reverse):
        return gru(x, start[0], *params, lengths=lengths, reverse=reverse,
                   workspace=self._workspace)

    def cell_formula(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
        """``functional.recurrent.gru_cell``."""
        return gru_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)

    def array_step(self, x, state: tuple, params: tuple) -> tuple:
        return cell_arrays.gru_step(x, state, params)
