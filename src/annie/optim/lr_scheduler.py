"""Learning-rate schedulers with PyTorch's semantics: call ``step()`` once per epoch, after the
optimizer's steps; ``get_last_lr()`` gives the rates now set in the optimizer's groups.

Creating a scheduler records each group's ``initial_lr`` and applies the epoch-0 rate. Each
scheduler updates the *current* rate multiplicatively (as PyTorch does), so two schedulers on
one optimizer compose; the closed form each one follows is in its docstring.

A schedule resumes exactly, at and between its boundaries, either way:
- ``load_state_dict(scheduler.state_dict())``, before or after the optimizer's state is loaded
  (it also puts the saved rates back into the optimizer);
- a new scheduler with ``last_epoch=k`` (k + 1 ``step()`` calls were made) on an optimizer
  whose state was loaded: creating it keeps the optimizer's rates, which are already those of
  epoch k + 1, instead of stepping them once more.
"""
from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError, check_positive_int
from .optimizer import Optimizer


def _check_optimizer(owner: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(f"{owner}: optimizer must be an annie.optim.Optimizer, "
                          f"got {type(optimizer).__name__}")


class LRScheduler:
    """Base of the epoch-indexed schedulers: subclasses define ``get_lr()``, the rates for
    epoch ``last_epoch`` computed from the current rates."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self._attach(optimizer)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for number, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ConfigError(f"{type(self).__name__}: last_epoch={last_epoch} resumes a "
                                      f"schedule, but param_groups[{number}] has no 'initial_lr'")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError

    def _attach(self, optimizer: Optimizer) -> None:
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer

    def step(self) -> None:
        """Advance one epoch and set the new rates in the optimizer."""
        self.last_epoch += 1
        if not (self._is_initial and self.last_epoch > 0):  # (resuming: the rates are set)
            for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
                group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group after the latest ``step()``."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (numbers and lists: JSON-friendly)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by ``state_dict()`` and put the saved rates (and the
        base rates) back into the optimizer's groups, so the order of loading does not matter."""
        self.__dict__.update({key: value for key, value in state_dict.items()
                              if key != "optimizer"})
        groups = self.optimizer.param_groups
        saved_lrs = self.__dict__.get("_last_lr")
        if saved_lrs is not None and len(saved_lrs) == len(groups):
            for group, lr in zip(groups, saved_lrs):
                group["lr"] = lr
        base_lrs = self.__dict__.get("base_lrs")
        if base_lrs is not None and len(base_lrs) == len(groups):
            for group, base in zip(groups, base_lrs):
                group["initial_lr"] = base


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    lr_e = base_lr * gamma^floor(e / step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        check_positive_int(step_size, "step_size", "StepLR")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: lr_e = base_lr * gamma^e."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs (then back up):
    lr_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        check_positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if epoch == 0:
            return self._current_lrs()
        if (epoch - 1 - period) % (2 * period) == 0:  # leaving the minimum: add the step
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1)
                                                                        / period))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class LinearLR(LRScheduler):
    """Warm-up (or decay) by a linearly changing factor over ``total_iters`` epochs:
    lr_e = base_lr * (start + (end - start) * min(e, total_iters) / total_iters), with start and
    end the ``start_factor`` and ``end_factor``."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ConfigError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ConfigError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        check_positive_int(total_iters, "total_iters", "LinearLR")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in self._current_lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has not improved for ``patience`` epochs.

    Improvement in mode "min": metric < best - threshold * |best| (threshold_mode "rel"; the
    margin is relative to the size of ``best``, so it means "better by that fraction" for
    negative metrics too: R^2, mean bias error, log-likelihoods), or metric < best - threshold
    ("abs"); mode "max" mirrors both. After a reduction, ``cooldown`` epochs pass before bad
    epochs count again; a rate never goes below ``min_lr`` and changes smaller than ``eps`` are
    skipped. Call ``step(metric)`` once per epoch. (State, ``get_last_lr`` and restoring come
    from ``LRScheduler``; there is no epoch-indexed formula, so no ``get_lr``.)
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        self._attach(optimizer)
        if not factor < 1.0:
            raise ConfigError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ConfigError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ConfigError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                              f"got {threshold_mode!r}")
        groups = optimizer.param_groups
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ConfigError(f"ReduceLROnPlateau: min_lr has {len(min_lr)} values, the "
                                  f"optimizer has {len(groups)} parameter groups")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * len(groups)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value: float) -> bool:
        if math.isinf(self.best):  # no value seen yet: any finite one improves
            return value < self.best if self.mode == "min" else value > self.best
        margin = (self.threshold * abs(self.best) if self.threshold_mode == "rel"
                  else self.threshold)
        if self.mode == "min":
            return value < self.best - margin
        return value > self.best + margin

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's metric (e.g. validation loss) and reduce the rates if needed."""
        value = float(metrics)
        self.last_epoch += 1
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()
