"""Matrix products: ``a @ b`` for vectors, matrices and batches of matrices."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..tensor import Function, Tensor, unbroadcast


class MatMul(Function):
    """a @ b;  dL/da = dL/dout @ b^T, dL/db = a^T @ dL/dout (batch axes un-broadcast)."""

    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes "
                             f"{a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        ctx.a, ctx.b = a, b
        return a @ b

    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        a2 = a[None, :] if a.ndim == 1 else a          # treat a vector as a one-row matrix
        b2 = b[:, None] if b.ndim == 1 else b          # and as a one-column matrix
        g = grad  # give grad the matrix axes that 1-D operands dropped (column first)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = g @ np.swapaxes(b2, -1, -2)
            grad_a = unbroadcast(grad_a, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = np.swapaxes(a2, -1, -2) @ g
            grad_b = unbroadcast(grad_b, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def matmul(a, b) -> Tensor:
    """Matrix product a @ b (NumPy's rules for 1-D and batched operands)."""
    return MatMul.apply(a, b)
