"""Regression losses of the lecture: mean bias error, MAE (L1), MSE (L2), RMSE, Huber, log-cosh.

Each takes ``(prediction, target, reduction="mean")``: prediction f(x) and target y of the same
shape; the per-element values are averaged ("mean", the lecture's 1/N sum), summed ("sum") or
returned as they are ("none"). Gradients flow to the prediction and to a target that needs one.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..functional.norms import global_norm
from ..tensor import Function, Tensor
from ._reduction import (Loss, as_float_target, as_prediction, check_reduction,
                         check_same_shape, reduce)


def _prepare(prediction: Any, target: Any, loss_name: str) -> tuple[Tensor, Tensor | np.ndarray]:
    prediction = as_prediction(prediction, loss_name)
    target = as_float_target(target, prediction, loss_name)
    check_same_shape(prediction, target, loss_name)
    return prediction, target


def mean_bias_error(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean bias error: L = 1/N sum_i (y_i - f(x_i)); positive when the model under-predicts."""
    reduction = check_reduction(reduction, "mean_bias_error")
    prediction, target = _prepare(prediction, target, "mean_bias_error")
    return reduce(target - prediction, reduction)


def mae(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error (L1 loss): L = 1/N sum_i |y_i - f(x_i)|; gradient sign(f - y), 0 at 0."""
    reduction = check_reduction(reduction, "mae")
    prediction, target = _prepare(prediction, target, "mae")
    return reduce((prediction - target).abs(), reduction)


l1 = mae


def mse(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (L2 loss): L = 1/N sum_i (y_i - f(x_i))^2."""
    reduction = check_reduction(reduction, "mse")
    prediction, target = _prepare(prediction, target, "mse")
    difference = prediction - target
    return reduce(difference * difference, reduction)


class RootMeanSquaredErrorFunction(Function):
    """r = sqrt(S / n) with S = sum_i (f_i - y_i)^2 (n = N for "mean", 1 for "sum"), taken as
    ||f - y|| / sqrt(n) without overflow (``global_norm``: float32 errors of 1e20 give 1e20);
    dr/df_i = (f_i - y_i) / (n r), taken as 0 where r = 0 (a subgradient, like |x| at 0)."""

    def forward(ctx, prediction, target, reduction="mean"):
        difference = prediction - target
        count = difference.size if reduction == "mean" else 1
        root = global_norm([difference]) / math.sqrt(count) if count else math.nan
        ctx.difference, ctx.count, ctx.root = difference, count, root
        return np.asarray(root, dtype=prediction.dtype)

    def backward(ctx, grad_output):
        if ctx.root > 0:
            grad = (ctx.difference / ctx.root) * (grad_output / ctx.count)
        else:
            grad = np.zeros_like(ctx.difference)
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


def rmse(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Root mean squared error: L = sqrt(1/N sum_i (y_i - f(x_i))^2), in the target's units.

    The root is taken after the reduction: "mean" gives sqrt(mean of squared errors), "sum" gives
    sqrt(sum of squared errors) (the Euclidean norm of the error), and "none" gives each element's
    root squared error |f(x_i) - y_i| (so averaging "none" yourself gives MAE, not RMSE). The
    gradient at zero error is taken as 0 instead of the 0/0 of d sqrt(u)/du at u = 0.
    """
    reduction = check_reduction(reduction, "rmse")
    prediction, target = _prepare(prediction, target, "rmse")
    if reduction == "none":
        return (prediction - target).abs()
    return RootMeanSquaredErrorFunction.apply(prediction, target, reduction=reduction)


class HuberFunction(Function):
    """Per element, with d = f - y: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta);
    dL/df = clip(d, -delta, delta)."""

    def forward(ctx, prediction, target, delta=1.0):
        difference = prediction - target
        absolute = np.abs(difference)
        ctx.difference, ctx.delta = difference, delta
        return np.where(absolute < delta, 0.5 * difference * difference,
                        delta * (absolute - 0.5 * delta))

    def backward(ctx, grad_output):
        grad = grad_output * np.clip(ctx.difference, -ctx.delta, ctx.delta)
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


def _check_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating, np.integer)) \
            or not np.isfinite(delta) or delta <= 0:
        raise ConfigError(f"huber: delta must be a positive finite number, got {delta!r}")
    return float(delta)


def huber(prediction: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: 1/2 (y - f(x))^2 where |y - f(x)| < delta, else delta (|y - f(x)| - delta / 2):
    quadratic near the target like MSE, linear far away like MAE (PyTorch's HuberLoss)."""
    reduction = check_reduction(reduction, "huber")
    delta = _check_delta(delta)
    prediction, target = _prepare(prediction, target, "huber")
    return reduce(HuberFunction.apply(prediction, target, delta=delta), reduction)


class LogCoshFunction(Function):
    """Per element, with d = f - y: log(cosh(d)); dL/df = tanh(d).

    Two exact rewrites keep every digit: near 0, log(cosh(d)) = log1p(2 sinh(d/2)^2) (no
    cancellation: about d^2/2); far out, |d| + log1p(exp(-2|d|)) - log 2 (cosh(d) itself
    overflows for |d| > ~710).
    """

    SWITCH = 10.0  # sinh(5)^2 ~ 5e3 is far from overflow; exp(-20) is far from cancellation

    def forward(ctx, prediction, target):
        difference = prediction - target
        absolute = np.abs(difference)
        ctx.difference = difference
        near = np.log1p(2 * np.sinh(np.minimum(absolute, LogCoshFunction.SWITCH) / 2) ** 2)
        far = absolute + np.log1p(np.exp(-2 * absolute)) - np.log(2).astype(difference.dtype)
        return np.where(absolute < LogCoshFunction.SWITCH, near, far).astype(difference.dtype)

    def backward(ctx, grad_output):
        grad = grad_output * np.tanh(ctx.difference)
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


def log_cosh(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Log-cosh loss: L = 1/N sum_i log(cosh(f(x_i) - y_i)); about d^2/2 near 0 and |d| - log 2
    far away, smooth everywhere (computed without overflow)."""
    reduction = check_reduction(reduction, "log_cosh")
    prediction, target = _prepare(prediction, target, "log_cosh")
    return reduce(LogCoshFunction.apply(prediction, target), reduction)


class MeanBiasError(Loss):
    """Class form of :func:`mean_bias_error`."""

    function = staticmethod(mean_bias_error)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)


class MAE(Loss):
    """Class form of :func:`mae` (L1 loss)."""

    function = staticmethod(mae)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)


L1 = MAE


class MSE(Loss):
    """Class form of :func:`mse` (L2 loss)."""

    function = staticmethod(mse)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)


class RMSE(Loss):
    """Class form of :func:`rmse`."""

    function = staticmethod(rmse)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)


class Huber(Loss):
    """Class form of :func:`huber`, carrying ``delta``."""

    function = staticmethod(huber)

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction, delta=_check_delta(delta))


class LogCosh(Loss):
    """Class form of :func:`log_cosh`."""

    function = staticmethod(log_cosh)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)
