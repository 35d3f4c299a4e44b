"""Every loss function of the lecture, each ``(prediction, target, reduction="mean", ...) -> Tensor``
with a class form carrying its options (``losses.MSE()``, ``losses.CrossEntropy(label_smoothing=0.1)``).

reduction: "mean" (the lecture's 1/N sum), "sum", or "none" (one value per element or sample).
Prediction comes first, target second. :func:`get_loss` finds a loss by name (for the CLI) and
``DESCRIPTIONS`` holds a one-line description of each.
"""
from __future__ import annotations

from typing import Callable

from ..errors import ConfigError
from ._reduction import REDUCTIONS, Loss
from .classification import (BCE, BCEWithLogits, BinaryCrossEntropy, BinaryCrossEntropyWithLogits,
                             Hinge, KLDivergence, binary_cross_entropy,
                             binary_cross_entropy_with_logits, hinge, kl_divergence)
from .cross_entropy import CrossEntropy, NLLLoss, cross_entropy, nll_loss
from .regression import (L1, MAE, MSE, RMSE, Huber, LogCosh, MeanBiasError, huber, l1, log_cosh, mae,
                         mean_bias_error, mse, rmse)

NLL = NLLLoss

# name -> loss function; the canonical names first, then aliases
_LOSSES: dict[str, Callable] = {
    "mean_bias_error": mean_bias_error,
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "huber": huber,
    "log_cosh": log_cosh,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "hinge": hinge,
    "cross_entropy": cross_entropy,
    "nll_loss": nll_loss,
    "kl_divergence": kl_divergence,
}
ALIASES: dict[str, str] = {
    "mbe": "mean_bias_error",
    "l1": "mae",
    "l2": "mse",
    "bce": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "nll": "nll_loss",
    "kl_div": "kl_divergence",
}

DESCRIPTIONS: dict[str, str] = {
    "mean_bias_error": "mean of (target - prediction): the average bias, rarely used for training",
    "mae": "mean absolute error |target - prediction| (L1 loss, alias l1)",
    "mse": "mean squared error (target - prediction)^2 (L2 loss)",
    "rmse": "root of the mean squared error, in the target's units",
    "huber": "quadratic for errors below delta, linear above (delta=1.0)",
    "log_cosh": "mean of log(cosh(prediction - target)): smooth, like MSE near 0 and MAE far away",
    "binary_cross_entropy": "binary cross-entropy of probabilities in [0, 1]",
    "binary_cross_entropy_with_logits": "binary cross-entropy of logits (sigmoid fused in, stable)",
    "hinge": "mean of max(0, 1 - target * prediction), targets in {-1, 1} or {0, 1}",
    "cross_entropy": "softmax cross-entropy of logits with class labels or probabilities",
    "nll_loss": "negative log-likelihood of log-probabilities with class labels",
    "kl_divergence": "KL divergence sum y log(y / prediction) of two probability distributions",
}


def loss_names() -> list[str]:
    """Every name :func:`get_loss` accepts: canonical names, then aliases."""
    return [*_LOSSES, *ALIASES]


def get_loss(name: str) -> Callable:
    """The loss function called ``name`` ("mse", "cross_entropy", "huber", an alias like "l1", ...);
    case and '-' vs '_' do not matter. An unknown name is a ConfigError listing the valid ones."""
    if not isinstance(name, str):
        raise ConfigError(f"get_loss: name must be a string, got {name!r}")
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in _LOSSES:
        raise ConfigError(f"get_loss: unknown loss {name!r}; valid names are "
                          f"{', '.join(loss_names())}")
    return _LOSSES[key]


__all__ = [
    "REDUCTIONS", "Loss", "DESCRIPTIONS", "ALIASES", "get_loss", "loss_names",
    "mean_bias_error", "mae", "l1", "mse", "rmse", "huber", "log_cosh", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "hinge", "cross_entropy", "nll_loss", "kl_divergence",
    "MeanBiasError", "MAE", "L1", "MSE", "RMSE", "Huber", "LogCosh", "BinaryCrossEntropy", "BCE",
    "BinaryCrossEntropyWithLogits", "BCEWithLogits", "Hinge", "CrossEntropy", "NLLLoss", "NLL",
    "KLDivergence",
]
