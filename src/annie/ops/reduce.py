"""Reductions: sum, mean, max, min over an axis (``dim``, or all), with ``keepdim``."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..tensor import Function, Tensor
from .axes import checked_dims, pick_dim, pick_keepdim
from .elementwise import selected


def _normalize_axis(axis, ndim: int):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    return tuple(a % ndim if ndim else a for a in axis)


def _expand(grad: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient back its reduced axes (as size 1) so it broadcasts to the input."""
    if keepdims or not axes:
        return grad
    return np.expand_dims(grad, axes)


class Sum(Function):
    """sum over axes;  d/da = 1 broadcast back to a's shape."""

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape = a.shape
        ctx.axes = _normalize_axis(axis, a.ndim)
        ctx.keepdims = keepdims
        return np.sum(a, axis=axis, keepdims=keepdims)

    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    """mean over axes;  d/da = 1/n broadcast back."""

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape = a.shape
        ctx.axes = _normalize_axis(axis, a.ndim)
        ctx.keepdims = keepdims
        count = 1
        for ax in ctx.axes:
            count *= a.shape[ax]
        ctx.count = count
        return np.mean(a, axis=axis, keepdims=keepdims)

    def backward(ctx, grad):
        scaled = _expand(grad, ctx.axes, ctx.keepdims) / ctx.count
        return np.broadcast_to(scaled, ctx.shape)


class _Extreme(Function):
    """max/min over axes; the gradient goes to the extreme elements, split evenly among ties
    (0 for the others)."""

    reducer = staticmethod(np.max)

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes = _normalize_axis(axis, a.ndim)
        ctx.keepdims = keepdims
        kept = type(ctx).reducer(a, axis=axis, keepdims=True)
        ctx.mask = a == kept
        return kept if keepdims else np.squeeze(kept, axis=ctx.axes) if ctx.axes else kept

    def backward(ctx, grad):
        mask = ctx.mask
        counts = mask.sum(axis=ctx.axes, keepdims=True)
        # the other elements get exactly 0, also where grad is infinite (log of a max of 0)
        return selected(mask, _expand(grad, ctx.axes, ctx.keepdims) / counts)


class Max(_Extreme):
    """max over axes; the gradient goes to the maxima, split evenly among ties."""
    reducer = staticmethod(np.max)


class Min(_Extreme):
    """min over axes; the gradient goes to the minima, split evenly among ties."""
    reducer = staticmethod(np.min)


def _reduced_axes(owner: str, a, dim, axis, extreme: bool = False) -> tuple[int, ...] | None:
    """The checked axes of a reduction (``checked_dims``); for max/min also a ShapeError when
    one of them is empty (a maximum of nothing has no value; PyTorch refuses it too)."""
    shape = np.shape(a.data if isinstance(a, Tensor) else a)
    name = "axis" if axis is not None and dim is None else "dim"
    axes = checked_dims(owner, pick_dim(owner, dim, axis), shape, name=name)
    if extreme and any(shape[ax] == 0 for ax in (range(len(shape)) if axes is None else axes)):
        raise ShapeError(f"{owner}: reduces an axis of size 0 (tensor of shape {tuple(shape)}, "
                         f"dim {'all' if axes is None else axes}); the {owner} of no values is "
                         f"undefined")
    return axes


def sum(a, dim=None, keepdim: bool | None = None, *, axis=None,  # noqa: A001 - the op's name
        keepdims: bool | None = None) -> Tensor:
    """Sum of elements over ``dim`` (an int or a tuple; all when None), keeping the reduced
    axes as size 1 with ``keepdim``. ``axis``/``keepdims`` are NumPy's names for the same.
    A dim out of range or named twice is a ShapeError."""
    return Sum.apply(a, axis=_reduced_axes("sum", a, dim, axis),
                     keepdims=pick_keepdim("sum", keepdim, keepdims))


def mean(a, dim=None, keepdim: bool | None = None, *, axis=None,
         keepdims: bool | None = None) -> Tensor:
    """Mean of elements over ``dim`` (all when None); ``axis``/``keepdims`` are aliases."""
    return Mean.apply(a, axis=_reduced_axes("mean", a, dim, axis),
                      keepdims=pick_keepdim("mean", keepdim, keepdims))


def max(a, dim=None, keepdim: bool | None = None, *, axis=None,  # noqa: A001 - the op's name
        keepdims: bool | None = None) -> Tensor:
    """Maximum over ``dim`` (all when None); ``axis``/``keepdims`` are aliases. (Unlike
    PyTorch's ``max(dim)``, the values only: use ``argmax`` on ``.data`` for the indices.)
    ShapeError over an axis of size 0."""
    return Max.apply(a, axis=_reduced_axes("max", a, dim, axis, extreme=True),
                     keepdims=pick_keepdim("max", keepdim, keepdims))


def min(a, dim=None, keepdim: bool | None = None, *, axis=None,  # noqa: A001 - the op's name
        keepdims: bool | None = None) -> Tensor:
    """Minimum over ``dim`` (all when None); ``axis``/``keepdims`` are aliases. ShapeError
    over an axis of size 0."""
    return Min.apply(a, axis=_reduced_axes("min", a, dim, axis, extreme=True),
                     keepdims=pick_keepdim("min", keepdim, keepdims))
