"""The loss of a whole set from the losses of its batches (``evaluate``, and ``fit``'s ``loss``
and ``val_loss``).

A loss with reduction "mean" divides a total by a count, and the count is not always the
number of rows:

- elementwise losses (MSE, MAE, Huber, log-cosh, mean bias error, hinge, both binary
  cross-entropies): the number of elements, so a (N, k) output counts N * k;
- KL divergence: the number of distributions ("batchmean": the number of rows);
- cross-entropy and NLL with class labels (``nn.sequence_cross_entropy`` too): the summed
  class weights ``weight[y]`` of the targets that are not ``ignore_index`` (the number of such
  targets without weights: padded steps count for nothing); with class probabilities as
  targets: the number of positions.

So the loss of a set cut into batches b is  L = sum_b(L_b * count_b) / sum_b(count_b), which is
not the mean of the batch losses weighted by their number of rows (class weights, ignored rows).
reduction="sum": L = sum_b L_b. RMSE is the root of a mean: L = sqrt(sum_b(L_b^2 count_b) /
sum_b count_b). A loss annie does not know (a function of the user's) is taken to be a mean over
the elements of its target, which is exact for per-element and per-row means.
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from ..errors import ConfigError


def _elements(prediction: np.ndarray, target: np.ndarray, options: dict) -> float:
    return float(prediction.size)


def _distributions(prediction: np.ndarray, target: np.ndarray, options: dict) -> float:
    return float(prediction.size // prediction.shape[-1]) if prediction.ndim else 1.0


def _rows(prediction: np.ndarray, target: np.ndarray, options: dict) -> float:
    return float(prediction.shape[0]) if prediction.ndim else 1.0


def _class_targets(prediction: np.ndarray, target: np.ndarray, options: dict) -> float:
    """The count of cross-entropy/NLL: summed weights of the kept class labels, or the number
    of positions for class probabilities (the logits' size over the class axis, axis 1)."""
    if target.dtype.kind == "f" and target.shape == prediction.shape:
        classes = prediction.shape[1] if prediction.ndim > 1 else prediction.shape[0]
        return float(prediction.size // classes)
    kept = target != options.get("ignore_index", -100)
    weight = options.get("weight")
    if weight is None:
        return float(np.count_nonzero(kept))
    weight = np.asarray(getattr(weight, "data", weight), dtype=np.float64)
    return float(weight[target[kept]].sum())


def unwrap_loss(loss_fn: Callable) -> tuple[Callable, dict]:
    """(the loss function, its options) of a loss given as a function, a ``functools.partial``
    of one or a ``losses.Loss`` object (options include ``reduction`` when one is set)."""
    function, options = loss_fn, {}
    if isinstance(loss_fn, functools.partial):
        function, options = loss_fn.func, dict(loss_fn.keywords)
    function = getattr(type(function), "function", function)  # a losses.Loss object
    options.update(getattr(loss_fn, "options", {}))
    return function, options


def _counts() -> dict[Callable, Callable]:
    from .. import losses, nn
    counts = {function: _elements for function in (
        losses.mean_bias_error, losses.mae, losses.mse, losses.rmse, losses.huber,
        losses.log_cosh, losses.binary_cross_entropy, losses.binary_cross_entropy_with_logits,
        losses.hinge)}
    counts.update({losses.cross_entropy: _class_targets, losses.nll_loss: _class_targets,
                   nn.sequence_cross_entropy: _class_targets,
                   losses.kl_divergence: _distributions})
    return counts


class LossAverage:
    """How the batch values of one loss add up to the value of the whole set (see above).

    ``share(value, prediction, target)`` is what a batch adds: ``(part, count)``;
    ``value(parts, counts)`` is the whole set's loss from the sums of both."""

    def __init__(self, loss_fn: Callable, who: str = "fit"):
        function, options = unwrap_loss(loss_fn)
        reduction = options.pop("reduction", getattr(loss_fn, "reduction", "mean"))
        if reduction not in ("mean", "sum", "batchmean"):
            raise ConfigError(f"{who}: the loss must reduce a batch to one number (reduction "
                              f"'mean' or 'sum'), got reduction={reduction!r}")
        from .. import losses
        self.summed = reduction == "sum"
        self.root = function is losses.rmse
        self.options = options
        count = _rows if reduction == "batchmean" else _counts().get(function)
        self.count = count if count is not None else self._target_elements

    @staticmethod
    def _target_elements(prediction: np.ndarray, target: np.ndarray, options: dict) -> float:
        return float(np.size(target))

    def share(self, value: float, prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
        """``(part, count)`` of one batch whose loss is ``value``: part / count is its mean
        (its square for RMSE); a sum counts 1. A batch that counts nothing adds nothing."""
        if self.root:
            value = value * value
        if self.summed:
            return value, 1.0
        count = self.count(prediction, target, self.options)
        return (value * count if count else 0.0), count

    def value(self, parts: float, counts: float) -> float:
        """The loss of the whole set from the summed parts and counts (NaN when nothing
        counted, e.g. every target ignored)."""
        if self.summed:
            total = parts if counts else float("nan")
        else:
            total = parts / counts if counts else float("nan")
        return float(np.sqrt(total)) if self.root else float(total)
