"""The fully connected layer: every output neuron is a weighted sum of the inputs plus a bias."""
from __future__ import annotations

import math

import numpy as np

from .. import init
from ..backend import get_default_dtype
from ..errors import ShapeError, check_positive_int
from ..functional.linear import linear
from ..tensor import Tensor, is_graph_free, wrap_array
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features), PyTorch's initialisation:
    W and b from U(-1/sqrt(in_features), 1/sqrt(in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        shapes = self.parameter_shapes(in_features, out_features, bias)
        self.out_features, self.in_features = shapes["weight"]
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(np.empty(shapes["weight"], dtype=dtype))
        self.bias = Parameter(np.empty(shapes["bias"], dtype=dtype)) if bias else None
        self.reset_parameters()

    @staticmethod
    def parameter_shapes(in_features: int, out_features: int, bias: bool = True,
                         dtype=None) -> dict[str, tuple]:
        """{"weight": (out_features, in_features), "bias": (out_features,)} for these
        arguments, checked (ConfigError) and computed without allocating anything."""
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            check_positive_int(value, name, "Linear")
        shapes = {"weight": (int(out_features), int(in_features))}
        if bias:
            shapes["bias"] = (int(out_features),)
        return shapes

    def reset_parameters(self) -> None:
        """Draw fresh weights as PyTorch does (kaiming_uniform with a=sqrt(5))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if is_graph_free() and isinstance(x, Tensor):
            # Linear's own array path, also for a subclass whose forward calls this one
            return wrap_array(Linear.forward_array(self, x.data))
        if x.shape[-1] != self.in_features:
            raise self._shape_error(x.shape)
        return linear(x, self.weight, self.bias)

    def forward_array(self, array: np.ndarray) -> np.ndarray:
        """y = x W^T + b on raw arrays without recording a graph (the path under no_grad(),
        where single-sample prediction is dominated by the op's bookkeeping)."""
        weight_t = self.weight.data.T
        try:
            # ndarray.dot is the same BLAS product as @ for a 2-D input, with less call overhead
            out = array.dot(weight_t) if array.ndim == 2 else array @ weight_t
        except ValueError:  # the product checks the shapes; say which layer and what it expects
            if array.ndim == 0 or array.shape[-1] != self.in_features:
                raise self._shape_error(array.shape) from None
            raise
        if self.bias is not None:
            if out.ndim == 2 and out.shape[0] == 1:
                out[0] += self.bias.data  # one sample: an add of equal shapes (no broadcasting
            else:                         # set-up, which costs more than the add itself here)
                out += self.bias.data
        return out

    def _shape_error(self, shape) -> ShapeError:
        return ShapeError(f"Linear(in_features={self.in_features}, out_features="
                          f"{self.out_features}): expected input with last dimension "
                          f"{self.in_features}, got shape {tuple(shape)}")

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
