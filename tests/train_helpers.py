"""Small stand-ins used by the training tests so they check fit itself, independently of
annie.optim and annie.losses: plain SGD and MSE written with the core ops."""
import numpy as np

import annie
from annie import nn


class PlainSGD:
    """w <- w - lr * dL/dw, with the optimizer interface fit uses."""

    def __init__(self, params, lr=0.1):
        self.params = list(params)
        self.param_groups = [{"params": self.params, "lr": lr}]
        self.steps = 0

    def zero_grad(self):
        for param in self.params:
            param.grad = None

    def step(self):
        self.steps += 1
        for param in self.params:
            if param.grad is not None:
                param.data -= self.param_groups[0]["lr"] * param.grad


def squared_error(prediction, target):
    """mean((prediction - target)^2) with the core ops."""
    difference = prediction - target
    return (difference * difference).mean()


def regression_data(n=40, features=3, seed=0):
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n, features))
    true_weight = generator.normal(size=(features, 1))
    y = X @ true_weight + 0.1 * generator.normal(size=(n, 1))
    return X, y


def linear_model(features=3, dtype=np.float64):
    return nn.Linear(features, 1, dtype=dtype)
