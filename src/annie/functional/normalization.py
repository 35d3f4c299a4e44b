"""Layer normalization over the last axes, fused with its own backward.

y = (x - mu) / sqrt(var + eps) * weight + bias, with mu and the biased var taken over the
normalized (trailing) axes of each sample (the variance as the mean of squared deviations,
never E[x^2] - E[x]^2, so it cannot come out negative; rescaled where a square overflows;
the deviations corrected by their own mean where the mean is large beside the spread, so a
float32 row 1e6 + [0.125, 0.1875, 0.3125, 0] keeps its four distinct values).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ShapeError
from ..tensor import Function, Tensor
from .norms import offset_dominates, recentered


def _scaled_moments(x: np.ndarray, axes: tuple, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(x - mu, 1 / sqrt(var + eps)) computed on xs = x 2^-e, 2^e a power of two near the
    largest |x| of each sample (an exact scaling), so that neither the mean nor the squares
    overflow where the result is representable (float32 rows of magnitude 1e20): with mus and
    vars the mean and variance of xs, x - mu = 2^e (xs - mus) and
    1 / sqrt(var + eps) = 2^-e / sqrt(vars + eps 2^-2e)."""
    peak = np.max(np.abs(x), axis=axes, keepdims=True)
    exponent = np.frexp(np.where((peak > 0) & np.isfinite(peak), peak, 1))[1]
    scaled = np.ldexp(x, -exponent).astype(x.dtype, copy=False)
    centered_scaled = recentered(scaled - np.mean(scaled, axis=axes, keepdims=True), axes)
    variance_scaled = np.mean(centered_scaled * centered_scaled, axis=axes, keepdims=True)
    inverse_std = np.ldexp(1.0 / np.sqrt(variance_scaled + np.ldexp(eps, -2 * exponent)),
                           -exponent).astype(x.dtype, copy=False)
    centered = np.ldexp(centered_scaled, exponent).astype(x.dtype, copy=False)
    return centered, inverse_std


class LayerNormFunction(Function):
    """With xhat = (x - mu) * r, r = 1 / sqrt(var + eps), gh = g * weight and means over the
    normalized axes:  dL/dx = r * (gh - mean(gh) - xhat * mean(gh * xhat)),
    dL/dweight = sum over samples of g * xhat,  dL/dbias = sum over samples of g."""

    def forward(ctx, x, weight=None, bias=None, normalized_ndim=1, eps=1e-5):
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        with np.errstate(over="ignore", invalid="ignore"):
            mean = np.mean(x, axis=axes, keepdims=True)
            centered = x - mean
            variance = np.mean(centered * centered, axis=axes, keepdims=True)
        if np.isfinite(variance).all():
            if offset_dominates(mean, variance):  # the mean's rounding error matters
                centered = recentered(centered, axes)
                variance = np.mean(centered * centered, axis=axes, keepdims=True)
            ctx.inverse_std = 1.0 / np.sqrt(variance + eps)
        else:  # a mean or a square overflowed (or x holds inf/nan): the scaled computation
            centered, ctx.inverse_std = _scaled_moments(x, axes, eps)
        ctx.normalized = centered * ctx.inverse_std
        ctx.axes, ctx.weight = axes, weight
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        out = ctx.normalized
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
        return out

    def backward(ctx, grad):
        normalized, axes = ctx.normalized, ctx.axes
        sample_axes = tuple(range(grad.ndim - len(axes)))
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_normalized = grad * ctx.weight if ctx.has_weight else grad
            mean_grad = np.mean(grad_normalized, axis=axes, keepdims=True)
            mean_projection = np.mean(grad_normalized * normalized, axis=axes, keepdims=True)
            grad_x = ctx.inverse_std * (grad_normalized - mean_grad - normalized * mean_projection)
        if ctx.has_weight and needs[1]:
            grad_weight = np.sum(grad * normalized, axis=sample_axes)
        if ctx.has_bias and needs[2]:
            grad_bias = np.sum(grad, axis=sample_axes)
        return grad_x, grad_weight, grad_bias


def layer_norm(x, normalized_shape: int | Sequence[int], weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` axes: (x - mu) / sqrt(var + eps), then
    scale by ``weight`` and shift by ``bias`` (each of shape normalized_shape, or None)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(size) for size in normalized_shape)
    if len(shape) == 0 or len(shape) > x.ndim or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ShapeError(f"layer_norm: normalized_shape {shape} does not match the trailing "
                         f"axes of the input of shape {tuple(x.shape)}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != shape:
            raise ShapeError(f"layer_norm: {name} has shape {tuple(value.shape)}, expected {shape}")
    return LayerNormFunction.apply(x, weight, bias, normalized_ndim=len(shape), eps=float(eps))
