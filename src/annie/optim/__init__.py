"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, NAdam), learning-rate schedulers,
and ``get_optimizer(name)`` / ``get_scheduler(name)`` to find a class by name."""
from __future__ import annotations

from ..registry import Registry
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

#: name -> optimizer class (``get_optimizer`` looks names up here)
OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer", {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "nadam": NAdam,
})

#: name -> learning-rate scheduler class (``get_scheduler`` looks names up here)
SCHEDULERS: Registry[type] = Registry("scheduler", {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "linear": LinearLR,
    "plateau": ReduceLROnPlateau,
}, aliases={"steplr": "step", "exponentiallr": "exponential", "cosineannealinglr": "cosine",
            "linearlr": "linear", "warmup": "linear", "reducelronplateau": "plateau"})


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class called ``name`` (case-insensitive, e.g. "adam", "SGD")."""
    return OPTIMIZERS.lookup(name)


def get_scheduler(name: str) -> type:
    """The learning-rate scheduler class called ``name`` ("step", "cosine", "plateau", "linear"
    (warm-up), "exponential", or the class name, e.g. "StepLR")."""
    return SCHEDULERS.lookup(name)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "Nadam", "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "ReduceLROnPlateau", "OPTIMIZERS", "SCHEDULERS", "get_optimizer", "get_scheduler"]
