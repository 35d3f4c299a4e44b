"""``Flatten``: merge a range of axes into one (e.g. images to vectors before a Linear)."""
from __future__ import annotations

import math

from ..errors import ShapeError
from ..ops.shape import reshape
from ..tensor import Tensor
from .module import Module


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        ndim = max(x.ndim, 1)
        start = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        if not 0 <= start <= end < ndim:
            raise ShapeError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): "
                             f"does not fit an input of shape {tuple(x.shape)}")
        shape = x.shape
        merged = math.prod(shape[start:end + 1])
        return reshape(x, tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:]))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
