"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .optimizer import Optimizer, ParamsT, add_scaled, check_nonnegative


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay
    (PyTorch's rule).

    g = grad + weight_decay * theta                  (-grad first if ``maximize``)
    b_1 = g;  b_t = momentum * b_{t-1} + (1 - dampening) * g      (only if momentum != 0)
    d = g + momentum * b_t if nesterov else b_t      (d = g without momentum)
    theta = theta - lr * d
    """

    elementwise_update = True
    scalar_state_keys = ()

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_nonnegative(self._name, "momentum", group["momentum"])
        check_nonnegative(self._name, "weight_decay", group["weight_decay"])
        check_nonnegative(self._name, "dampening", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ConfigError(f"{self._name}: nesterov=True needs momentum > 0 and dampening = 0, "
                              f"got momentum={group['momentum']!r}, "
                              f"dampening={group['dampening']!r}")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, momentum = group["lr"], group["momentum"]
        work = self._buffer(param, 1)
        direction = self._effective_grad(param, grad, group)
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = direction.copy()
            else:
                buffer *= momentum
                add_scaled(buffer, direction, 1 - group["dampening"], work)
            if group["nesterov"]:
                np.multiply(buffer, momentum, out=work)
                work += direction
                direction = work
            else:
                direction = buffer
        add_scaled(param, direction, -lr, work)

