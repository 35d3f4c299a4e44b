"""Primitive differentiable ops, and the Tensor operators and methods that call them.

Importing this package gives ``Tensor`` its arithmetic (``+ - * / ** @``), comparisons,
indexing and methods (``sum``, ``reshape``, ...): ``tensor.py`` defines the graph engine and
this package the ops, so the dependency runs one way (tensor <- ops).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .elementwise import (abs, add, cast, clip, div, exp, log, maximum, minimum, mul, neg, pow,
                          sqrt, sub, where)
from .linalg import matmul
from .reduce import max, mean, min, sum
from .shape import (broadcast_to, concat, flatten, getitem, reshape, split, squeeze, stack,
                    swapaxes, transpose, unsqueeze)

__all__ = ["abs", "add", "cast", "clip", "div", "exp", "log", "maximum", "minimum", "mul", "neg",
           "pow", "sqrt", "sub", "where", "matmul", "max", "mean", "min", "sum", "broadcast_to",
           "concat", "flatten", "getitem", "reshape", "split", "squeeze", "stack", "swapaxes",
           "transpose", "unsqueeze"]


def _comparison(ufunc):
    def compare(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(ufunc(self.data, other))
    compare.__doc__ = f"Elementwise {ufunc.__name__} (a bool tensor; no gradient)."
    return compare


def _reflected(op):
    def reflected(self, other):
        return op(other, self)
    return reflected


_methods = {
    "__add__": add, "__radd__": _reflected(add),
    "__sub__": sub, "__rsub__": _reflected(sub),
    "__mul__": mul, "__rmul__": _reflected(mul),
    "__truediv__": div, "__rtruediv__": _reflected(div),
    "__pow__": pow, "__rpow__": _reflected(pow),
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul),
    "__neg__": neg,
    "__getitem__": getitem,
    "__lt__": _comparison(np.less), "__le__": _comparison(np.less_equal),
    "__gt__": _comparison(np.greater), "__ge__": _comparison(np.greater_equal),
    "__eq__": _comparison(np.equal), "__ne__": _comparison(np.not_equal),
    "sum": sum, "mean": mean, "max": max, "min": min,
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "clip": clip,
    "reshape": reshape, "transpose": transpose, "swapaxes": swapaxes,
    "flatten": flatten, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "broadcast_to": broadcast_to, "split": split, "matmul": matmul, "astype": cast,
}
for _name, _function in _methods.items():
    setattr(Tensor, _name, _function)
Tensor.__abs__ = abs
Tensor.T = property(lambda self: transpose(self), doc="The tensor with its axes reversed.")
Tensor.__hash__ = object.__hash__
