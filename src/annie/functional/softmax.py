"""Softmax and log-softmax along an axis, fused with their own backward.

softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m) with m = max_j x_j (the shift changes nothing
mathematically and keeps every exponent <= 0, so nothing overflows).
"""
from __future__ import annotations

import numpy as np

from ..ops.axes import picked_dim
from ..tensor import Function, Tensor


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x minus its maximum m along axis (every entry <= 0). Where m is infinite: a row of
    -inf (every entry masked) is left as it is (its softmax is undefined, NaN, as in PyTorch);
    in a row holding +inf, the +inf entries become 0 and the others -inf, so softmax gives
    the limit (the mass shared by the +inf entries) instead of inf - inf = NaN."""
    if x.shape[axis] == 0:  # nothing to normalise: the (empty) input as it is
        return x
    peak = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(peak)
    if finite.all():
        return x - peak
    with np.errstate(invalid="ignore"):
        shifted = x - np.where(finite, peak, 0)
        top = np.where(x == np.inf, 0, -np.inf).astype(x.dtype, copy=False)
    return np.where(peak == np.inf, top, shifted)


class Softmax(Function):
    """s = softmax(x);  dL/dx = s * (g - sum_j g_j s_j)."""

    def forward(ctx, x, axis=-1):
        exps = np.exp(_shifted(x, axis))
        ctx.out = exps / np.sum(exps, axis=axis, keepdims=True)
        ctx.axis = axis
        return ctx.out

    def backward(ctx, grad):
        out = ctx.out
        return out * (grad - np.sum(grad * out, axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - m - log sum_j e^(x_j - m);  dL/dx = g - softmax(x) * sum_j g_j."""

    def forward(ctx, x, axis=-1):
        shifted = _shifted(x, axis)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.out = out
        ctx.axis = axis
        return out

    def backward(ctx, grad):
        return grad - np.exp(ctx.out) * np.sum(grad, axis=ctx.axis, keepdims=True)


def softmax(x, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``dim`` (default -1, the last axis;
    ``axis`` is NumPy's name for it)."""
    x = _as_tensor(x)
    return Softmax.apply(x, axis=picked_dim("softmax", dim, axis, x.shape, -1))


def log_softmax(x, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """log_softmax(x)_i = x_i - log sum_j e^(x_j) along ``dim`` (default -1, the last axis;
    ``axis`` is NumPy's name for it)."""
    x = _as_tensor(x)
    return LogSoftmax.apply(x, axis=picked_dim("log_softmax", dim, axis, x.shape, -1))
