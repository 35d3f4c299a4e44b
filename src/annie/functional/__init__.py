"""Differentiable functions built on the ops: linear, activations, softmax family, dropout,
and fused whole-sequence recurrent kernels."""
from .linear import linear

__all__ = ["linear"]
