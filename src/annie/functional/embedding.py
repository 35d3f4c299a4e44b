"""Embedding lookup: row i of the weight matrix is the vector of token i."""
from __future__ import annotations

import numpy as np

from ..errors import DTypeError, ShapeError
from ..tensor import Function, Tensor


class EmbeddingFunction(Function):
    """y[...] = weight[indices[...]];  dL/dweight[i] = sum of g over the positions holding i
    (none for the padding row)."""

    def forward(ctx, weight, indices, padding_idx=None):
        ctx.indices, ctx.shape, ctx.padding_idx = indices, weight.shape, padding_idx
        return weight[indices]

    def backward(ctx, grad):
        grad_weight = np.zeros(ctx.shape, dtype=grad.dtype)
        ids, rows = ctx.indices.reshape(-1), grad.reshape(-1, ctx.shape[1])
        if ids.size:
            # each token's rows summed in one pass: the positions sorted by token, then one
            # reduceat per run of equal tokens (np.add.at took 6x as long on a text batch)
            order = np.argsort(ids, kind="stable")
            tokens = ids[order]
            starts = np.flatnonzero(np.concatenate(([True], tokens[1:] != tokens[:-1])))
            grad_weight[tokens[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return grad_weight, None


def embedding(indices, weight, padding_idx: int | None = None) -> Tensor:
    """The rows of ``weight`` (num_embeddings, embedding_dim) picked by integer ``indices``;
    the output has shape indices.shape + (embedding_dim,)."""
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    weight = weight if isinstance(weight, Tensor) else Tensor(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    count = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        bad = indices[(indices < 0) | (indices >= count)].reshape(-1)[0]
        raise ShapeError(f"embedding: index {int(bad)} is out of range for num_embeddings="
                         f"{count} (valid indices are 0..{count - 1})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += count
    return EmbeddingFunction.apply(weight, indices, padding_idx=padding_idx)
