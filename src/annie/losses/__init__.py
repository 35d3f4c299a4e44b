"""Every loss function of the lecture, each ``(prediction, target, reduction="mean", ...) -> Tensor``
with a class form carrying its options (``losses.MSE()``, ``losses.CrossEntropy(label_smoothing=0.1)``).

reduction: "mean" (the lecture's 1/N sum), "sum", or "none" (one value per element or sample).
Prediction comes first, target second. :func:`get_loss` finds a loss by name in ``LOSSES`` (an
``annie.registry.Registry``; each loss is described by its docstring).
"""
from __future__ import annotations

from typing import Callable

from ..registry import Registry
from ._reduction import REDUCTIONS, Loss
from .classification import (BCE, BCEWithLogits, BinaryCrossEntropy, BinaryCrossEntropyWithLogits,
                             Hinge, KLDivergence, binary_cross_entropy,
                             binary_cross_entropy_with_logits, hinge, kl_divergence)
from .cross_entropy import CrossEntropy, NLLLoss, cross_entropy, nll_loss
from .regression import (L1, MAE, MSE, RMSE, Huber, LogCosh, MeanBiasError, huber, l1, log_cosh, mae,
                         mean_bias_error, mse, rmse)

NLL = NLLLoss

#: name -> loss function (``get_loss`` looks names up here); descriptions are the docstrings
LOSSES = Registry("loss", {
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
}, aliases={
    "mbe": "mean_bias_error",
    "l1": "mae",
    "l2": "mse",
    "bce": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "nll": "nll_loss",
    "kl_div": "kl_divergence",
})
ALIASES: dict[str, str] = LOSSES.aliases()


def loss_names() -> list[str]:
    """Every name :func:`get_loss` accepts: canonical names, then aliases."""
    return LOSSES.names(aliases=True)


def get_loss(name: str) -> Callable:
    """The loss function called ``name`` ("mse", "cross_entropy", "huber", an alias like "l1", ...);
    case and '-' vs '_' do not matter. An unknown name is a ConfigError listing the valid ones."""
    return LOSSES.lookup(name)


__all__ = [
    "REDUCTIONS", "Loss", "LOSSES", "ALIASES", "get_loss", "loss_names",
    "mean_bias_error", "mae", "l1", "mse", "rmse", "huber", "log_cosh", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "hinge", "cross_entropy", "nll_loss", "kl_divergence",
    "MeanBiasError", "MAE", "L1", "MSE", "RMSE", "Huber", "LogCosh", "BinaryCrossEntropy", "BCE",
    "BinaryCrossEntropyWithLogits", "BCEWithLogits", "Hinge", "CrossEntropy", "NLLLoss", "NLL",
    "KLDivergence",
]
