"""Multi-class losses: cross-entropy on logits (one fused op) and negative log-likelihood.

Classes sit on axis 1 as in PyTorch: logits of shape (N, C) or (N, C, d1, ...) (or (C,) for one
sample), class targets of shape (N,) or (N, d1, ...). Internally every position becomes a row of
a (M, C) matrix, M = N * d1 * ...; the loss of row m with target distribution q_m is
-sum_c q_mc log p_mc, where log p = log_softmax(logits) (the lecture's
L_CE = -1/N sum_i sum_j y_ij log f(x_ij)).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, DTypeError, ShapeError
from ..tensor import Function, Tensor
from ._reduction import Loss, as_prediction, check_reduction, data_of, weighted_term


# ----- moving the class axis: (N, C, d1, ...) <-> rows (M, C) ------------------------------
def _to_rows(array: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C); (N, C) unchanged; (N, C, d1, ...) -> (N * d1 * ..., C)."""
    if array.ndim == 1:
        return array[None, :]
    if array.ndim == 2:
        return array
    return np.moveaxis(array, 1, -1).reshape(-1, array.shape[1])


def _from_rows(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of :func:`_to_rows` for an array of the logits' ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(rows.reshape(moved), -1, 1)


def _position_shape(logits_shape: tuple) -> tuple:
    """The shape of one value per position: the logits' shape without the class axis."""
    if len(logits_shape) == 1:
        return ()
    return (logits_shape[0], *logits_shape[2:])


# ----- validation -----------------------------------------------------------------------------
def _check_logits(logits: Tensor, loss_name: str) -> None:
    if logits.ndim == 0 or logits.shape[1 if logits.ndim > 1 else 0] == 0:
        raise ShapeError(f"{loss_name}: prediction needs a class axis of size >= 1 (axis 1, or axis 0 "
                         f"for one sample), got shape {tuple(logits.shape)}")


def check_class_labels(labels: np.ndarray, logits_shape: tuple, ignore_index: int,
                       loss_name: str) -> np.ndarray:
    """The integer class labels as int64, checked: integer dtype (DTypeError), one label per
    position (ShapeError), each in [0, num_classes) or equal to ignore_index (DataError)."""
    if labels.dtype.kind not in "iu":
        raise DTypeError(f"{loss_name}: class labels in target must be integers, got dtype "
                         f"{labels.dtype} (for probability targets give target the prediction's "
                         f"shape {tuple(logits_shape)})")
    expected = _position_shape(logits_shape)
    if labels.shape != expected:
        raise ShapeError(f"{loss_name}: prediction has shape {tuple(logits_shape)}, so target must "
                         f"have shape {expected} (one class label per position), got {labels.shape}")
    labels = labels.astype(np.int64, copy=False)
    num_classes = logits_shape[1 if len(logits_shape) > 1 else 0]
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        label = labels[bad].flat[0]
        raise DataError(f"{loss_name}: target has class label {label}, outside [0, {num_classes}) "
                        f"for {num_classes} classes (ignore_index is {ignore_index})")
    return labels


def _plain_labels(labels: np.ndarray, logits_shape: tuple, ignore_index: int) -> bool:
    """True for integer class labels of the right shape, all in [0, num_classes), where
    ignore_index cannot occur: the checks of :func:`check_class_labels` in two reductions."""
    if labels.dtype.kind not in "iu" or labels.size == 0 \
            or labels.shape != _position_shape(logits_shape):
        return False
    num_classes = logits_shape[1 if len(logits_shape) > 1 else 0]
    if 0 <= ignore_index < num_classes:
        return False
    return bool(labels.min() >= 0) and bool(labels.max() < num_classes)


def _check_weight(weight: Any, logits: Tensor, loss_name: str) -> np.ndarray | None:
    if weight is None:
        return None
    weight = np.asarray(data_of(weight))
    num_classes = logits.shape[1 if logits.ndim > 1 else 0]
    if weight.shape != (num_classes,):
        raise ShapeError(f"{loss_name}: weight must have shape ({num_classes},), one per class, "
                         f"got {weight.shape}")
    return weight.astype(logits.dtype)


def _check_ignore_index(ignore_index: Any, loss_name: str) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ConfigError(f"{loss_name}: ignore_index must be an integer, got {ignore_index!r}")
    return int(ignore_index)


def _check_label_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ConfigError(f"cross_entropy: label_smoothing must be a number in [0, 1], "
                          f"got {label_smoothing!r}")
    return float(label_smoothing)


def _reduce_rows(per_row: np.ndarray, reduction: str, denominator, out_shape: tuple):
    """Reduce the per-row losses; returns (value, scale) where scale is dL/d(per_row)."""
    if reduction == "none":
        return per_row.reshape(out_shape), None
    total = per_row.sum()
    if reduction == "sum":
        return total, 1.0
    with np.errstate(invalid="ignore", divide="ignore"):  # every row ignored: nan, as PyTorch
        return total / denominator, 1.0 / denominator


def _row_scale(grad_output: np.ndarray, scale, rows: int) -> np.ndarray:
    """dL/d(per_row) as a column (rows, 1): upstream grad times the reduction's scale."""
    if scale is None:
        return grad_output.reshape(rows, 1)
    return np.full((rows, 1), grad_output * scale, dtype=grad_output.dtype)


# ----- cross-entropy ---------------------------------------------------------------------------
class CrossEntropyFunction(Function):
    """Fused log-softmax + negative log-likelihood. With q_m the (smoothed, weighted) target
    distribution of row m: loss_m = -sum_c q_mc log p_mc and dloss_m/dx_mk = p_mk sum_c q_mc - q_mk
    (softmax minus one-hot in the plain case), times the reduction's scale."""

    def forward(ctx, logits, target, class_targets=True, weight=None, ignore_index=-100,
                label_smoothing=0.0, reduction="mean", plain=False):
        ctx.plain = plain
        if plain:
            return ctx._forward_plain(logits, target, reduction)
        rows = _to_rows(logits)
        count, num_classes = rows.shape
        # log p = shifted - log(sum exp(shifted)) with shifted = x - max(x): exp never overflows
        # (a row of masked logits, all -inf, is shifted by 0: its log p is undefined, NaN)
        peak = rows.max(axis=1, keepdims=True)
        shifted = rows - np.where(np.isfinite(peak), peak, 0)
        probs = np.exp(shifted)
        sums = probs.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_sums = np.log(sums)
            probs /= sums  # softmax, kept for backward
        needs_all_log_probs = label_smoothing > 0 or not class_targets
        with np.errstate(invalid="ignore"):
            log_probs = shifted - log_sums if needs_all_log_probs else None
        smoothing = label_smoothing / num_classes
        if class_targets:
            labels = target.reshape(-1)
            valid = labels != ignore_index
            safe_labels = np.where(valid, labels, 0)
            label_weight = weight[safe_labels] if weight is not None else np.ones(count, rows.dtype)
            label_weight = label_weight * valid
            with np.errstate(invalid="ignore"):
                picked = shifted[np.arange(count), safe_labels] - log_sums[:, 0]  # log p_label
            # a label weight of 0 (ignored row, class weight 0) removes the term, even where
            # the label's logit is -inf (0 log 0 = 0)
            per_row = -weighted_term(label_weight, picked)
            if label_smoothing > 0:
                weighted = weighted_term(weight, log_probs) if weight is not None else log_probs
                per_row = ((1 - label_smoothing) * per_row
                           - smoothing * weighted_term(valid, weighted.sum(axis=1)))
            denominator = label_weight.sum()
            ctx.labels, ctx.label_weight, ctx.valid = safe_labels, label_weight, valid
        else:
            distribution = _to_rows(target)
            if label_smoothing > 0:
                distribution = distribution * (1 - label_smoothing) + smoothing
            if weight is not None:
                distribution = distribution * weight
            per_row = -weighted_term(distribution, log_probs).sum(axis=1)
            denominator = rows.dtype.type(count)  # (an empty batch: 0 / 0, NaN, as PyTorch)
            ctx.distribution = distribution
        value, ctx.scale = _reduce_rows(per_row, reduction, denominator, _position_shape(logits.shape))
        ctx.probs, ctx.log_probs, ctx.shape = probs, log_probs, logits.shape
        ctx.class_targets, ctx.weight, ctx.label_smoothing = class_targets, weight, label_smoothing
        return np.asarray(value, dtype=logits.dtype)

    def _forward_plain(ctx, logits, labels, reduction):
        """The common case: integer labels, all in [0, C), no weight, no smoothing, nothing
        ignored. loss_m = log sum_c exp(x_mc) - x_my (both terms of the max-shifted logits)."""
        rows = _to_rows(logits)
        count = rows.shape[0]
        shifted = rows - rows.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        sums = probs.sum(axis=1)
        probs /= sums[:, None]  # softmax, kept for backward
        row_index, labels = np.arange(count), labels.reshape(-1)
        per_row = np.log(sums) - shifted[row_index, labels]
        if reduction == "none":
            value, ctx.scale = per_row.reshape(_position_shape(logits.shape)), None
        elif reduction == "sum":
            value, ctx.scale = per_row.sum(), 1.0
        else:
            denominator = rows.dtype.type(count)
            value, ctx.scale = per_row.sum() / denominator, 1.0 / denominator
        ctx.probs, ctx.row_index, ctx.labels, ctx.shape = probs, row_index, labels, logits.shape
        return np.asarray(value, dtype=logits.dtype)

    def _backward_plain(ctx, grad_output):
        """dL/dx = (softmax - one-hot(y)) times dL/d(loss_m)."""
        if ctx.scale is None:
            row_scale = grad_output.reshape(-1, 1)
            label_scale = row_scale[:, 0]
        else:
            row_scale = label_scale = grad_output * ctx.scale
        grad = ctx.probs * row_scale
        grad[ctx.row_index, ctx.labels] -= label_scale
        return _from_rows(grad, ctx.shape), None

    def _target_distribution(ctx) -> np.ndarray:
        """q for class targets: (1 - s) w_y one-hot(y) + s/C w, zero on ignored rows."""
        count, num_classes = ctx.probs.shape
        distribution = np.zeros_like(ctx.probs)
        distribution[np.arange(count), ctx.labels] = (1 - ctx.label_smoothing) * ctx.label_weight
        if ctx.label_smoothing > 0:
            class_weight = ctx.weight if ctx.weight is not None else 1.0
            distribution += (ctx.label_smoothing / num_classes) * class_weight * ctx.valid[:, None]
        return distribution

    def backward(ctx, grad_output):
        if ctx.plain:
            if not ctx.needs_input_grad[0]:
                return None, None
            return ctx._backward_plain(grad_output)
        probs = ctx.probs
        count = probs.shape[0]
        row_scale = _row_scale(grad_output, ctx.scale, count)
        grad_logits = grad_target = None
        if ctx.needs_input_grad[0]:
            if ctx.class_targets and ctx.label_smoothing == 0 and ctx.weight is None:
                # softmax - one-hot; label_weight is 1 on kept rows and 0 on ignored ones
                kept_scale = ctx.label_weight[:, None] * row_scale
                grad = weighted_term(kept_scale, probs)  # 0 on ignored rows, even all-masked ones
                grad[np.arange(count), ctx.labels] -= kept_scale[:, 0]
            else:
                distribution = ctx._target_distribution() if ctx.class_targets else ctx.distribution
                grad = (weighted_term(distribution.sum(axis=1, keepdims=True), probs)
                        - distribution) * row_scale
            grad_logits = _from_rows(grad, ctx.shape)
        if not ctx.class_targets and ctx.needs_input_grad[1]:
            # d loss / d target_c = -(1 - s) w_c log p_c (0 where w_c = 0)
            grad = -(1 - ctx.label_smoothing) * ctx.log_probs
            if ctx.weight is not None:
                grad = weighted_term(ctx.weight, grad)
            grad_target = _from_rows(grad * row_scale, ctx.shape)
        return grad_logits, grad_target


def cross_entropy(prediction: Any, target: Any, reduction: str = "mean", weight: Any = None,
                  ignore_index: int = -100, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits: L = -1/N sum_i sum_j y_ij log softmax(f(x_i))_j, as one fused op.

    target: integer class labels (shape (N,) or (N, d1, ...)) or class probabilities (the
    prediction's shape). weight: per-class weights (C,); with labels, "mean" divides by the sum of
    the target classes' weights (PyTorch). ignore_index: label whose rows count for nothing.
    label_smoothing s: the target becomes (1 - s) y + s / C.
    """
    reduction = check_reduction(reduction, "cross_entropy")
    ignore_index = _check_ignore_index(ignore_index, "cross_entropy")
    label_smoothing = _check_label_smoothing(label_smoothing)
    logits = as_prediction(prediction, "cross_entropy")
    _check_logits(logits, "cross_entropy")
    weight = _check_weight(weight, logits, "cross_entropy")
    target_array = np.asarray(data_of(target))
    if weight is None and label_smoothing == 0 and _plain_labels(target_array, logits.shape,
                                                                 ignore_index):
        return CrossEntropyFunction.apply(logits, target_array, reduction=reduction, plain=True)
    class_targets = not (target_array.dtype.kind == "f" and target_array.shape == logits.shape)
    if class_targets:
        target = check_class_labels(target_array, logits.shape, ignore_index, "cross_entropy")
    elif isinstance(target, Tensor) and target.requires_grad:
        if target.dtype != logits.dtype:
            raise DTypeError(f"cross_entropy: target (requires_grad) has dtype {target.dtype}, "
                             f"prediction has dtype {logits.dtype}; make them the same")
    else:
        target = target_array.astype(logits.dtype, copy=False)
    return CrossEntropyFunction.apply(logits, target, class_targets=class_targets, weight=weight,
                                      ignore_index=ignore_index, label_smoothing=label_smoothing,
                                      reduction=reduction)


# ----- negative log-likelihood -----------------------------------------------------------------
class NLLLossFunction(Function):
    """loss_m = -w_{y_m} log_probs[m, y_m] (0 on ignored rows);  d/d log_probs[m, y_m] = -w_{y_m}."""

    def forward(ctx, log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
        rows = _to_rows(log_probs)
        count = rows.shape[0]
        labels = target.reshape(-1)
        valid = labels != ignore_index
        safe_labels = np.where(valid, labels, 0)
        label_weight = weight[safe_labels] if weight is not None else np.ones(count, rows.dtype)
        label_weight = label_weight * valid
        per_row = -weighted_term(label_weight, rows[np.arange(count), safe_labels])
        value, ctx.scale = _reduce_rows(per_row, reduction, label_weight.sum(),
                                        _position_shape(log_probs.shape))
        ctx.labels, ctx.label_weight, ctx.shape = safe_labels, label_weight, log_probs.shape
        return np.asarray(value, dtype=log_probs.dtype)

    def backward(ctx, grad_output):
        count = ctx.labels.shape[0]
        num_classes = ctx.shape[1 if len(ctx.shape) > 1 else 0]
        grad = np.zeros((count, num_classes), dtype=grad_output.dtype)
        grad[np.arange(count), ctx.labels] = -ctx.label_weight
        grad *= _row_scale(grad_output, ctx.scale, count)
        return _from_rows(grad, ctx.shape), None


def nll_loss(prediction: Any, target: Any, reduction: str = "mean", weight: Any = None,
             ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of log-probabilities: L = -1/N sum_i w_{y_i} log p_{i, y_i}
    (log_softmax followed by nll_loss is cross_entropy; "mean" divides by the sum of weights)."""
    reduction = check_reduction(reduction, "nll_loss")
    ignore_index = _check_ignore_index(ignore_index, "nll_loss")
    log_probs = as_prediction(prediction, "nll_loss")
    _check_logits(log_probs, "nll_loss")
    weight = _check_weight(weight, log_probs, "nll_loss")
    labels = check_class_labels(np.asarray(data_of(target)), log_probs.shape, ignore_index, "nll_loss")
    return NLLLossFunction.apply(log_probs, labels, weight=weight, ignore_index=ignore_index,
                                 reduction=reduction)


class CrossEntropy(Loss):
    """Class form of :func:`cross_entropy`, carrying weight, ignore_index and label_smoothing."""

    function = staticmethod(cross_entropy)

    def __init__(self, weight: Any = None, ignore_index: int = -100, label_smoothing: float = 0.0,
                 reduction: str = "mean"):
        super().__init__(reduction, weight=weight,
                         ignore_index=_check_ignore_index(ignore_index, "CrossEntropy"),
                         label_smoothing=_check_label_smoothing(label_smoothing))


class NLLLoss(Loss):
    """Class form of :func:`nll_loss`, carrying weight and ignore_index."""

    function = staticmethod(nll_loss)

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction, weight=weight,
                         ignore_index=_check_ignore_index(ignore_index, "NLLLoss"))
