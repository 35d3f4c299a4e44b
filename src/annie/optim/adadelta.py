"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import (Optimizer, ParamsT, add_scaled, add_scaled_square, check_in_range,
                        check_nonnegative)


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and squared updates
    (PyTorch's rule).

    g = grad + weight_decay * theta
    v = rho * v + (1 - rho) * g^2
    delta = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta^2
    theta = theta - lr * delta
    """

    elementwise_update = True

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_in_range(self._name, "rho", group["rho"], 0.0, 1.0, high_inclusive=True)
        check_nonnegative(self._name, "eps", group["eps"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": np.zeros_like(param),
                "acc_delta": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        std, delta = self._buffer(param, 1), self._buffer(param, 2)
        g = self._effective_grad(param, grad, group)

        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        add_scaled_square(square_avg, g, 1 - rho, std)

        np.add(square_avg, eps, out=std)
        np.sqrt(std, out=std)
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g

        acc_delta *= rho
        add_scaled_square(acc_delta, delta, 1 - rho, std)
        add_scaled(param, delta, -group["lr"], delta)
