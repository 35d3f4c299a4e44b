"""Gradient checking: compare autodiff gradients with central finite differences in float64.

For each input element x_i: numeric_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), where the
scalar f is sum(output * weights) with fixed random weights, so every output element counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import ConfigError, NumericalError
from ..tensor import Tensor


@dataclass
class GradcheckResult:
    """What gradcheck found: ok, and the worst element (input, index, analytic, numeric)."""

    ok: bool
    worst_input: int | None = None
    worst_index: tuple | None = None
    analytic: float = 0.0
    numeric: float = 0.0
    max_error: float = 0.0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.worst_input is None:
            return "gradcheck: no differentiable inputs"
        return (f"gradcheck {'passed' if self.ok else 'FAILED'}: worst element is input "
                f"{self.worst_input} at index {self.worst_index}: analytic {self.analytic:.8g}, "
                f"numeric {self.numeric:.8g} (|difference| {self.max_error:.3g})")


def _as_float64_inputs(inputs: Sequence) -> list:
    converted = []
    for item in inputs:
        if isinstance(item, Tensor):
            if item.data.dtype.kind == "f":
                converted.append(Tensor(item.data.astype(np.float64), requires_grad=item.requires_grad))
            else:
                converted.append(item)
        else:
            converted.append(item)
    return converted


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> GradcheckResult:
    """Check ``fn``'s gradients w.r.t. every input tensor with ``requires_grad`` against central
    finite differences in float64; a failure names the worst element.

    Passes when |analytic - numeric| <= atol + rtol * |numeric| for every element. ``inputs``
    is a sequence of ``fn``'s arguments, or one Tensor (PyTorch's ``gradcheck`` takes both).
    """
    if eps <= 0:
        raise ConfigError(f"gradcheck: eps must be positive, got {eps}")
    if isinstance(inputs, Tensor):  # one input, not the rows of one
        inputs = (inputs,)
    inputs = _as_float64_inputs(inputs)
    targets = [i for i, item in enumerate(inputs) if isinstance(item, Tensor) and item.requires_grad]
    output = fn(*inputs)
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    weights = [np.random.default_rng(seed + k).standard_normal(out.shape) for k, out in enumerate(outputs)]

    def scalar(values) -> float:
        values = values if isinstance(values, (tuple, list)) else (values,)
        return float(sum(np.sum(v.data * w) for v, w in zip(values, weights)))

    for i in targets:
        inputs[i].grad = None
    total = None
    for out, w in zip(outputs, weights):
        if out.requires_grad:
            term = (out * Tensor(w)).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()

    result = GradcheckResult(ok=True)
    worst_excess = -np.inf
    for i in targets:
        tensor = inputs[i]
        analytic = tensor.grad if tensor.grad is not None else np.zeros_like(tensor.data)
        flat = tensor.data.reshape(-1)
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = scalar(fn(*inputs))
            flat[j] = original - eps
            minus = scalar(fn(*inputs))
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            value = analytic.reshape(-1)[j]
            if not np.isfinite(value):
                raise NumericalError(f"gradcheck: analytic gradient of input {i} is {value} at "
                                     f"index {np.unravel_index(j, tensor.shape)}")
            error = abs(value - numeric)
            excess = error - (atol + rtol * abs(numeric))
            if excess > worst_excess:
                worst_excess = excess
                result.worst_input, result.worst_index = i, np.unravel_index(j, tensor.shape)
                result.analytic, result.numeric, result.max_error = float(value), float(numeric), error
            if excess > 0:
                result.ok = False
    if not result.ok and raise_exception:
        raise NumericalError(str(result))
    return result
