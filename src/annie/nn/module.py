"""``Module``, the base of every layer and model, and ``Parameter``, a tensor that is learned.

A Module finds its parameters and sub-modules by walking its attributes in the order they were
set, and names them as PyTorch does (``0.weight``, ``rnn.weight_ih_l0``), so a PyTorch
``state_dict`` converted to NumPy arrays loads unchanged.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError, SerializationError, ShapeError
from ..tensor import Tensor, no_grad


class _Budgets(threading.local):
    """The element budgets of this thread (a load in one thread never charges the modules
    another thread builds meanwhile)."""

    def __init__(self):
        self.stack: list[int] = []  # elements modules may still make, innermost last


_budgets = _Budgets()


@contextlib.contextmanager
def element_budget(elements: int):
    """Inside: parameters and buffers made in all hold at most ``elements`` values, else a
    SerializationError. ``annie.load`` rebuilds a saved architecture in one,
    with the file's own tensor count as the bound, so a file cannot make a constructor build a
    layer larger than the weights it holds (``np.empty`` reserves without touching memory, and
    the check comes before anything is written into it). The budget holds for the thread that
    enters it."""
    _budgets.stack.append(int(elements))
    try:
        yield
    finally:
        _budgets.stack.pop()


def _charge(array: np.ndarray, what: str) -> None:
    budgets = _budgets.stack
    if budgets:
        budgets[-1] -= int(np.size(array))
        if budgets[-1] < 0:
            raise SerializationError(f"a {what} of shape {tuple(np.shape(array))} takes the "
                                     f"architecture past the number of values the file holds")


class Parameter(Tensor):
    """A tensor that a Module learns: ``requires_grad`` is on and ``parameters()`` yields it."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        _charge(self.data, "parameter")

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__() + ")"


class Module:
    """Base class of layers and models: define ``__init__`` (set parameters and sub-modules as
    attributes) and ``forward``; call the module to run it."""

    training: bool
    # Optional ``forward_array(self, array) -> ndarray``: the same forward on a raw ndarray with
    # no graph, which ``Sequential`` uses under ``no_grad()`` to skip per-layer Tensor wrapping.
    # A subclass that redefines ``forward`` without redefining it loses the inherited one.
    forward_array = None
    # Optional ``parameter_shapes(*args, **kwargs) -> {name: shape}`` (a staticmethod): the
    # shapes of the parameters the constructor makes from these arguments, computed without
    # making them; ``annie.load`` checks a file's tensors against it before building anything.
    # A subclass that redefines ``__init__`` without redefining it loses the inherited one.
    parameter_shapes = None

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_buffers", OrderedDict())

    def __init_subclass__(cls, **kwargs) -> None:
        """Wrap each subclass's own ``__init__`` so every module remembers how it was built."""
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__dict__["__init__"])
        redefines_forward = "forward" in cls.__dict__ or "__call__" in cls.__dict__
        if redefines_forward and "forward_array" not in cls.__dict__:
            cls.forward_array = None  # an inherited array path would skip the new forward
        if "__init__" in cls.__dict__ and "parameter_shapes" not in cls.__dict__:
            cls.parameter_shapes = None  # other arguments, other parameters

    # ----- running ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- walking the tree -------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """Direct sub-modules with their attribute names (list items as ``name.i``)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self) -> Iterator["Module"]:
        """Direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every sub-module, depth first, with dotted names."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        """This module and every sub-module, depth first."""
        for _, module in self.named_modules():
            yield module

    def _own_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted PyTorch-style name, each one once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, param in module._own_parameters():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> list[Parameter]:
        """Every parameter, in a fixed order (the order optimizers and state dicts use)."""
        return [param for _, param in self.named_parameters()]

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep an array that is state but not learned (saved in ``state_dict``)."""
        _charge(value, "buffer")
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every buffer (state that is not learned) with its dotted name."""
        for module_name, module in self.named_modules():
            for name in module._buffers:
                yield (f"{module_name}.{name}" if module_name else name), getattr(module, name)

    def num_parameters(self) -> int:
        """The number of learned scalars."""
        return int(sum(param.size for param in self.parameters()))

    # ----- modes, gradients and dtype ---------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch to training mode (dropout active) or, with ``mode=False``, evaluation mode."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode (dropout off)."""
        return self.train(False)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator["Module"]:
        """Context for predicting, decoding and exporting: inside, evaluation mode (dropout
        off) and no graph recorded; on leaving, every sub-module's own train/eval mode comes
        back. ``with model.evaluating(): model(x)``."""
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                yield self
        finally:
            for module, mode in modes:
                object.__setattr__(module, "training", mode)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter."""
        for param in self.parameters():
            param.grad = None

    def to(self, dtype) -> "Module":
        """Convert every parameter and buffer to ``dtype`` in place (e.g. ``np.float64``)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ConfigError(f"to(): dtype must be a float dtype, got {dtype}")
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param.grad = None
        for module in self.modules():
            for name in module._buffers:
                value = getattr(module, name)
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    module.register_buffer(name, value.astype(dtype))
        return self

    def double(self) -> "Module":
        """Convert to float64."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Convert to float32."""
        return self.to(np.float32)

    # ----- state ------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> copy of every parameter and buffer, with PyTorch's names."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, param in self.named_parameters():
            state[name] = param.data.copy()
        for name, buffer in self.named_buffers():
            state[name] = np.array(buffer, copy=True)
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers of the same names (cast to their dtype).

        With ``strict``, a missing or unexpected name is an error; a shape mismatch always is.
        Nothing is changed unless every entry fits.
        """
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(params) | set(buffers)
        given = set(state_dict)
        if strict and expected != given:
            missing = sorted(expected - given)
            unexpected = sorted(given - expected)
            raise ConfigError(f"load_state_dict into {type(self).__name__}: missing keys {missing}, "
                              f"unexpected keys {unexpected}")
        updates = []
        for name, value in state_dict.items():
            if isinstance(value, Tensor):
                value = value.data
            value = np.asarray(value)
            target = params.get(name)
            current = target.data if target is not None else buffers.get(name)
            if current is None:
                continue
            if value.shape != current.shape:
                raise ShapeError(f"load_state_dict into {type(self).__name__}: {name!r} has shape "
                                 f"{value.shape} in the state dict, {current.shape} in the model")
            updates.append((name, value.astype(current.dtype, copy=True)))
        for name, value in updates:
            if name in params:
                params[name].data = value
            else:
                owner, _, attribute = name.rpartition(".")
                module = dict(self.named_modules())[owner]
                module.register_buffer(attribute, value)

    # ----- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings for ``repr`` (e.g. ``in_features=4, out_features=2``); by
        default the arguments its constructor was given, other than sub-modules."""
        recorded = vars(self).get("_init_args")
        if not recorded:
            return ""
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *recorded["args"],
                                                                **recorded["kwargs"])
        except TypeError:
            return ""
        parts = []
        for index, (name, value) in enumerate(bound.arguments.items()):
            kind = bound.signature.parameters[name].kind
            if index == 0:  # self
                continue
            if kind is inspect.Parameter.VAR_POSITIONAL:
                parts += [_short_repr(item) for item in value if not _holds_modules(item)]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                parts += [f"{key}={_short_repr(item)}" for key, item in value.items()
                          if not _holds_modules(item)]
            elif not _holds_modules(value):
                parts.append(f"{name}={_short_repr(value)}")
        return ", ".join(parts)

    def summary(self, input_shape=None, dtype=None):
        """A Keras-style table of the layers: name (type), output shape, parameter count,
        trainable or not, and the totals (trainable, non-trainable: frozen parameters and
        buffers, and the size in bytes). Print it, or let a notebook show it.

        ``input_shape``: the shape of one sample without the batch axis, e.g. ``(64,)`` for an
        MLP or ``(time, features)`` for a recurrent model; the model then runs once (no graph,
        evaluation mode) on zeros to find each layer's output shape, the batch axis shown as
        None. Without it the shapes are left out. ``dtype``: of those zeros (default: integer
        token ids for an Embedding-first model, else the parameters' dtype). Returns a
        ``ModelSummary`` (``.rows``, ``.total``, ``.trainable``, ``.non_trainable``); a shape the
        model rejects is a ShapeError naming it."""
        from .summary import summarize
        return summarize(self, input_shape, dtype)

    def __repr__(self) -> str:
        """PyTorch's layout: ``Name(settings)``, or with sub-modules one line each, nested."""
        extra = self.extra_repr()
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _holds_modules(value) -> bool:
    """True for a Module or a list/tuple of them (shown as children, not as arguments)."""
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, Module) for item in value)
    return isinstance(value, Module)


def _short_repr(value) -> str:
    """``repr`` of a constructor argument; arrays and tensors by their shape and dtype, long
    values cut to 60 characters."""
    array = value.data if isinstance(value, Tensor) else value
    if isinstance(array, np.ndarray):
        return f"array(shape={array.shape}, dtype={array.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + " ..."


def _recording_init(init):
    """``init`` that first stores its arguments in ``self._init_args`` ({"args", "kwargs"}).

    Only the outermost constructor call records (a subclass calling ``super().__init__`` does
    not overwrite it), so ``type(m)(*m._init_args["args"], **m._init_args["kwargs"])`` builds
    the same architecture again; ``annie.io`` saves models this way.
    """

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "_init_args" not in vars(self):
            object.__setattr__(self, "_init_args", {"args": args, "kwargs": kwargs})
        init(self, *args, **kwargs)

    return __init__
