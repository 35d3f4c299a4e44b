"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import (Optimizer, ParamsT, add_scaled, add_scaled_square, check_betas,
                        check_nonnegative)


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum and a momentum schedule (PyTorch's rule, step
    t = 1, 2, ...).

    g = grad + weight_decay * theta    (or, decoupled: theta = theta * (1 - lr * weight_decay))
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));  P_t = mu_1 * ... * mu_t
    m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
    s = sqrt(v / (1 - beta2^t)) + eps
    theta = theta - lr * (1 - mu_t) / (1 - P_t) * g / s
                  - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / s
    """

    elementwise_update = True
    scalar_state_keys = ("step", "mu_product")

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(self._name, "eps", group["eps"])
        check_betas(self._name, group["betas"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])
        check_nonnegative(self._name, "momentum_decay", group["momentum_decay"])

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(param),
                "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, momentum_decay = group["lr"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = state["step"]
        denominator, work = self._buffer(param, 1), self._buffer(param, 2)
        g = self._effective_grad(param, grad, group)  # (decoupled decay applied to param here)

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        add_scaled(exp_avg, g, 1 - beta1, work)
        exp_avg_sq *= beta2
        add_scaled_square(exp_avg_sq, g, 1 - beta2, work)

        # sqrt(v / (1 - beta2^t)) as sqrt(v) / sqrt(1 - beta2^t): v / 1e-3 would overflow first
        np.sqrt(exp_avg_sq, out=denominator)
        denominator /= math.sqrt(1 - beta2 ** step)
        denominator += group["eps"]
        np.divide(g, denominator, out=work)
        add_scaled(param, work, -lr * (1 - mu) / (1 - mu_product), work)
        np.divide(exp_avg, denominator, out=work)
        add_scaled(param, work, -lr * mu_next / (1 - mu_product * mu_next), work)


Nadam = NAdam
