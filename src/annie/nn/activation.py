"""Activation layers: one Module per activation function, with PyTorch's names and defaults."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, finite_number
from ..registry import Registry
from ..functional import activations as F
from ..functional.softmax import log_softmax, softmax
from ..ops.axes import pick_dim
from .module import Module


class Identity(Module):
    """f(x) = x (the linear activation); passes its input through."""

    def forward(self, x):
        return F.identity(x)

    def forward_array(self, array: np.ndarray) -> np.ndarray:
        """x itself, on a raw array."""
        return array


class Sigmoid(Module):
    """sigma(x) = 1 / (1 + e^-x)."""

    def forward(self, x):
        return F.sigmoid(x)

    forward_array = staticmethod(F.Sigmoid.inference)  # sigma(x) on a raw array, no graph


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)

    forward_array = staticmethod(F.Tanh.inference)  # tanh(x) on a raw array, no graph


class ReLU(Module):
    """max(0, x)."""

    def forward(self, x):
        return F.relu(x)

    forward_array = staticmethod(F.ReLU.inference)  # max(0, x) on a raw array, no graph


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = finite_number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def forward_array(self, array: np.ndarray) -> np.ndarray:
        """leaky_relu(x) on a raw array, no graph."""
        return F.LeakyReLU.inference(array, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha (e^x - 1)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = finite_number("ELU", "alpha", alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """scale * elu(x, alpha) with alpha = 1.6733, scale = 1.0507 (self-normalizing)."""

    def forward(self, x):
        return F.selu(x)


class GELU(Module):
    """x Phi(x), Phi the standard normal CDF (exact erf form)."""

    def forward(self, x):
        return F.gelu(x)


class SiLU(Module):
    """x sigma(x) (swish)."""

    def forward(self, x):
        return F.silu(x)


Swish = SiLU


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, reverting to x where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = finite_number("Softplus", "beta", beta, positive=True)
        self.threshold = finite_number("Softplus", "threshold", threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return F.softsign(x)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6."""

    def forward(self, x):
        return F.hard_sigmoid(x)

    forward_array = staticmethod(F.Hardsigmoid.inference)  # on a raw array, no graph


HardSigmoid = Hardsigmoid


class Softmax(Module):
    """e^(x_i) / sum_j e^(x_j) along ``dim`` (default -1; ``axis`` is an alias)."""

    def __init__(self, dim: int | None = None, *, axis: int | None = None):
        super().__init__()
        self.dim = int(pick_dim("Softmax", dim, axis, -1))

    def forward(self, x):
        return softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - log sum_j e^(x_j) along ``dim`` (default -1; ``axis`` is an alias)."""

    def __init__(self, dim: int | None = None, *, axis: int | None = None):
        super().__init__()
        self.dim = int(pick_dim("LogSoftmax", dim, axis, -1))

    def forward(self, x):
        return log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


#: name -> activation layer class (``activation_module`` looks names up here)
ACTIVATIONS = Registry("activation", {
    "identity": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "elu": ELU, "selu": SELU, "gelu": GELU, "silu": SiLU,
    "softplus": Softplus, "softsign": Softsign, "hard_sigmoid": Hardsigmoid, "softmax": Softmax,
    "log_softmax": LogSoftmax,
}, aliases={"linear": "identity", "leakyrelu": "leaky_relu", "swish": "silu",
            "hardsigmoid": "hard_sigmoid", "logsoftmax": "log_softmax"})


def activation_module(name: str, **options) -> Module:
    """A new activation layer by name (e.g. "relu", "leaky_relu", "LeakyReLU"), built with
    ``options`` (e.g. negative_slope=0.2); case and '-' vs '_' do not matter."""
    cls = ACTIVATIONS.lookup(name)
    try:
        return cls(**options)
    except TypeError as error:
        raise ConfigError(f"activation {name!r}: bad options {options}: {error}") from None
