"""Elementwise differentiable ops: arithmetic with broadcasting, exp, log, sqrt, abs, pow, clip, where.

Each backward applies the derivative of its forward and un-broadcasts to the input's shape.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Function, Tensor, unbroadcast


def _shape(array) -> tuple:
    return np.shape(array)


def selected(mask, grad: np.ndarray) -> np.ndarray:
    """grad where ``mask`` holds, else 0. Where an op's output does not depend on an input (a
    clipped or losing element), its derivative is exactly 0: selecting, not multiplying by the
    mask, keeps it 0 when the upstream gradient is infinite (d sqrt(u)/du at u = 0 after
    ``clip(x, 0)``), where ``grad * mask`` would give inf * 0 = NaN. (The product is taken
    first and repaired only when it holds a NaN: on a training step's arrays ``np.where`` costs
    several times a product.)"""
    product = grad * mask
    if np.isnan(product).any():
        return np.where(mask, grad, np.zeros((), dtype=grad.dtype))
    return product


class Add(Function):
    """a + b;  d/da = 1, d/db = 1."""

    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        return (unbroadcast(grad, shape_a) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad, shape_b) if ctx.needs_input_grad[1] else None)


class Sub(Function):
    """a - b;  d/da = 1, d/db = -1."""

    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        return (unbroadcast(grad, shape_a) if ctx.needs_input_grad[0] else None,
                unbroadcast(-grad, shape_b) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """a * b;  d/da = b, d/db = a."""

    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return a * b

    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return (unbroadcast(grad * b, _shape(a)) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad * a, _shape(b)) if ctx.needs_input_grad[1] else None)


class Div(Function):
    """a / b;  d/da = 1/b, d/db = -a/b^2, taken as -(a/b)/b so that b^2 cannot overflow where
    the quotient is representable (b = 1e20 in float32)."""

    def forward(ctx, a, b):
        out = a / b
        ctx.a, ctx.b, ctx.out = a, b, out
        return out

    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        grad_a = unbroadcast(grad / b, _shape(a)) if ctx.needs_input_grad[0] else None
        grad_b = (unbroadcast(-grad * ctx.out / b, _shape(b)) if ctx.needs_input_grad[1]
                  else None)
        return grad_a, grad_b


class Neg(Function):
    """-a."""

    def forward(ctx, a):
        return -a

    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b;  d/da = b a^(b-1) (0 where b = 0: a^0 = 1 is constant, also at a = 0, where
    the formula would give 0 * inf), d/db = a^b log(a) (where a > 0, else 0)."""

    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.a, ctx.b, ctx.out = a, b, out
        return out

    def backward(ctx, grad):
        a, b, out = ctx.a, ctx.b, ctx.out
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = b * np.power(a, b - 1)
            if np.any(b == 0):
                slope = np.where(b == 0, 0, slope).astype(slope.dtype, copy=False)
            grad_a = unbroadcast(grad * slope, _shape(a))
        if ctx.needs_input_grad[1]:
            safe_log = np.log(np.where(a > 0, a, 1))
            grad_b = unbroadcast(grad * out * safe_log, _shape(b))
        return grad_a, grad_b


class Exp(Function):
    """exp(a);  d/da = exp(a)."""

    def forward(ctx, a):
        ctx.out = np.exp(a)
        return ctx.out

    def backward(ctx, grad):
        return grad * ctx.out


class Log(Function):
    """log(a);  d/da = 1/a."""

    def forward(ctx, a):
        ctx.a = a
        return np.log(a)

    def backward(ctx, grad):
        return grad / ctx.a


class Sqrt(Function):
    """sqrt(a);  d/da = 1 / (2 sqrt(a))."""

    def forward(ctx, a):
        ctx.out = np.sqrt(a)
        return ctx.out

    def backward(ctx, grad):
        return grad / (2 * ctx.out)


class Abs(Function):
    """|a|;  d/da = sign(a) (0 at 0, as PyTorch)."""

    def forward(ctx, a):
        ctx.a = a
        return np.abs(a)

    def backward(ctx, grad):
        return grad * np.sign(ctx.a)


class Clip(Function):
    """clip(a, low, high);  gradient 1 inside [low, high], 0 outside (as PyTorch's clamp),
    also where the upstream gradient is infinite (``selected``)."""

    def forward(ctx, a, low=None, high=None):
        ctx.mask = np.ones(a.shape, dtype=bool)
        if low is not None:
            ctx.mask &= a >= low
        if high is not None:
            ctx.mask &= a <= high
        return np.clip(a, low, high)

    def backward(ctx, grad):
        return selected(ctx.mask, grad)


class Where(Function):
    """where(condition, a, b): a where condition holds, else b."""

    def forward(ctx, condition, a, b):
        ctx.condition = np.asarray(condition, dtype=bool)
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(ctx.condition, a, b)

    def backward(ctx, grad):
        zero = np.zeros((), dtype=grad.dtype)
        grad_a = grad_b = None
        if ctx.needs_input_grad[1]:
            grad_a = unbroadcast(np.where(ctx.condition, grad, zero), ctx.shapes[0])
        if ctx.needs_input_grad[2]:
            grad_b = unbroadcast(np.where(ctx.condition, zero, grad), ctx.shapes[1])
        return None, grad_a, grad_b


class Maximum(Function):
    """Elementwise max(a, b); a tie sends half the gradient to each (as PyTorch), the other
    element gets exactly 0 (``share_between``)."""

    def forward(ctx, a, b):
        ctx.a_wins, ctx.tie = a > b, a == b
        ctx.shapes = (_shape(a), _shape(b))
        return np.maximum(a, b)

    def backward(ctx, grad):
        return share_between(ctx, grad)


class Minimum(Function):
    """Elementwise min(a, b); a tie sends half the gradient to each (as PyTorch), the other
    element gets exactly 0 (``share_between``)."""

    def forward(ctx, a, b):
        ctx.a_wins, ctx.tie = a < b, a == b
        ctx.shapes = (_shape(a), _shape(b))
        return np.minimum(a, b)

    def backward(ctx, grad):
        return share_between(ctx, grad)


def share_between(ctx, grad: np.ndarray) -> tuple:
    """The gradients of max/min(a, b) from ``ctx.a_wins`` and ``ctx.tie``: all of grad to the
    element taken, half to each at a tie, 0 to the other (``selected``: 0 even where grad is
    infinite). Where a or b is NaN (neither wins nor ties) the gradient goes to b."""
    a_wins, tie = ctx.a_wins, ctx.tie
    half = selected(tie, grad * 0.5) if np.any(tie) else None
    grad_a = grad_b = None
    if ctx.needs_input_grad[0]:
        grad_a = selected(a_wins, grad)
        grad_a = unbroadcast(grad_a if half is None else grad_a + half, ctx.shapes[0])
    if ctx.needs_input_grad[1]:
        grad_b = selected(~(a_wins | tie), grad)
        grad_b = unbroadcast(grad_b if half is None else grad_b + half, ctx.shapes[1])
    return grad_a, grad_b


class Cast(Function):
    """a converted to another float dtype; the gradient is converted back."""

    def forward(ctx, a, dtype=None):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


def add(a, b) -> Tensor:
    """a + b with broadcasting."""
    return Add.apply(a, b)


def sub(a, b) -> Tensor:
    """a - b with broadcasting."""
    return Sub.apply(a, b)


def mul(a, b) -> Tensor:
    """a * b with broadcasting."""
    return Mul.apply(a, b)


def div(a, b) -> Tensor:
    """a / b with broadcasting."""
    return Div.apply(a, b)


def neg(a) -> Tensor:
    """-a."""
    return Neg.apply(a)


def pow(a, b) -> Tensor:  # noqa: A001 - the op's name
    """a ** b."""
    return Pow.apply(a, b)


def exp(a) -> Tensor:
    """e ** a."""
    return Exp.apply(a)


def log(a) -> Tensor:
    """Natural logarithm."""
    return Log.apply(a)


def sqrt(a) -> Tensor:
    """Square root."""
    return Sqrt.apply(a)


def abs(a) -> Tensor:  # noqa: A001 - the op's name
    """|a|."""
    return Abs.apply(a)


def clip(a, low=None, high=None) -> Tensor:
    """Limit a to [low, high] (either may be None)."""
    return Clip.apply(a, low=low, high=high)


def where(condition, a, b) -> Tensor:
    """a where condition is true, else b (condition takes no gradient)."""
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where.apply(condition, a, b)


def maximum(a, b) -> Tensor:
    """Elementwise maximum."""
    return Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum."""
    return Minimum.apply(a, b)


def cast(a, dtype) -> Tensor:
    """a converted to dtype."""
    return Cast.apply(a, dtype=np.dtype(dtype))
