"""Adam, with the AMSGrad variant and optional decoupled weight decay."""
from __future__ import annotations

from typing import Any

import numpy as np

from .fused import adam_update
from .optimizer import (Optimizer, ParamsT, add_scaled, add_scaled_square, check_betas,
                        check_nonnegative)


class Adam(Optimizer):
    """Adam: steps from bias-corrected running means of the gradient and its square (amsgrad
    option; PyTorch's rule, step t = 1, 2, ...).

    g = grad + weight_decay * theta    (or, decoupled: theta = theta * (1 - lr * weight_decay))
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2
    v_max = max(v_max, v) and use v_max instead of v      (only if ``amsgrad``)
    theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    elementwise_update = True

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(self._name, "eps", group["eps"])
        check_betas(self._name, group["betas"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"step": 0, "exp_avg": np.zeros_like(param),
                                 "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        # Python floats: a NumPy float64 setting (lr from np.cos, say) would otherwise make NumPy
        # compute in float64 on float32 arrays, and the compiled loop could not match its bits
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        state["step"] += 1
        step = state["step"]
        if group["amsgrad"] and "max_exp_avg_sq" not in state:  # switched on after a step
            state["max_exp_avg_sq"] = np.zeros_like(param)
        # m / (sqrt(v) / c2 + eps) = c2 * m / (sqrt(v) + eps * c2), with c2 = sqrt(1 - beta2^t):
        # the bias correction of v moves into two scalars, saving a pass over the array.
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr * bias_correction2_sqrt / (1 - beta1 ** step)
        eps_term = eps * bias_correction2_sqrt
        # the same arithmetic below as one compiled loop, where numba is installed (fused.py)
        if adam_update(param, grad, state, group, beta1, beta2, step_size, eps_term):
            return
        work = self._buffer(param, 1)
        g = self._effective_grad(param, grad, group)  # (decoupled decay applied to param here)

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        add_scaled(exp_avg, g, 1 - beta1, work)
        exp_avg_sq *= beta2
        add_scaled_square(exp_avg_sq, g, 1 - beta2, work)

        second_moment = exp_avg_sq
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        denominator = np.sqrt(second_moment, out=work)
        denominator += eps_term
        np.divide(exp_avg, denominator, out=work)
        add_scaled(param, work, -step_size, work)
