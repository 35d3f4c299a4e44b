"""The fully connected layer as one fused op: y = x W^T + b (the neuron's weighted sum plus bias)."""
from __future__ import annotations

from ..errors import ShapeError
from ..tensor import Function, Tensor


class LinearFunction(Function):
    """y = x @ W^T + b;  dL/dx = g @ W,  dL/dW = g^T @ x,  dL/db = sum of g over the batch."""

    fresh_grads = True  # every gradient below is a new array: leaves keep it without a copy

    def forward(ctx, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(f"linear: input has {x.shape[-1]} features (shape {x.shape}), "
                             f"weight expects {weight.shape[1]} (weight shape {weight.shape})")
        ctx.x, ctx.weight = x, weight
        ctx.has_bias = bias is not None
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(ctx, grad):
        x, weight = ctx.x, ctx.weight
        needs = ctx.needs_input_grad
        grad_x = grad @ weight if needs[0] else None
        grad_weight = grad_bias = None
        if needs[1] or (ctx.has_bias and needs[2]):
            grad2 = grad.reshape(-1, grad.shape[-1])
            if needs[1]:
                grad_weight = grad2.T @ x.reshape(-1, x.shape[-1])
            if ctx.has_bias and needs[2]:
                grad_bias = grad2.sum(axis=0)
        return grad_x, grad_weight, grad_bias


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""
    return LinearFunction.apply(x, weight, bias)
