"""``LayerNorm``: normalize each sample over its last axes, then scale and shift."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..backend import get_default_dtype
from ..errors import ConfigError, is_positive_int
from ..functional.normalization import layer_norm
from .module import Module, Parameter


def _checked_shape(normalized_shape) -> tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    if len(shape) == 0 or not all(is_positive_int(size) for size in shape):
        raise ConfigError(f"LayerNorm: normalized_shape must be positive integers, "
                          f"got {normalized_shape!r}")
    return tuple(int(size) for size in shape)


class LayerNorm(Module):
    """y = (x - mu) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape``
    axes; weight starts at 1 and bias at 0 (learned when ``elementwise_affine``)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, dtype=None):
        super().__init__()
        if eps <= 0:
            raise ConfigError(f"LayerNorm: eps must be positive, got {eps}")
        self.normalized_shape = _checked_shape(normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.weight = None
            self.bias = None

    @staticmethod
    def parameter_shapes(normalized_shape: int | Sequence[int], eps: float = 1e-5,
                         elementwise_affine: bool = True, dtype=None) -> dict[str, tuple]:
        """{"weight": normalized_shape, "bias": normalized_shape} (none without
        ``elementwise_affine``), checked, without allocating anything."""
        shape = _checked_shape(normalized_shape)
        return {"weight": shape, "bias": shape} if elementwise_affine else {}

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
