"""Inverted dropout: in training each element is zeroed with probability p and the survivors are
scaled by 1 / (1 - p), so the expected output equals the input and evaluation needs no change."""
from __future__ import annotations

import numpy as np

from ..backend import rng
from ..errors import ConfigError
from ..tensor import Function, Tensor


class Dropout(Function):
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p);  dL/dx = g * m / (1 - p)."""

    def forward(ctx, x, p=0.5):
        if p >= 1.0:
            ctx.scaled_mask = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = rng().random(x.shape) >= p
            ctx.scaled_mask = keep.astype(x.dtype) / (1.0 - p)
        return x * ctx.scaled_mask

    def backward(ctx, grad):
        return grad * ctx.scaled_mask


def check_probability(name: str, p) -> float:
    """p as a float, or a ConfigError naming ``name`` when p is not a probability in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}: p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"{name}: p must be in [0, 1], got {p}")
    return float(p)


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (when training);
    the identity when not training or p = 0. The mask comes from ``annie.backend.rng()``."""
    p = check_probability("dropout", p)
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=p)
