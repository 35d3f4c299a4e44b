"""``Dropout``: randomly zero activations while training (inverted dropout)."""
from __future__ import annotations

from ..functional.dropout import check_probability, dropout
from .module import Module


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p);
    in evaluation (``model.eval()``) pass the input through unchanged."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_probability("Dropout", p)

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
