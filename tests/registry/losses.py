"""Registry cases of every loss and every reduction, with NumPy references written independently
from the lecture's formulas (naive forms and per-sample loops, not annie's stable kernels).

Inputs are drawn away from the kinks (|d| = delta for Huber, d = 0 for MAE, margin 0 for hinge)
so that central differences are valid; integer labels are passed as constants.
"""
from __future__ import annotations

import numpy as np

from annie import losses as L

from . import Case

REDUCTIONS = ("mean", "sum", "none")
NUM_CLASSES = 4


def _reduce(values: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.mean(values)
    if reduction == "sum":
        return np.sum(values)
    return values


# ----- input makers ---------------------------------------------------------------------------
def _pair(shape=(3, 4), scale=1.5):
    def make(rng, dtype):
        return [(scale * rng.standard_normal(shape)).astype(dtype),
                (scale * rng.standard_normal(shape)).astype(dtype)]
    return make


def _probabilities_and_targets(shape=(3, 4)):
    def make(rng, dtype):
        return [rng.uniform(0.05, 0.95, shape).astype(dtype), rng.uniform(0, 1, shape).astype(dtype)]
    return make


def _logits_and_binary(shape=(3, 4), soft=True):
    def make(rng, dtype):
        target = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape)
        return [(3 * rng.standard_normal(shape)).astype(dtype), target.astype(dtype)]
    return make


def _hinge_inputs(zero_one: bool):
    def make(rng, dtype):
        labels = rng.choice([-1, 1], size=(3, 4))
        scores = labels * rng.uniform(-1.5, 2.5, (3, 4))
        margin = 1 - labels * scores
        scores = np.where(np.abs(margin) < 0.05, scores + 0.2 * labels, scores)  # off the kink
        target = (labels + 1) // 2 if zero_one else labels.astype(dtype)
        return [scores.astype(dtype), target]
    return make


def _logits_and_labels(shape=(5, NUM_CLASSES), ignore=False):
    def make(rng, dtype):
        logits = (2 * rng.standard_normal(shape)).astype(dtype)
        label_shape = (shape[0], *shape[2:])
        labels = rng.integers(0, shape[1], label_shape)
        if ignore:
            labels.reshape(-1)[1] = -100
        return [logits, labels]
    return make


def _logits_and_distributions(shape=(5, NUM_CLASSES)):
    def make(rng, dtype):
        return [(2 * rng.standard_normal(shape)).astype(dtype),
                rng.dirichlet(np.ones(shape[-1]), shape[0]).astype(dtype)]
    return make


def _log_probabilities_and_labels(ignore=False):
    def make(rng, dtype):
        logits, labels = _logits_and_labels(ignore=ignore)(rng, dtype)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return [log_probs.astype(dtype), labels]
    return make


def _two_distributions(shape=(3, 5)):
    def make(rng, dtype):
        prediction = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
        target = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
        return [prediction.astype(dtype), target.astype(dtype)]
    return make


# ----- references (the lecture's formulas, naive) --------------------------------------------------
def _huber_reference(delta):
    def reference(prediction, target, reduction):
        error = np.abs(target - prediction)
        values = np.where(error <= delta, 0.5 * error ** 2, delta * (error - 0.5 * delta))
        return _reduce(values, reduction)
    return reference


def _rmse_reference(prediction, target, reduction):
    squared = (target - prediction) ** 2
    if reduction == "none":
        return np.sqrt(squared)
    return np.sqrt(_reduce(squared, reduction))


def _bce_reference(p, y, reduction, weight=1.0):
    return _reduce(-weight * (y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)


def _bce_logits_reference(x, y, reduction, weight=1.0, pos_weight=1.0):
    p = 1 / (1 + np.exp(-x))
    return _reduce(-weight * (pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)


def _hinge_reference(scores, target, reduction):
    signed = np.where(target == 0, -1, target)
    return _reduce(np.maximum(0, 1 - signed * scores), reduction)


def _cross_entropy_reference(logits, labels, reduction, weight=None, smoothing=0.0,
                             ignore_index=-100):
    """Per sample: -sum_c w_c q_c log softmax(x)_c with q = (1 - s) one-hot + s / C;
    "mean" divides by the sum of w_{y_n} over samples that are not ignored."""
    count, classes = logits.shape
    weight = np.ones(classes) if weight is None else weight
    values, denominator = np.zeros(count), 0.0
    for n in range(count):
        if labels[n] == ignore_index:
            continue
        probabilities = np.exp(logits[n]) / np.sum(np.exp(logits[n]))
        target = np.full(classes, smoothing / classes)
        target[labels[n]] += 1 - smoothing
        values[n] = -np.sum(weight * target * np.log(probabilities))
        denominator += weight[labels[n]]
    if reduction == "mean":
        return values.sum() / denominator
    return _reduce(values, reduction)


def _cross_entropy_3d_reference(logits, labels, reduction):
    rows = np.moveaxis(logits, 1, -1).reshape(-1, logits.shape[1])
    values = _cross_entropy_reference(rows, labels.reshape(-1), "none")
    return _reduce(values.reshape(labels.shape), reduction)


def _cross_entropy_probability_reference(logits, target, reduction, weight, smoothing):
    classes = logits.shape[1]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    smoothed = (1 - smoothing) * target + smoothing / classes
    values = -(weight * smoothed * np.log(probabilities)).sum(axis=1)
    return _reduce(values, reduction)


def _nll_reference(log_probs, labels, reduction, weight=None, ignore_index=-100):
    weight = np.ones(log_probs.shape[1]) if weight is None else weight
    values, denominator = np.zeros(len(labels)), 0.0
    for n, label in enumerate(labels):
        if label != ignore_index:
            values[n] = -weight[label] * log_probs[n, label]
            denominator += weight[label]
    if reduction == "mean":
        return values.sum() / denominator
    return _reduce(values, reduction)


def _kl_reference(prediction, target, reduction):
    values = np.sum(target * np.log(target / prediction), axis=-1)
    if reduction == "batchmean":
        return values.sum() / prediction.shape[0]
    return _reduce(values, reduction)


# ----- the cases ----------------------------------------------------------------------------------
CLASS_WEIGHT = np.array([0.5, 1.0, 2.0, 1.5])
POS_WEIGHT = np.array([0.5, 1.0, 2.0, 3.0])
ELEMENT_WEIGHT = np.array([[1.0, 0.5, 2.0, 0.0]])


def _cases_for(reduction: str) -> list[Case]:
    r = reduction
    return [
        Case(f"loss_mean_bias_error_{r}", lambda p, t: L.mean_bias_error(p, t, reduction=r), _pair(),
             lambda p, t: _reduce(t - p, r)),
        Case(f"loss_mae_{r}", lambda p, t: L.mae(p, t, reduction=r), _pair(),
             lambda p, t: _reduce(np.abs(t - p), r)),
        Case(f"loss_mse_{r}", lambda p, t: L.mse(p, t, reduction=r), _pair(),
             lambda p, t: _reduce((t - p) ** 2, r)),
        Case(f"loss_rmse_{r}", lambda p, t: L.rmse(p, t, reduction=r), _pair(),
             lambda p, t: _rmse_reference(p, t, r)),
        Case(f"loss_huber_{r}", lambda p, t: L.huber(p, t, reduction=r), _pair(),
             lambda p, t: _huber_reference(1.0)(p, t, r)),
        Case(f"loss_log_cosh_{r}", lambda p, t: L.log_cosh(p, t, reduction=r), _pair(),
             lambda p, t: _reduce(np.log(np.cosh(p - t)), r)),
        Case(f"loss_binary_cross_entropy_{r}", lambda p, y: L.binary_cross_entropy(p, y, reduction=r),
             _probabilities_and_targets(), lambda p, y: _bce_reference(p, y, r)),
        Case(f"loss_bce_with_logits_{r}",
             lambda x, y: L.binary_cross_entropy_with_logits(x, y, reduction=r),
             _logits_and_binary(), lambda x, y: _bce_logits_reference(x, y, r)),
        Case(f"loss_hinge_{r}", lambda f, y: L.hinge(f, y, reduction=r), _hinge_inputs(False),
             lambda f, y: _hinge_reference(f, y, r), grad_inputs=(0,)),
        Case(f"loss_cross_entropy_{r}", lambda x, y: L.cross_entropy(x, y, reduction=r),
             _logits_and_labels(), lambda x, y: _cross_entropy_reference(x, y, r)),
        Case(f"loss_cross_entropy_weight_smoothing_ignore_{r}",
             lambda x, y: L.cross_entropy(x, y, reduction=r, weight=CLASS_WEIGHT,
                                          label_smoothing=0.2),
             _logits_and_labels(ignore=True),
             lambda x, y: _cross_entropy_reference(x, y, r, CLASS_WEIGHT, 0.2)),
        Case(f"loss_cross_entropy_probabilities_{r}",
             lambda x, q: L.cross_entropy(x, q, reduction=r, weight=CLASS_WEIGHT,
                                          label_smoothing=0.1),
             _logits_and_distributions(),
             lambda x, q: _cross_entropy_probability_reference(x, q, r, CLASS_WEIGHT, 0.1)),
        Case(f"loss_cross_entropy_3d_{r}", lambda x, y: L.cross_entropy(x, y, reduction=r),
             _logits_and_labels(shape=(2, 3, 4)), lambda x, y: _cross_entropy_3d_reference(x, y, r)),
        Case(f"loss_nll_{r}", lambda x, y: L.nll_loss(x, y, reduction=r),
             _log_probabilities_and_labels(), lambda x, y: _nll_reference(x, y, r)),
        Case(f"loss_kl_divergence_{r}", lambda p, q: L.kl_divergence(p, q, reduction=r),
             _two_distributions(), lambda p, q: _kl_reference(p, q, r)),
    ]


CASES: list[Case] = [case for reduction in REDUCTIONS for case in _cases_for(reduction)] + [
    Case("loss_l1_alias", L.l1, _pair(), lambda p, t: np.mean(np.abs(t - p))),
    Case("loss_huber_delta_0.5", lambda p, t: L.huber(p, t, delta=0.5), _pair(),
         lambda p, t: _huber_reference(0.5)(p, t, "mean")),
    Case("loss_log_cosh_large_errors", L.log_cosh, _pair(scale=30.0),
         lambda p, t: np.mean(np.log(np.cosh(p - t)))),
    Case("loss_binary_cross_entropy_weight",
         lambda p, y: L.binary_cross_entropy(p, y, weight=ELEMENT_WEIGHT),
         _probabilities_and_targets(), lambda p, y: _bce_reference(p, y, "mean", ELEMENT_WEIGHT)),
    Case("loss_bce_with_logits_weight_pos_weight",
         lambda x, y: L.binary_cross_entropy_with_logits(x, y, weight=ELEMENT_WEIGHT,
                                                         pos_weight=POS_WEIGHT),
         _logits_and_binary(soft=False),
         lambda x, y: _bce_logits_reference(x, y, "mean", ELEMENT_WEIGHT, POS_WEIGHT)),
    Case("loss_hinge_zero_one_labels", L.hinge, _hinge_inputs(True),
         lambda f, y: _hinge_reference(f, y, "mean")),
    Case("loss_nll_weight_ignore", lambda x, y: L.nll_loss(x, y, weight=CLASS_WEIGHT),
         _log_probabilities_and_labels(ignore=True),
         lambda x, y: _nll_reference(x, y, "mean", CLASS_WEIGHT)),
    Case("loss_kl_divergence_batchmean_3d",
         lambda p, q: L.kl_divergence(p, q, reduction="batchmean"), _two_distributions((2, 3, 4)),
         lambda p, q: _kl_reference(p, q, "batchmean")),
    Case("loss_class_form_cross_entropy",
         lambda x, y: L.CrossEntropy(label_smoothing=0.1, reduction="sum")(x, y),
         _logits_and_labels(), lambda x, y: _cross_entropy_reference(x, y, "sum", smoothing=0.1)),
]

for _case in CASES:  # prediction and target both have the batch first
    _case.batch = (0, 1)
