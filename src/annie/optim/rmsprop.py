"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, add_scaled, add_scaled_square, check_nonnegative


class RMSprop(Optimizer):
    """RMSprop: the gradient divided by a running root mean square of gradients (momentum,
    centered; PyTorch's rule).

    g = grad + weight_decay * theta
    v = alpha * v + (1 - alpha) * g^2
    centered: g_avg = alpha * g_avg + (1 - alpha) * g;  s = sqrt(v - g_avg^2) + eps
    otherwise: s = sqrt(v) + eps
    momentum > 0: b = momentum * b + g / s;  theta = theta - lr * b
    otherwise:    theta = theta - lr * g / s

    Centered, the variance v - g_avg^2 is not taken as that difference, which cancels
    catastrophically (in float32 it rounds below zero when the gradient barely varies, and the
    root is NaN). It is kept as its own state ``grad_var``, updated by the recurrence that the
    difference satisfies exactly (West, 1979; with d = g - g_avg before g_avg's update):
    grad_var = alpha * (grad_var + (1 - alpha) * d^2), a sum of non-negative terms.
    ``square_avg`` and ``grad_avg`` are kept as PyTorch keeps them; a state without ``grad_var``
    (a PyTorch state dict) starts it at max(square_avg - grad_avg^2, 0).
    """

    elementwise_update = True

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(self._name, "eps", group["eps"])
        check_nonnegative(self._name, "momentum", group["momentum"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])
        check_nonnegative(self._name, "alpha", group["alpha"])

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
            state["grad_var"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, alpha, momentum = group["lr"], group["alpha"], group["momentum"]
        state["step"] += 1
        work = self._buffer(param, 1)
        g = self._effective_grad(param, grad, group)

        square_avg = state["square_avg"]
        if group["centered"]:
            self._update_variance(g, square_avg, state, alpha, work)
        square_avg *= alpha
        add_scaled_square(square_avg, g, 1 - alpha, work)

        scale = np.sqrt(state["grad_var"] if group["centered"] else square_avg, out=work)
        scale += group["eps"]

        if momentum > 0:
            buffer = state.setdefault("momentum_buffer", np.zeros_like(param))
            buffer *= momentum
            buffer += np.divide(g, scale, out=work)
            add_scaled(param, buffer, -lr, work)
        else:
            np.divide(g, scale, out=work)
            add_scaled(param, work, -lr, work)

    def _update_variance(self, g: np.ndarray, square_avg: np.ndarray, state: dict[str, Any],
                         alpha: float, work: np.ndarray) -> None:
        """Advance grad_avg and grad_var (centered), before square_avg's update."""
        grad_avg = state.setdefault("grad_avg", np.zeros_like(g))
        if "grad_var" not in state:  # a PyTorch state, or centered switched on
            variance = square_avg - grad_avg * grad_avg
            state["grad_var"] = np.maximum(variance, 0, out=variance)
        grad_var = state["grad_var"]
        deviation = np.subtract(g, grad_avg, out=self._buffer(g, 2))
        grad_avg *= alpha
        add_scaled(grad_avg, g, 1 - alpha, work)
        add_scaled_square(grad_var, deviation, 1 - alpha, work)
        grad_var *= alpha
