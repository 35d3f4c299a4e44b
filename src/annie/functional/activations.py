"""Activation functions, each a fused op with its own derivative (PyTorch's names and defaults).

Every forward is written to stay finite for inputs of +-1000 (no exp of a large positive number),
and every backward uses the derivative in closed form, usually from the saved output.
The cheap activations also define ``inference``, the forward value alone, which ``apply`` uses
when nothing needs a gradient (no ctx, no mask saved for backward).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..tensor import Function, Tensor
from .erf import erfc

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


class Sigmoid(Function):
    """s = 1 / (1 + e^-x);  ds/dx = s (1 - s)."""

    inference = staticmethod(_stable_sigmoid)

    def forward(ctx, x):
        ctx.out = _stable_sigmoid(x)
        return ctx.out

    def backward(ctx, grad):
        out = ctx.out
        return grad * out * (1 - out)


class Tanh(Function):
    """t = tanh(x);  dt/dx = 1 - t^2."""

    @staticmethod
    def inference(x):
        """tanh(x) with nothing saved."""
        return np.tanh(x)

    def forward(ctx, x):
        ctx.out = np.tanh(x)
        return ctx.out

    def backward(ctx, grad):
        return grad * (1 - ctx.out * ctx.out)


# A 0-d zero per float dtype: a ufunc with a 0-d array of the input's dtype skips the
# conversion of a Python 0 (about half the cost of max(0, x) on one sample's activations).
_FLOAT_ZEROS = {np.dtype(dtype): np.zeros((), dtype) for dtype in (np.float16, np.float32,
                                                                   np.float64)}
for _zero in _FLOAT_ZEROS.values():
    _zero.flags.writeable = False


def _relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), in the input's dtype."""
    zero = _FLOAT_ZEROS.get(x.dtype)
    return np.maximum(x, 0 if zero is None else zero)


class ReLU(Function):
    """max(0, x);  derivative 1 for x > 0, else 0."""

    inference = staticmethod(_relu)  # max(0, x) with nothing saved

    def forward(ctx, x):
        ctx.positive = x > 0
        return _relu(x)

    def backward(ctx, grad):
        return grad * ctx.positive


class LeakyReLU(Function):
    """x for x > 0, else negative_slope * x;  derivative 1 or negative_slope."""

    @staticmethod
    def inference(x, negative_slope=0.01):
        """x if x > 0 else negative_slope * x, with nothing saved."""
        return np.where(x > 0, x, x * negative_slope)

    def forward(ctx, x, negative_slope=0.01):
        ctx.positive = x > 0
        ctx.negative_slope = negative_slope
        return np.where(ctx.positive, x, x * negative_slope)

    def backward(ctx, grad):
        return np.where(ctx.positive, grad, grad * ctx.negative_slope)


class ELU(Function):
    """x for x > 0, else alpha (e^x - 1);  derivative 1, else alpha e^x."""

    def forward(ctx, x, alpha=1.0, scale=1.0):
        ctx.positive = x > 0
        ctx.scale = scale
        ctx.negative_slope = alpha * np.exp(np.minimum(x, 0))  # alpha e^x where x <= 0
        negative_part = alpha * np.expm1(np.minimum(x, 0))
        out = np.where(ctx.positive, x, negative_part)
        return out * scale if scale != 1.0 else out

    def backward(ctx, grad):
        local = np.where(ctx.positive, 1.0, ctx.negative_slope)
        if ctx.scale != 1.0:
            local = local * ctx.scale
        return grad * local.astype(grad.dtype, copy=False)


def _infinite(x: np.ndarray) -> np.ndarray | None:
    """The mask of x = +-inf, or None when every element is finite or NaN (the common case)."""
    infinite = np.isinf(x)
    return infinite if infinite.any() else None


def _limits(values: np.ndarray, x: np.ndarray, infinite: np.ndarray | None, at_plus: float,
            at_minus: float) -> np.ndarray:
    """values, with a function's limits at x = +inf and x = -inf put where x is infinite
    (where a product like x * Phi(x) reads inf * 0)."""
    if infinite is None:
        return values
    limits = np.where(x > 0, at_plus, at_minus).astype(values.dtype)
    return np.where(infinite, limits, values)


class GELU(Function):
    """x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 the standard normal CDF (exact, erf form);
    derivative Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi). At x = -inf the value is
    its limit 0 and the derivative its limits 0 (-inf) and 1 (+inf), not inf * 0."""

    def forward(ctx, x):
        ctx.x = x
        ctx.cdf = 0.5 * erfc(-x * _INV_SQRT_2)
        ctx.infinite = _infinite(x)
        with np.errstate(invalid="ignore"):
            return _limits(x * ctx.cdf, x, ctx.infinite, np.inf, 0.0)

    def backward(ctx, grad):
        x = ctx.x
        with np.errstate(invalid="ignore", over="ignore"):
            density = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
            slope = _limits(ctx.cdf + x * density, x, ctx.infinite, 1.0, 0.0)
        return grad * slope


class SiLU(Function):
    """x s(x) with s the sigmoid (swish);  derivative s (1 + x (1 - s)). At x = +-inf the value
    and the derivative are their limits (silu(-inf) = 0; slopes 1 and 0), not inf * 0."""

    def forward(ctx, x):
        ctx.x = x
        ctx.sigmoid = _stable_sigmoid(x)
        ctx.infinite = _infinite(x)
        with np.errstate(invalid="ignore"):
            return _limits(x * ctx.sigmoid, x, ctx.infinite, np.inf, 0.0)

    def backward(ctx, grad):
        s = ctx.sigmoid
        with np.errstate(invalid="ignore"):
            slope = _limits(s * (1 + ctx.x * (1 - s)), ctx.x, ctx.infinite, 1.0, 0.0)
        return grad * slope


class Softplus(Function):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch);
    derivative s(beta x), the sigmoid, and 1 above the threshold."""

    def forward(ctx, x, beta=1.0, threshold=20.0):
        scaled = x * beta
        ctx.linear = scaled > threshold
        ctx.sigmoid = _stable_sigmoid(scaled)
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), finite for any z
        smooth = (np.maximum(scaled, 0) + np.log1p(np.exp(-np.abs(scaled)))) / beta
        return np.where(ctx.linear, x, smooth)

    def backward(ctx, grad):
        return np.where(ctx.linear, grad, grad * ctx.sigmoid)


def _softsign(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x / (1 + |x|), 1 + |x|), the value +-1 at x = +-inf (its limit, not inf / inf)."""
    denominator = 1 + np.abs(x)
    with np.errstate(invalid="ignore"):
        out = x / denominator
    return _limits(out, x, _infinite(x), 1.0, -1.0), denominator


class Softsign(Function):
    """x / (1 + |x|);  derivative 1 / (1 + |x|)^2. At x = +-inf the value is its limit +-1
    and the derivative its limit 0 (the composite x / (|x| + 1) reads inf / inf there)."""

    @staticmethod
    def inference(x):
        """x / (1 + |x|) with nothing saved."""
        return _softsign(x)[0]

    def forward(ctx, x):
        out, ctx.denominator = _softsign(x)
        return out

    def backward(ctx, grad):
        # divided twice: (1 + |x|)^2 would overflow first (float32: |x| > 1.8e19)
        return grad / ctx.denominator / ctx.denominator


class Hardsigmoid(Function):
    """relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1);  derivative 1/6 for -3 < x < 3, else 0."""

    @staticmethod
    def inference(x):
        """clip(x / 6 + 1/2, 0, 1) with nothing saved."""
        return np.clip(x / 6 + 0.5, 0, 1)

    def forward(ctx, x):
        ctx.inside = (x > -3) & (x < 3)
        return np.clip(x / 6 + 0.5, 0, 1)

    def backward(ctx, grad):
        return grad * ctx.inside / 6


def identity(x) -> Tensor:
    """f(x) = x (the linear activation); returns its input unchanged."""
    return _as_tensor(x)


def sigmoid(x) -> Tensor:
    """sigma(x) = 1 / (1 + e^-x)."""
    return Sigmoid.apply(_as_tensor(x))


def tanh(x) -> Tensor:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    return Tanh.apply(_as_tensor(x))


def relu(x) -> Tensor:
    """relu(x) = max(0, x)."""
    return ReLU.apply(_as_tensor(x))


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu(x) = x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(_as_tensor(x), negative_slope=float(negative_slope))


def elu(x, alpha: float = 1.0) -> Tensor:
    """elu(x) = x if x > 0 else alpha (e^x - 1)."""
    return ELU.apply(_as_tensor(x), alpha=float(alpha))


def selu(x) -> Tensor:
    """selu(x) = scale * (x if x > 0 else alpha (e^x - 1)), alpha = 1.6733, scale = 1.0507."""
    return ELU.apply(_as_tensor(x), alpha=SELU_ALPHA, scale=SELU_SCALE)


def gelu(x) -> Tensor:
    """gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (the exact form)."""
    return GELU.apply(_as_tensor(x))


def silu(x) -> Tensor:
    """silu(x) = x sigma(x), also called swish."""
    return SiLU.apply(_as_tensor(x))


swish = silu


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """softplus(x) = log(1 + e^(beta x)) / beta, reverting to x where beta x > threshold."""
    if beta <= 0:
        raise ConfigError(f"softplus: beta must be positive, got {beta}")
    return Softplus.apply(_as_tensor(x), beta=float(beta), threshold=float(threshold))


def softsign(x) -> Tensor:
    """softsign(x) = x / (1 + |x|), +-1 at x = +-inf (one fused op, gradient 1 / (1 + |x|)^2)."""
    return Softsign.apply(_as_tensor(x))


def hard_sigmoid(x) -> Tensor:
    """hard_sigmoid(x) = relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1) (PyTorch's hardsigmoid)."""
    return Hardsigmoid.apply(_as_tensor(x))


hardsigmoid = hard_sigmoid


def _activation_table() -> dict:
    from .softmax import log_softmax, softmax
    return {
        "identity": identity, "linear": identity, "sigmoid": sigmoid, "tanh": tanh,
        "relu": relu, "leaky_relu": leaky_relu, "elu": elu, "selu": selu, "gelu": gelu,
        "silu": silu, "swish": swish, "softplus": softplus, "softsign": softsign,
        "hard_sigmoid": hard_sigmoid, "hardsigmoid": hard_sigmoid, "softmax": softmax,
        "log_softmax": log_softmax,
    }


def activation_names() -> list[str]:
    """Every name ``get_activation`` accepts (aliases included)."""
    return sorted(_activation_table())


def get_activation(name: str):
    """The activation function called ``name`` (e.g. "relu", "leaky_relu", "swish");
    case and '-' vs '_' do not matter."""
    table = _activation_table()
    key = str(name).strip().lower().replace("-", "_")
    if key not in table:
        raise ConfigError(f"unknown activation {name!r}; valid names are "
                          f"{', '.join(sorted(table))}")
    return table[key]
