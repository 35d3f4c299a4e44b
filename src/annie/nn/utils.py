"""Gradient clipping: ``clip_grad_norm_`` (by the global norm) and ``clip_grad_value_``."""
from __future__ import annotations

import math
import numbers
from typing import Iterable

import numpy as np

from ..errors import ConfigError, NumericalError
from ..functional.norms import global_norm
from ..tensor import Tensor


def _with_grads(parameters: Tensor | Iterable[Tensor], owner: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise ConfigError(f"{owner}: parameters[{index}] must be a Tensor, "
                              f"got {type(param).__name__}")
    return [param for param in params if param.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their global norm is at most ``max_norm``; return
    the norm before clipping.

    total = (sum_i ||g_i||_p^p)^(1/p)   (max_i |g_i| for p = inf)
    g_i = g_i * min(1, max_norm / (total + 1e-6))
    """
    for name, value in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
            raise ConfigError(f"clip_grad_norm_: {name} must be a real number, got {value!r}")
    if norm_type <= 0:
        raise ConfigError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type!r}")
    if max_norm < 0:
        raise ConfigError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm!r}")
    params = _with_grads(parameters, "clip_grad_norm_")
    if not params:
        return 0.0
    total = global_norm([param.grad for param in params], float(norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise NumericalError(f"clip_grad_norm_: the total gradient norm of order {norm_type} is "
                             f"{total}; set error_if_nonfinite=False to clip anyway")
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        with np.errstate(invalid="ignore"):  # an infinite norm turns gradients into NaN
            for param in params:
                param.grad *= coefficient
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    if (isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real)
            or clip_value != clip_value or clip_value < 0):
        raise ConfigError(f"clip_grad_value_: clip_value must be a number >= 0, "
                          f"got {clip_value!r}")
    for param in _with_grads(parameters, "clip_grad_value_"):
        np.clip(param.grad, -clip_value, clip_value, out=param.grad)
