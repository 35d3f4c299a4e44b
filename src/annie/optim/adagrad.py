"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, add_scaled, check_nonnegative


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates from the sum of all past squared gradients (PyTorch's
    rule, step t = 1, 2, ...).

    g = grad + weight_decay * theta
    lr_t = lr / (1 + (t - 1) * lr_decay)
    G = G + g^2                   (G starts at initial_accumulator_value)
    theta = theta - lr_t * g / (sqrt(G) + eps)
    """

    elementwise_update = True

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(self._name, "lr_decay", group["lr_decay"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])
        check_nonnegative(self._name, "initial_accumulator_value",
                          group["initial_accumulator_value"])
        check_nonnegative(self._name, "eps", group["eps"])

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        state["step"] += 1
        step = state["step"]
        work = self._buffer(param, 1)
        g = self._effective_grad(param, grad, group)
        decayed_lr = group["lr"] / (1 + (step - 1) * group["lr_decay"])

        squared_sum = state["sum"]
        squared_sum += np.multiply(g, g, out=work)
        denominator = np.sqrt(squared_sum, out=work)
        denominator += group["eps"]
        np.divide(g, denominator, out=work)
        add_scaled(param, work, -decayed_lr, work)
