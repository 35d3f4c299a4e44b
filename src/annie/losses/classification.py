"""Binary classification losses and the KL divergence: binary cross-entropy on probabilities and
on logits (one fused, stable op), hinge, and KL(target || prediction) of two distributions.
(Multi-class cross-entropy and NLL are in ``cross_entropy.py``.)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, ShapeError
from ..tensor import Function, Tensor
from ._reduction import (Loss, as_float_target, as_prediction, check_reduction,
                         check_same_shape, data_of, reduce, weighted_term)

LOG_FLOOR = -100.0  # binary_cross_entropy clamps each log at -100 (as PyTorch), so p = 0 is finite
# its gradient divides by max(p (1 - p), 1e-12), the floor held as a float32 number (as PyTorch)
PRODUCT_FLOOR = float(np.float32(1e-12))


def _prepare(prediction: Any, target: Any, loss_name: str):
    prediction = as_prediction(prediction, loss_name)
    target = as_float_target(target, prediction, loss_name)
    check_same_shape(prediction, target, loss_name)
    return prediction, target


def _optional_weight(weight: Any, prediction: Tensor, name: str, loss_name: str):
    """A constant weight array in the prediction's dtype that broadcasts to its shape, or None."""
    if weight is None:
        return None
    weight = np.asarray(data_of(weight)).astype(prediction.dtype)
    try:
        np.broadcast_shapes(weight.shape, prediction.shape)
    except ValueError:
        raise ShapeError(f"{loss_name}: {name} of shape {weight.shape} does not broadcast to the "
                         f"prediction's shape {tuple(prediction.shape)}") from None
    if np.broadcast_shapes(weight.shape, prediction.shape) != tuple(prediction.shape):
        raise ShapeError(f"{loss_name}: {name} of shape {weight.shape} would enlarge the "
                         f"prediction's shape {tuple(prediction.shape)}")
    return weight


# ----- binary cross-entropy on probabilities ---------------------------------------------------
class BinaryCrossEntropyFunction(Function):
    """Per element: -(y log p + (1 - y) log(1 - p)) with each log clamped at -100;
    dL/dp = (p - y) / max(p (1 - p), 1e-12),  dL/dy = log(1 - p) - log p (clamped logs)."""

    def forward(ctx, probability, target, weight=None):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(probability), LOG_FLOOR)
            log_1mp = np.maximum(np.log1p(-probability), LOG_FLOOR)
        loss = -(target * log_p + (1 - target) * log_1mp)
        ctx.probability, ctx.target, ctx.weight = probability, target, weight
        ctx.log_p, ctx.log_1mp = log_p, log_1mp
        return loss * weight if weight is not None else loss

    def backward(ctx, grad_output):
        if ctx.weight is not None:
            grad_output = grad_output * ctx.weight
        grad_probability = grad_target = None
        if ctx.needs_input_grad[0]:
            p = ctx.probability
            grad_probability = grad_output * (p - ctx.target) / np.maximum(p * (1 - p), PRODUCT_FLOOR)
        if ctx.needs_input_grad[1]:
            grad_target = grad_output * (ctx.log_1mp - ctx.log_p)
        return grad_probability, grad_target


def binary_cross_entropy(prediction: Any, target: Any, reduction: str = "mean",
                         weight: Any = None) -> Tensor:
    """Binary cross-entropy of probabilities p = f(x) in [0, 1]:
    L = -1/N sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)], each log clamped at -100 (PyTorch).
    weight (optional) rescales each element's loss. For logits use the stabler
    :func:`binary_cross_entropy_with_logits`."""
    reduction = check_reduction(reduction, "binary_cross_entropy")
    prediction, target = _prepare(prediction, target, "binary_cross_entropy")
    values = prediction.data
    outside = (values < 0) | (values > 1) | np.isnan(values)
    if outside.any():
        raise DataError(f"binary_cross_entropy: prediction must hold probabilities in [0, 1], found "
                        f"{values[outside].flat[0]!r} (apply sigmoid first, or use "
                        f"binary_cross_entropy_with_logits)")
    weight = _optional_weight(weight, prediction, "weight", "binary_cross_entropy")
    return reduce(BinaryCrossEntropyFunction.apply(prediction, target, weight=weight), reduction)


# ----- binary cross-entropy on logits -------------------------------------------------------------
def _sigmoid(x: np.ndarray, exp_neg_abs: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) from e = exp(-|x|) without overflow: 1 / (1 + e) for x >= 0, else e / (1 + e)."""
    return np.where(x >= 0, 1, exp_neg_abs) / (1 + exp_neg_abs)


class BinaryCrossEntropyWithLogitsFunction(Function):
    """Per element, logit x, target y, positive weight w+ = pos_weight * y (y without pos_weight)
    and negative weight w- = 1 - y:
    w+ softplus(-x) + w- softplus(x)
        (= -(pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))));
    dL/dx = w- sigmoid(x) - w+ sigmoid(-x)  (= sigmoid(x) - y without pos_weight);
    dL/dy = pos_weight softplus(-x) - softplus(x)  (= -x without pos_weight).

    For finite x the loss is computed as (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x), one
    softplus. With x = +-inf (masked logits) each term is kept apart and a term whose weight is
    0 is 0 (0 log 0 = 0): x = +inf with y = 1, or x = -inf with y = 0, costs exactly 0."""

    def forward(ctx, logits, target, weight=None, pos_weight=None):
        exp_neg_abs = np.exp(-np.abs(logits))
        log1p_exp = np.log1p(exp_neg_abs)
        softplus_neg = np.maximum(-logits, 0) + log1p_exp  # -log sigmoid(x)
        positive = target if pos_weight is None else pos_weight * target
        ctx.finite = bool(np.isfinite(logits).all())
        if ctx.finite:
            loss = (1 - target) * logits
            loss += softplus_neg if pos_weight is None else (
                1 + (pos_weight - 1) * target) * softplus_neg
            ctx.softplus_pos = None
        else:
            ctx.softplus_pos = np.maximum(logits, 0) + log1p_exp  # -log(1 - sigmoid(x))
            loss = (weighted_term(positive, softplus_neg)
                    + weighted_term(1 - target, ctx.softplus_pos))
        ctx.logits, ctx.target, ctx.exp_neg_abs = logits, target, exp_neg_abs
        ctx.softplus_neg, ctx.weight, ctx.pos_weight, ctx.positive = (softplus_neg, weight,
                                                                      pos_weight, positive)
        if weight is None:
            return loss
        return loss * weight if ctx.finite else weighted_term(weight, loss)

    def backward(ctx, grad_output):
        if ctx.weight is not None:
            grad_output = grad_output * ctx.weight
        grad_logits = grad_target = None
        if ctx.needs_input_grad[0]:
            if ctx.pos_weight is None:
                slope = _sigmoid(ctx.logits, ctx.exp_neg_abs) - ctx.target
            else:
                slope = ((1 - ctx.target) * _sigmoid(ctx.logits, ctx.exp_neg_abs)
                         - ctx.positive * _sigmoid(-ctx.logits, ctx.exp_neg_abs))
            grad_logits = grad_output * slope
        if ctx.needs_input_grad[1]:
            if ctx.finite:
                slope = -ctx.logits
                if ctx.pos_weight is not None:
                    slope = slope + (ctx.pos_weight - 1) * ctx.softplus_neg
                grad_target = grad_output * slope
            else:
                pos_weight = 1 if ctx.pos_weight is None else ctx.pos_weight
                slope = weighted_term(pos_weight, ctx.softplus_neg) - ctx.softplus_pos
                grad_target = weighted_term(grad_output, slope)
        return grad_logits, grad_target


def binary_cross_entropy_with_logits(prediction: Any, target: Any, reduction: str = "mean",
                                     weight: Any = None, pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of logits x (probability sigmoid(x)), one fused and stable op:
    L = 1/N sum_i [y_i softplus(-x_i) + (1 - y_i) softplus(x_i)], finite for any finite x, and
    exactly 0 for x = +inf with y = 1 or x = -inf with y = 0 (masked logits). weight rescales
    each element; pos_weight (broadcast along the last axis) weighs the positive term
    y log sigmoid(x). A zero weight removes its term (0 log 0 = 0)."""
    reduction = check_reduction(reduction, "binary_cross_entropy_with_logits")
    prediction, target = _prepare(prediction, target, "binary_cross_entropy_with_logits")
    weight = _optional_weight(weight, prediction, "weight", "binary_cross_entropy_with_logits")
    pos_weight = _optional_weight(pos_weight, prediction, "pos_weight",
                                  "binary_cross_entropy_with_logits")
    return reduce(BinaryCrossEntropyWithLogitsFunction.apply(
        prediction, target, weight=weight, pos_weight=pos_weight), reduction)


# ----- hinge ------------------------------------------------------------------------------------
def _signed_labels(target: Any, prediction: Tensor) -> np.ndarray:
    """Hinge targets as -1/+1 in the prediction's dtype: {-1, 1} kept, {0, 1} mapped by 2y - 1."""
    labels = np.asarray(data_of(target))
    present = set(np.unique(labels).tolist())
    if present <= {-1, 1}:
        signed = labels
    elif present <= {0, 1}:
        signed = 2 * labels.astype(np.int64) - 1
    else:
        unexpected = sorted(present - {-1, 0, 1}) or sorted(present)
        raise DataError(f"hinge: target must hold labels in {{-1, 1}} or in {{0, 1}}, found "
                        f"{unexpected[0]!r} among {sorted(present)[:6]}")
    return signed.astype(prediction.dtype)


def hinge(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Hinge loss (SVM): L = 1/N sum_i max(0, 1 - y_i f(x_i)) with y in {-1, 1} ({0, 1} accepted
    and mapped to {-1, 1}); the gradient is -y where 1 - y f(x) >= 0, else 0."""
    reduction = check_reduction(reduction, "hinge")
    prediction = as_prediction(prediction, "hinge")
    check_same_shape(prediction, data_of(target), "hinge")
    signed = _signed_labels(target, prediction)
    return reduce((1 - prediction * signed).clip(low=0), reduction)


# ----- KL divergence -------------------------------------------------------------------------------
class KLDivergenceFunction(Function):
    """Per distribution (last axis): sum_j y_j log(y_j / q_j), with 0 log 0 = 0;
    dL/dq_j = -y_j / q_j,  dL/dy_j = log(y_j / q_j) + 1 (0 where y_j = 0, as PyTorch)."""

    def forward(ctx, prediction, target):
        positive = target > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(positive, target * (np.log(target) - np.log(prediction)), 0)
        ctx.prediction, ctx.target, ctx.positive = prediction, target, positive
        return terms.astype(prediction.dtype, copy=False).sum(axis=-1)

    def backward(ctx, grad_output):
        grad_output = np.expand_dims(grad_output, -1)
        positive = ctx.positive
        grad_prediction = grad_target = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                grad_prediction = np.where(positive, -grad_output * ctx.target / ctx.prediction, 0)
            if ctx.needs_input_grad[1]:
                log_ratio = np.log(ctx.target) - np.log(ctx.prediction)
                grad_target = np.where(positive, grad_output * (log_ratio + 1), 0)
        return grad_prediction, grad_target


def kl_divergence(prediction: Any, target: Any, reduction: str = "mean") -> Tensor:
    """KL divergence KL(y || y_hat) = sum_j y_j log(y_j / y_hat_j) of the target distribution y
    from the predicted one y_hat (both probabilities on the last axis; 0 log 0 = 0).

    "none": one value per distribution (shape prediction.shape[:-1]); "mean": their average (for
    2-D input equal to PyTorch's kl_div(log y_hat, y, reduction="batchmean")); "sum": their sum;
    "batchmean": the sum divided by prediction.shape[0], exactly PyTorch's batchmean.
    """
    reduction = check_reduction(reduction, "kl_divergence", extra=("batchmean",))
    prediction, target = _prepare(prediction, target, "kl_divergence")
    if prediction.ndim == 0:
        raise ShapeError("kl_divergence: prediction must have a last axis holding a distribution, "
                         "got a scalar")
    for name, values in (("prediction", prediction.data), ("target", data_of(target))):
        negative = (values < 0) | np.isnan(values)
        if negative.any():
            raise DataError(f"kl_divergence: {name} must hold probabilities (>= 0), found "
                            f"{values[negative].flat[0]!r}")
    per_distribution = KLDivergenceFunction.apply(prediction, target)
    if reduction == "batchmean":
        return per_distribution.sum() / prediction.shape[0]
    return reduce(per_distribution, reduction)


# ----- class forms ---------------------------------------------------------------------------------
class BinaryCrossEntropy(Loss):
    """Class form of :func:`binary_cross_entropy`, carrying an optional weight."""

    function = staticmethod(binary_cross_entropy)

    def __init__(self, weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction, weight=weight)


BCE = BinaryCrossEntropy


class BinaryCrossEntropyWithLogits(Loss):
    """Class form of :func:`binary_cross_entropy_with_logits`, carrying weight and pos_weight."""

    function = staticmethod(binary_cross_entropy_with_logits)

    def __init__(self, weight: Any = None, pos_weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)


BCEWithLogits = BinaryCrossEntropyWithLogits


class Hinge(Loss):
    """Class form of :func:`hinge`."""

    function = staticmethod(hinge)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)


class KLDivergence(Loss):
    """Class form of :func:`kl_divergence`."""

    function = staticmethod(kl_divergence)
    extra_reductions = ("batchmean",)

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction)
