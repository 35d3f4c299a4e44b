"""``Flatten``: merge a range of axes into one (e.g. images to vectors before a Linear)."""
from __future__ import annotations

from ..errors import ShapeError
from ..ops.shape import flatten
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
        try:
            return flatten(x, self.start_dim, self.end_dim)
        except ShapeError:
            raise ShapeError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): "
                             f"does not fit an input of shape {tuple(x.shape)}") from None

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
