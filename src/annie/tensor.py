"""The ``Tensor``, the ``Function`` base of every differentiable op, and reverse-mode autodiff.

A Tensor wraps an ndarray (``.data``) and, after ``backward()``, its gradient (``.grad``).
A tensor made by an op remembers the op instance (``_ctx``); the op remembers its inputs.
``backward()`` sorts that graph topologically without recursion (so a chain of 20,000 ops
works) and applies the chain rule node by node: dL/dx = sum over consumers y of dL/dy * dy/dx.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Sequence

import numpy as np

from . import backend
from .errors import DTypeError, ShapeError



class _GradMode(threading.local):
    """Whether ops record a graph, per thread (as PyTorch's grad mode): every thread starts
    with recording on, so ``no_grad()`` in one thread (a server predicting) never turns it
    off in another (a worker training)."""

    enabled = True


_grad_mode = _GradMode()
# detect_anomaly adds hook(phase, ctx, produced, received) here. Process-wide, as PyTorch's
# anomaly mode: a hook watches the ops of every thread.
_anomaly_hooks: list = []


def is_grad_enabled() -> bool:
    """True unless inside ``annie.no_grad()`` in this thread."""
    return _grad_mode.enabled


def is_graph_free() -> bool:
    """True when ops record no graph and no anomaly hook watches them (inside ``no_grad()``,
    outside ``detect_anomaly()``): a layer may then compute on raw arrays and wrap the result
    with :func:`wrap_array`, skipping the per-op bookkeeping."""
    return not _grad_mode.enabled and not _anomaly_hooks


class _GradModeSwitch:
    """A context (or decorator) that sets this thread's grad mode to ``enabled`` inside and
    restores the previous mode on leaving."""

    __slots__ = ("_previous",)
    enabled = True

    def __enter__(self) -> None:
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.enabled

    def __exit__(self, *error) -> None:
        _grad_mode.enabled = self._previous

    def __call__(self, function):
        """``@no_grad()`` on a function: each call runs inside a fresh context."""
        switch = type(self)

        @functools.wraps(function)
        def with_grad_mode(*args, **kwargs):
            with switch():
                return function(*args, **kwargs)
        return with_grad_mode


class no_grad(_GradModeSwitch):
    """Context in which ops record no graph: faster, for inference and parameter updates.
    It holds for the thread that enters it (other threads keep recording)."""

    __slots__ = ()
    enabled = False


class enable_grad(_GradModeSwitch):
    """Context that turns graph recording back on inside ``no_grad()`` (in this thread)."""

    __slots__ = ()
    enabled = True


def as_array(data: Any, dtype=None) -> np.ndarray:
    """Convert data to an ndarray: ndarrays keep their dtype (float32, float64, integer labels),
    Python numbers and lists become the default dtype (float32)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    return np.asarray(data, dtype=backend.get_default_dtype())


class Tensor:
    """An ndarray with an optional gradient and the op that made it."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_index", "name", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor calls the Tensor's reflected operator

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, name: str | None = None):
        array = as_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise DTypeError(
                f"Tensor: only floating-point tensors can require gradients, got dtype {array.dtype}")
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx: Function | None = None
        self._index: int = 0
        self.name = name

    # ----- basic properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (parameters, inputs), not by an op."""
        return self._ctx is None

    # ----- the array protocol: a Tensor works where an array or a number is expected --------
    def __len__(self) -> int:
        """The size of the first axis (a TypeError for a 0-d tensor, as for an ndarray)."""
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        """The sub-tensors along the first axis, ``self[0], self[1], ...`` (each differentiable)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for index in range(len(self.data)):
            yield self[index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The values as an ndarray, for ``np.asarray(t)`` and NumPy functions and ufuncs
        (``np.exp(t)`` returns an ndarray: NumPy computes outside the graph)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy's functions on tensors (``np.mean(t)``, ``np.max(t, axis=0)``,
        ``np.concatenate([t, u])``) compute on the values and return what they return for the
        ndarrays, outside the graph, as ufuncs do (``np.exp(t)``) and as for any array-like.
        The differentiable forms are annie's ops (``t.mean()``, ``annie.ops.concat``)."""
        return func(*_values(args), **_values(kwargs))

    def _one_value(self, what: str):
        if self.data.size != 1:
            raise ShapeError(f"{what}: only a one-element tensor converts to a Python number, "
                             f"this one has {self.data.size} elements (shape {self.data.shape})")
        return self.data.item()

    def __float__(self) -> float:
        return float(self._one_value("float()"))

    def __int__(self) -> int:
        return int(self._one_value("int()"))

    def __index__(self) -> int:
        """An integer one-element tensor used as an index (``range(t)``, ``list[t]``)."""
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got dtype "
                            f"{self.data.dtype}")
        return int(self._one_value("index"))

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor's value; other specs need one element."""
        if not spec:
            return str(self)
        return format(self._one_value(f"format spec {spec!r}"), spec)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._ctx is not None:
            extra = f", grad_fn={type(self._ctx).__name__}"
        return f"tensor({body}, dtype={self.data.dtype}{extra})"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; ambiguous (an error) for more elements, so that
        ``tensor in list`` or ``if tensor:`` cannot silently be True."""
        if self.data.size != 1:
            raise ShapeError(f"the truth value of a tensor with {self.data.size} elements is "
                             f"ambiguous (shape {self.data.shape}); use .any() or .all() on .data")
        return bool(self.data.item())

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self._one_value("item()")

    def tolist(self):
        """The values as nested Python lists."""
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing the data but cut off from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return self."""
        if flag and self.data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: dtype {self.data.dtype} cannot require gradients")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    # ----- autodiff ---------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) * grad into ``.grad`` of every leaf that requires grad.

        ``grad`` is the upstream gradient dL/d(self); it defaults to 1 for a one-element tensor.
        """
        if not self.requires_grad:
            raise ShapeError("backward(): this tensor does not require grad "
                             "(no input had requires_grad=True, or it was made under no_grad())")
        if grad is None:
            if self.data.size != 1:
                raise ShapeError(
                    f"backward(): grad can be left out only for a one-element tensor, "
                    f"this one has shape {self.data.shape}; pass grad= of that shape")
            grad = np.ones_like(self.data)
        else:
            grad = as_array(grad, self.data.dtype)
            if grad.shape != self.data.shape:
                raise ShapeError(f"backward(): grad has shape {grad.shape}, "
                                 f"tensor has shape {self.data.shape}")
        if self._ctx is None:
            _accumulate_leaf(self, grad)
            return
        run_backward(self._ctx, self._index, grad)


def _values(item):
    """``item`` with every Tensor in it (also inside lists, tuples and dicts) as its ndarray."""
    if isinstance(item, Tensor):
        return item.data
    if isinstance(item, list):
        return [_values(part) for part in item]
    if isinstance(item, tuple):
        return tuple(_values(part) for part in item)
    if isinstance(item, dict):
        return {key: _values(value) for key, value in item.items()}
    return item


def _accumulate_leaf(tensor: Tensor, grad: np.ndarray, fresh: bool = False) -> None:
    """Add ``grad`` into ``tensor.grad``; ``fresh`` says no one else holds ``grad`` (keep it)."""
    if grad.dtype != tensor.data.dtype:
        grad = grad.astype(tensor.data.dtype)
        fresh = True
    if tensor.grad is None:
        # never alias an array an op may hand to several inputs, unless the op made it anew
        tensor.grad = grad if fresh else grad.copy()
    else:
        tensor.grad += grad


def _topological_order(root: "Function") -> list:
    """Function nodes reachable from root, each after every node that consumes its output.

    Kahn's algorithm: count each node's consumer edges inside the graph, then release a node
    only when all of its consumers have been placed (a depth-first order that marks nodes when
    first seen can place a node before one of its consumers and lose that consumer's gradient).
    """
    pending = {id(root): 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            parent_node = parent._ctx
            if parent_node is None:
                continue
            key = id(parent_node)
            if key in pending:
                pending[key] += 1
            else:
                pending[key] = 1
                stack.append(parent_node)
    order: list = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            parent_node = parent._ctx
            if parent_node is None:
                continue
            key = id(parent_node)
            pending[key] -= 1
            if pending[key] == 0:
                ready.append(parent_node)
    return order


def run_backward(root: "Function", index: int, grad: np.ndarray) -> None:
    """Propagate ``grad`` (dL/d output ``index`` of ``root``) through the graph to the leaves."""
    order = _topological_order(root)
    root._grad_outputs = [None] * root.n_outputs
    root._grad_outputs[index] = grad
    for node in order:
        grad_outputs = node._grad_outputs
        if grad_outputs is None:
            continue
        node._grad_outputs = None
        if node.n_outputs == 1:
            grad_in = node.backward(grad_outputs[0])
        else:
            grad_in = node.backward(*grad_outputs)
        if not isinstance(grad_in, tuple):
            grad_in = (grad_in,)
        if _anomaly_hooks:
            for hook in _anomaly_hooks:
                hook("backward", node, grad_in, grad_outputs)
        fresh = node.fresh_grads
        for parent, parent_grad in zip(node.parents, grad_in):
            if parent_grad is None or not parent.requires_grad:
                continue
            parent_node = parent._ctx
            if parent_node is None:
                _accumulate_leaf(parent, parent_grad, fresh)
                continue
            if parent_node._grad_outputs is None:
                parent_node._grad_outputs = [None] * parent_node.n_outputs
            slot = parent_node._grad_outputs
            if slot[parent._index] is None:
                slot[parent._index] = parent_grad
            else:
                slot[parent._index] = slot[parent._index] + parent_grad


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(ctx, *arrays, **options) -> ndarray`` (or a tuple of ndarrays
    for several outputs) and ``backward(ctx, grad_output) -> grad per input`` on raw arrays; the
    instance itself is the ``ctx`` that carries what forward saved for backward.
    ``ctx.needs_input_grad[i]`` says whether input i needs a gradient (all False under
    ``no_grad()``, so forward may skip saving what only backward uses). Use ``Op.apply(...)``.
    A subclass whose backward returns only newly allocated arrays, each to one input and
    kept nowhere else, may set ``fresh_grads = True``: a leaf then keeps the array as its
    ``.grad`` instead of a copy.
    A subclass may also define ``inference(*arrays, **options)`` (a staticmethod) returning
    the forward value alone: when no graph is recorded and no anomaly hook is installed,
    ``apply`` calls it instead of ``forward``, with no ctx made and nothing saved.
    """

    __slots__ = ("parents", "needs_input_grad", "n_outputs", "_grad_outputs", "__dict__")
    fresh_grads = False
    inference = None  # optional staticmethod (*arrays, **options) -> forward value, no ctx

    def forward(ctx, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__}.forward is not defined")

    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__}.backward is not defined")

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays and, when a gradient is needed, record the node."""
        # The hot path of every op: one pass over the inputs, no per-output helper calls.
        grad_enabled = _grad_mode.enabled
        if not grad_enabled and cls.inference is not None and not _anomaly_hooks:
            # under no_grad(): the forward value alone, no ctx, nothing saved
            arrays = []
            for item in inputs:
                arrays.append(item.data if isinstance(item, Tensor) else item)
            result = cls.inference(*arrays, **options)
            if isinstance(result, tuple):
                return tuple(wrap_array(array) for array in result)
            return wrap_array(result)
        arrays = []
        needs = []
        record = False
        all_tensors = True
        for item in inputs:
            if isinstance(item, Tensor):
                arrays.append(item.data)
                if item.requires_grad:
                    record = True
                    needs.append(True)
                    continue
            else:
                arrays.append(item)
                all_tensors = False
            needs.append(False)
        if record and not grad_enabled:  # under no_grad() no input needs a gradient
            record = False
            needs = [False] * len(needs)
        if not record and cls.inference is not None and not _anomaly_hooks:
            # no input needs a gradient: the forward value alone, no ctx, nothing saved
            result = cls.inference(*arrays, **options)
            if isinstance(result, tuple):
                return tuple(wrap_array(array) for array in result)
            return wrap_array(result)
        ctx = cls()
        ctx.needs_input_grad = needs
        result = ctx.forward(*arrays, **options)
        if _anomaly_hooks:
            for hook in _anomaly_hooks:
                hook("forward", ctx, result if isinstance(result, tuple) else (result,), arrays)
        node = ctx if record else None
        if isinstance(result, tuple):
            outputs = tuple(wrap_array(array, node, i) for i, array in enumerate(result))
            ctx.n_outputs = len(result)
        else:
            outputs = wrap_array(result, node)
            ctx.n_outputs = 1
        if record:
            ctx.parents = inputs if all_tensors else tuple(
                item if isinstance(item, Tensor) else _CONSTANT for item in inputs)
            ctx._grad_outputs = None
        return outputs


def wrap_array(array: Any, node: "Function | None" = None, index: int = 0) -> Tensor:
    """A Tensor around an op's output array, with no copy and no conversion of float dtypes:
    output ``index`` of the recorded op ``node``, or (``node`` None) a tensor with no graph and
    no gradient. The one place tensors are made from computed arrays; ``Tensor()`` converts."""
    out = Tensor.__new__(Tensor)
    out.data = array if isinstance(array, np.ndarray) else np.asarray(array)
    out.grad = None
    out.requires_grad = node is not None
    out._ctx = node
    out._index = index
    out.name = None
    return out


_CONSTANT = Tensor(np.zeros(()))  # stands for a non-tensor input of a recorded op


def unbroadcast(grad: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def tensor(data: Any, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor. Float ndarrays keep their dtype; Python numbers and lists become float32."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
