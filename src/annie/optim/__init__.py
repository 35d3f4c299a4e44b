"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, NAdam), learning-rate schedulers,
and ``get_optimizer(name)`` to find an optimizer class by name."""
from __future__ import annotations

from ..errors import ConfigError
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lr_scheduler import (CosineAnnealingLR, ExponentialLR, LinearLR, LRScheduler,
                           ReduceLROnPlateau, StepLR)
from .nadam import NAdam, Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: Lower-case name -> optimizer class (the one place names are looked up).
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "nadam": NAdam,
}

#: Lower-case name -> one-line description (for ``annie list``).
DESCRIPTIONS: dict[str, str] = {
    "sgd": "stochastic gradient descent with optional momentum, Nesterov momentum and weight decay",
    "adam": "bias-corrected running mean and variance of the gradient (amsgrad option)",
    "adamw": "Adam with decoupled weight decay",
    "rmsprop": "gradient over a running root mean square of gradients (momentum, centered)",
    "adagrad": "per-coordinate rates from the sum of all past squared gradients",
    "adadelta": "step sizes from running averages of squared gradients and squared updates",
    "nadam": "Adam with Nesterov momentum and a momentum schedule",
}


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class called ``name`` (case-insensitive, e.g. "adam", "SGD")."""
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; valid names are "
                          f"{', '.join(sorted(OPTIMIZERS))}")
    return OPTIMIZERS[key]


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "Nadam", "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "ReduceLROnPlateau", "OPTIMIZERS", "DESCRIPTIONS", "get_optimizer"]
