"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, add_scaled, check_nonnegative


class RMSprop(Optimizer):
    """RMSprop: the gradient divided by a running root mean square of gradients (momentum,
    centered; PyTorch's rule).

    g = grad + weight_decay * theta
    v = alpha * v + (1 - alpha) * g^2
    centered: g_avg = alpha * g_avg + (1 - alpha) * g;  s = sqrt(v - g_avg^2) + eps
    otherwise: s = sqrt(v) + eps
    momentum > 0: b = momentum * b + g / s;  theta = theta - lr * b
    otherwise:    theta = theta - lr * g / s
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
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, alpha, momentum = group["lr"], group["alpha"], group["momentum"]
        state["step"] += 1
        work = self._buffer(param, 1)
        g = self._effective_grad(param, grad, group["weight_decay"], group["maximize"],
                                 out=self._buffer(param, 0))

        square_avg = state["square_avg"]
        square_avg *= alpha
        np.multiply(g, g, out=work)
        add_scaled(square_avg, work, 1 - alpha, work)

        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
            grad_avg *= alpha
            add_scaled(grad_avg, g, 1 - alpha, work)
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            scale = np.sqrt(work, out=work)
        else:
            scale = np.sqrt(square_avg, out=work)
        scale += group["eps"]

        if momentum > 0:
            buffer = state.setdefault("momentum_buffer", np.zeros_like(param))
            buffer *= momentum
            buffer += np.divide(g, scale, out=work)
            add_scaled(param, buffer, -lr, work)
        else:
            np.divide(g, scale, out=work)
            add_scaled(param, work, -lr, work)
