"""``Embedding``: a learned lookup table from integer tokens to vectors."""
from __future__ import annotations

import numpy as np

from .. import init
from ..backend import get_default_dtype
from ..errors import ConfigError, check_positive_int
from ..functional.embedding import embedding
from .module import Module, Parameter


class Embedding(Module):
    """y = weight[indices], weight of shape (num_embeddings, embedding_dim) drawn from N(0, 1)
    as in PyTorch; the ``padding_idx`` row starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = self.parameter_shapes(
            num_embeddings, embedding_dim)["weight"]
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ConfigError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                  f"num_embeddings={self.num_embeddings}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    @staticmethod
    def parameter_shapes(num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                         dtype=None) -> dict[str, tuple]:
        """{"weight": (num_embeddings, embedding_dim)}, checked, without allocating anything."""
        return {"weight": (check_positive_int(num_embeddings, "num_embeddings", "Embedding"),
                           check_positive_int(embedding_dim, "embedding_dim", "Embedding"))}

    def reset_parameters(self) -> None:
        """Draw the table from N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        extra = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"
