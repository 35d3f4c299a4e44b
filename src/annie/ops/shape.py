"""Shape ops: reshape, transpose, indexing and slicing, concat, stack, split, broadcast."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError, ShapeError
from ..tensor import Function, Tensor, unbroadcast
from .axes import checked_dim, pick, picked_dim


# Each op's value as a plain function of arrays: its ``forward`` calls it and saves what backward
# needs; its ``inference`` is the function itself, which ``Function.apply`` calls when no graph is
# recorded (under no_grad(): no ctx, nothing saved). A shape op is a few microseconds of Python
# around a view, so that bookkeeping was most of its cost when predicting.
def _reshaped(a, shape=None):
    a = np.asarray(a)
    try:
        return a.reshape(shape)
    except ValueError:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                         f"({a.size} elements) into {tuple(shape)}") from None


def _transposed(a, axes=None):
    return np.asarray(a).transpose(axes)


def _item(a, index=None):
    try:
        return a[index]
    except IndexError as error:
        raise ShapeError(f"indexing: {error} (tensor shape {a.shape})") from None


def _joined(join, name: str, problem: str, arrays: tuple, axis: int):
    """``join(arrays, axis=axis)`` (np.concatenate or np.stack), a ShapeError naming the op
    and every shape when the shapes do not go together."""
    try:
        return join(arrays, axis=axis)
    except ValueError as error:
        shapes = [np.shape(a) for a in arrays]
        raise ShapeError(f"{name}(axis={axis}): shapes {shapes} {problem}: {error}") from None


def _concatenated(*arrays, axis=0):
    return _joined(np.concatenate, "concat", "do not fit", arrays, axis)


def _stacked(*arrays, axis=0):
    return _joined(np.stack, "stack", "differ", arrays, axis)


def _broadcast(a, shape=None):
    try:
        return np.broadcast_to(a, shape)
    except ValueError as error:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {np.shape(a)} to "
                         f"{tuple(shape)}: {error}") from None


class Reshape(Function):
    """The same elements in a new shape; the gradient is reshaped back."""

    inference = staticmethod(_reshaped)

    def forward(ctx, a, shape=None):
        ctx.shape = a.shape
        return _reshaped(a, shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    """Axes permuted; the gradient is permuted back by the inverse permutation."""

    inference = staticmethod(_transposed)

    def forward(ctx, a, axes=None):
        if axes is None:
            axes = tuple(reversed(range(a.ndim)))
        ctx.inverse = tuple(np.argsort(axes))
        return _transposed(a, axes)

    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(item, (list, np.ndarray)) for item in items)


class GetItem(Function):
    """a[index] for slices, integers and integer/boolean arrays.

    Backward scatters the gradient into zeros of a's shape (``np.add.at`` for array indices,
    so a row picked twice gets both gradients).
    """

    inference = staticmethod(_item)

    def forward(ctx, a, index=None):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return _item(a, index)

    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_advanced(ctx.index):
            np.add.at(out, ctx.index, grad)
        else:
            out[ctx.index] = grad
        return out


class Concat(Function):
    """Tensors joined along an existing axis; the gradient is split at the same places."""

    inference = staticmethod(_concatenated)

    def forward(ctx, *arrays, axis=0):
        out = _concatenated(*arrays, axis=axis)
        ctx.axis = axis
        ctx.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return out

    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """Tensors of one shape stacked along a new axis."""

    inference = staticmethod(_stacked)

    def forward(ctx, *arrays, axis=0):
        out = _stacked(*arrays, axis=axis)
        ctx.axis = axis
        ctx.count = len(arrays)
        return out

    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0)[i] for i in range(ctx.count))


class BroadcastTo(Function):
    """a broadcast to a larger shape; the gradient is summed back."""

    inference = staticmethod(_broadcast)

    def forward(ctx, a, shape=None):
        ctx.shape = a.shape
        return _broadcast(a, shape)

    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


def reshape(a, *shape) -> Tensor:
    """a with a new shape (one entry may be -1)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(a, shape=shape)


def transpose(a, *axes) -> Tensor:
    """a with its axes permuted (reversed when none are given); ``axes`` must name every axis
    once (NumPy's ``transpose``; ``swapaxes`` exchanges two, as PyTorch's ``transpose``)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if axes:
        checked = [checked_dim("transpose", axis, a.shape) for axis in axes]
        if sorted(checked) != list(range(a.ndim)):
            raise ShapeError(f"transpose: axes {tuple(axes)} do not name each of the {a.ndim} "
                             f"axes of a tensor of shape {tuple(a.shape)} once (to exchange two "
                             f"axes, use swapaxes)")
    return Transpose.apply(a, axes=axes or None)


def swapaxes(a, axis1: int, axis2: int) -> Tensor:
    """a with two axes exchanged."""
    axes = list(range(a.ndim))
    first, second = (checked_dim("swapaxes", axis1, a.shape),
                     checked_dim("swapaxes", axis2, a.shape))
    axes[first], axes[second] = axes[second], axes[first]
    return Transpose.apply(a, axes=tuple(axes))


def getitem(a, index) -> Tensor:
    """a[index]; tensors used as indices are taken as their integer or boolean arrays."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(item.data if isinstance(item, Tensor) else item for item in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return GetItem.apply(a, index=index)


def _shape_of(item) -> tuple:
    """A Tensor's or array-like's shape (a Tensor's directly: ``np.shape`` of a Tensor goes
    through NumPy's array-function dispatch, many times slower)."""
    return item.shape if isinstance(item, (Tensor, np.ndarray)) else np.shape(item)


def concat(tensors: Sequence, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis ``dim`` (default 0; ``axis`` is an alias)."""
    if len(tensors) == 0:
        raise ShapeError("concat: needs at least one tensor")
    axis = picked_dim("concat", dim, axis, _shape_of(tensors[0]), 0)
    return Concat.apply(*tensors, axis=axis)


def stack(tensors: Sequence, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Stack tensors of one shape along a new axis ``dim`` (default 0; ``axis`` is an alias)."""
    if len(tensors) == 0:
        raise ShapeError("stack: needs at least one tensor")
    axis = picked_dim("stack", dim, axis, _shape_of(tensors[0]), 0, new_axis=True)
    return Stack.apply(*tensors, axis=axis)


def split(a, sections, dim: int | None = None, *, axis: int | None = None) -> list:
    """Split a along ``dim`` (default 0; ``axis`` is an alias) into equal parts (an int) or at
    the given indices (a list), as NumPy's ``split``."""
    axis = picked_dim("split", dim, axis, a.shape, 0)
    size = a.shape[axis]
    if isinstance(sections, (int, np.integer)):
        if sections <= 0 or size % sections:
            raise ShapeError(f"split: axis {axis} of size {size} does not divide into "
                             f"{sections} equal parts")
        step = size // sections
        bounds = [(i * step, (i + 1) * step) for i in range(sections)]
    else:
        edges = [0, *sections, size]
        bounds = list(zip(edges[:-1], edges[1:]))
    prefix = (slice(None),) * axis
    return [getitem(a, prefix + (slice(start, stop),)) for start, stop in bounds]


def broadcast_to(a, shape) -> Tensor:
    """a broadcast to shape."""
    return BroadcastTo.apply(a, shape=tuple(shape))


def unsqueeze(a, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """a with a new axis of size 1 at position ``dim`` (``axis`` is an alias)."""
    if dim is None and axis is None:
        raise ConfigError("unsqueeze: dim is required (the position of the new axis)")
    shape = list(a.shape)
    shape.insert(picked_dim("unsqueeze", dim, axis, a.shape, new_axis=True), 1)
    return Reshape.apply(a, shape=tuple(shape))


def squeeze(a, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """a without axes of size 1 (only axis ``dim`` when given; ``axis`` is an alias)."""
    if dim is None and axis is None:
        shape = tuple(s for s in a.shape if s != 1)
    else:
        axis = picked_dim("squeeze", dim, axis, a.shape)
        if a.shape[axis] != 1:
            return Reshape.apply(a, shape=a.shape)
        shape = a.shape[:axis] + a.shape[axis + 1:]
    return Reshape.apply(a, shape=shape)


def flatten(a, start_dim: int | None = None, end_dim: int = -1, *,
            start_axis: int | None = None) -> Tensor:
    """a with axes ``start_dim`` (default 1, keeping the batch axis) to ``end_dim`` (default
    the last) merged into one; ``start_axis`` is an alias of ``start_dim``."""
    start = pick("flatten", "start_dim", start_dim, "start_axis", start_axis, 1)
    shape = a.shape
    ndim = len(shape)
    first = start + ndim if start < 0 else start
    last = end_dim + ndim if end_dim < 0 else end_dim
    if not 0 <= first <= last < ndim:
        raise ShapeError(f"flatten(start_dim={start}, end_dim={end_dim}): does not fit a "
                         f"tensor of shape {tuple(shape)}")
    merged = 1
    for size in shape[first:last + 1]:
        merged *= size
    return Reshape.apply(a, shape=shape[:first] + (merged,) + shape[last + 1:])
