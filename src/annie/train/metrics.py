"""Metrics: numbers that say how good predictions are, computed on NumPy arrays.

Every metric takes ``(prediction, target)`` in that order, as annie's losses do, and returns a
float (``confusion_matrix`` returns a matrix). For classification, ``prediction`` may be class
scores (logits or probabilities, one column per class: the class is the arg-max), one column of
probabilities (class 1 when >= 0.5), or class labels. Recurrent outputs ``(batch, time, classes)``
against labels ``(batch, time)`` are flattened to one prediction per step; a target of -100
(``IGNORED_LABEL``, the losses' default ``ignore_index``: a padded step) is not a target and is
left out, as the losses leave it out.

A metric refuses the other task's outputs, naming itself and why: a classification metric
(``CLASSIFICATION_METRICS``) targets that are not classes of the prediction (values that are
not whole numbers, labels outside the class scores), a regression metric
(``REGRESSION_METRICS``) a prediction of another size than the target (class scores).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..errors import DataError, ShapeError
from ..functional.norms import global_norm, mean_and_std
from ..registry import Registry, as_callable


#: the label of padded steps (the losses' default ``ignore_index``): not counted by the metrics
IGNORED_LABEL = -100


def _as_array(value) -> np.ndarray:
    return np.asarray(getattr(value, "data", value))


#: the metrics of each task: a metric of one task refuses the other task's predictions
CLASSIFICATION_METRICS = ("accuracy", "top_k_accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mae", "rmse", "r2")


def _not_classes(metric: str, problem: str) -> DataError:
    """The error of a classification metric given what are not classes, naming the metric."""
    return DataError(f"metric {metric!r} is a classification metric (it compares predicted "
                     f"classes with class labels), but {problem}: a regression; use a "
                     f"regression metric ({', '.join(REGRESSION_METRICS)})")


def _check_class_targets(target: np.ndarray, metric: str) -> None:
    """DataError naming ``metric`` when the (kept) targets are not whole numbers."""
    if target.dtype.kind == "f" and target.size:
        fractional = target[target != np.round(target)]
        if fractional.size:
            raise _not_classes(metric, f"the target holds values that are not whole numbers "
                                       f"(e.g. {float(fractional[0]):g})")


def _check_label_range(target: np.ndarray, classes: int, metric: str, scored: str) -> None:
    """DataError naming ``metric`` when a target label is outside [0, classes): not a class
    of what the prediction ``scored``."""
    outside = target[(target < 0) | (target >= classes)]
    if outside.size:
        raise _not_classes(metric, f"the target holds {float(outside[0]):g}, not a class of "
                                   f"{scored}, whose labels are 0 to {classes - 1}")


def _class_of_rows(target: np.ndarray, metric: str) -> np.ndarray:
    """The class (arg-max) of one-hot or probability target rows; DataError naming ``metric``
    when a row holds a value outside [0, 1]."""
    outside = target[(target < 0) | (target > 1)]
    if outside.size:
        raise _not_classes(metric, f"the target rows (shape {target.shape}), read as one-hot "
                                   f"or probability rows, hold {float(outside[0]):g}")
    return target.argmax(axis=-1)


def predicted_labels(prediction, target, metric: str = "metric"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Turn scores into class labels and flatten both to 1-D: arg-max over the class axis,
    a 0.5 threshold for a single probability column, labels left as they are; positions whose
    target is ``IGNORED_LABEL`` (-100, padding) are dropped. DataError naming ``metric`` when
    the targets are not classes of the prediction (values that are not whole numbers, a label
    outside the class scores or other than 0/1 for a probability column, one-hot rows with
    values outside [0, 1]): a classification metric on a regression."""
    prediction, target = _as_array(prediction), _as_array(target)
    one_hot = target.ndim == prediction.ndim and target.ndim >= 2 and target.shape[-1] > 1
    target = _class_of_rows(target, metric) if one_hot else target
    classes, scored = None, ""  # the classes the prediction scores (None: it is labels)
    if prediction.ndim == target.ndim + 1 and prediction.shape[-1] > 1:
        labels, classes = prediction.argmax(axis=-1), prediction.shape[-1]
        scored = f"the prediction's {classes} class scores"
    elif prediction.ndim == target.ndim + 1 or (
            prediction.shape == target.shape and prediction.dtype.kind == "f" and
            prediction.ndim >= 1 and np.any(prediction != np.round(prediction))):
        column = prediction[..., 0] if prediction.ndim == target.ndim + 1 else prediction
        labels, classes = (column >= 0.5).astype(np.int64), 2
        scored = "a probability column (class 1 when >= 0.5)"
    else:
        labels = prediction
    labels, target = labels.reshape(-1), target.reshape(-1)
    if labels.shape != target.shape:
        raise ShapeError(f"metric {metric!r}: {labels.shape[0]} predicted labels for "
                         f"{target.shape[0]} targets (prediction shape {prediction.shape}, "
                         f"target shape {target.shape})")
    kept = target != IGNORED_LABEL
    labels, target = labels[kept], target[kept]
    _check_class_targets(target, metric)
    if classes is not None and not one_hot:
        _check_label_range(target, classes, metric, scored)
    return labels.astype(np.int64), target.astype(np.int64)


def accuracy(prediction, target) -> float:
    """Fraction of correct class predictions: mean(predicted_label == target)."""
    labels, target = predicted_labels(prediction, target, "accuracy")
    return float(np.mean(labels == target)) if target.size else float("nan")


def top_k_accuracy(prediction, target, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores (targets: labels,
    -100 left out, or one-hot rows)."""
    scores, target = _as_array(prediction), _as_array(target)
    if target.ndim == scores.ndim and target.ndim >= 2 and target.shape[-1] > 1:
        target = _class_of_rows(target, "top_k_accuracy")
    _check_class_targets(target[target != IGNORED_LABEL], "top_k_accuracy")
    if scores.ndim < 2 or scores.shape[-1] < 2:
        raise ShapeError(f"metric 'top_k_accuracy': prediction must be class scores of shape "
                         f"(N, classes), one score per class, got {scores.shape}")
    scores = scores.reshape(-1, scores.shape[-1])
    target = target.reshape(-1)
    if len(scores) != len(target):
        raise ShapeError(f"metric 'top_k_accuracy': {len(scores)} rows of class scores for "
                         f"{len(target)} targets (prediction shape {_as_array(prediction).shape}"
                         f", target shape {_as_array(target).shape})")
    kept = target != IGNORED_LABEL
    scores, target = scores[kept], target[kept]
    _check_label_range(target, scores.shape[1], "top_k_accuracy",
                       f"the prediction's {scores.shape[1]} class scores")
    if not target.size:
        return float("nan")
    k = min(int(k), scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == target[:, None], axis=1)))


def confusion_matrix(prediction, target, num_classes: int | None = None) -> np.ndarray:
    """Matrix C with C[i, j] = number of samples of true class i predicted as class j."""
    labels, target = predicted_labels(prediction, target, "confusion_matrix")
    if num_classes is None:
        num_classes = int(max(labels.max(initial=-1), target.max(initial=-1))) + 1
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (target, labels), 1)
    return matrix


def _per_class_counts(prediction, target, metric: str):
    labels, target = predicted_labels(prediction, target, metric)
    classes = np.union1d(labels, target)  # the classes that occur, as scikit-learn uses
    true_positive = np.array([np.sum((labels == c) & (target == c)) for c in classes], float)
    predicted = np.array([np.sum(labels == c) for c in classes], float)
    actual = np.array([np.sum(target == c) for c in classes], float)
    return true_positive, predicted, actual


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    result = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def precision(prediction, target) -> float:
    """Macro precision: mean over classes of TP / (TP + FP) (0 for a class never predicted)."""
    true_positive, predicted, _ = _per_class_counts(prediction, target, "precision")
    return float(np.mean(_safe_divide(true_positive, predicted)))


def recall(prediction, target) -> float:
    """Macro recall: mean over classes of TP / (TP + FN)."""
    true_positive, _, actual = _per_class_counts(prediction, target, "recall")
    return float(np.mean(_safe_divide(true_positive, actual)))


def f1(prediction, target) -> float:
    """Macro F1: mean over classes of 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)."""
    true_positive, predicted, actual = _per_class_counts(prediction, target, "f1")
    return float(np.mean(_safe_divide(2 * true_positive, predicted + actual)))


def _regression_pair(prediction, target, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and target as float64 arrays of the target's shape; ShapeError naming
    ``metric`` when they differ in size (class scores against class labels: a regression
    metric on a classification)."""
    prediction = _as_array(prediction).astype(np.float64)
    target = _as_array(target).astype(np.float64)
    if prediction.size != target.size:
        scores = prediction.ndim == target.ndim + 1 and prediction.shape[:-1] == target.shape
        why = (f": {prediction.shape[-1]} values per target, class scores against class "
               f"labels, a classification; use a classification metric "
               f"({', '.join(CLASSIFICATION_METRICS)})") if scores else ""
        raise ShapeError(f"metric {metric!r} is a regression metric (it compares each "
                         f"predicted value with its target value), but the prediction has "
                         f"shape {prediction.shape} and the target {target.shape}{why}")
    if prediction.shape != target.shape:
        prediction = prediction.reshape(target.shape)
    return prediction, target


def mae(prediction, target) -> float:
    """Mean absolute error: mean |prediction - target|."""
    prediction, target = _regression_pair(prediction, target, "mae")
    return float(np.mean(np.abs(prediction - target)))


def rmse(prediction, target) -> float:
    """Root mean squared error: sqrt(mean (prediction - target)^2), taken as
    ||prediction - target|| / sqrt(n) (no overflow of the squares: errors of 1e200 give 1e200)."""
    prediction, target = _regression_pair(prediction, target, "rmse")
    if target.size == 0:
        return float("nan")
    return global_norm([prediction - target]) / math.sqrt(target.size)


def r2(prediction, target) -> float:
    """Coefficient of determination R^2 = 1 - sum (y - p)^2 / sum (y - mean y)^2, averaged over
    output columns (scikit-learn's ``r2_score`` with uniform averaging)."""
    prediction, target = _regression_pair(prediction, target, "r2")
    if target.size == 0:
        return float("nan")  # no samples: undefined, like the other metrics' mean of nothing
    if target.ndim == 1:
        prediction, target = prediction[:, None], target[:, None]
    prediction = prediction.reshape(len(prediction), -1)
    target = target.reshape(len(target), -1)
    # R^2 does not change when a column of both is scaled by the same number: a power of two
    # near the largest magnitude (an exact scaling) keeps the squares finite (values of 1e200)
    # and away from underflow
    scale = np.maximum(np.max(np.abs(target), axis=0), np.max(np.abs(prediction), axis=0))
    exponent = np.frexp(np.where((scale > 0) & np.isfinite(scale), scale, 1.0))[1]
    prediction, target = np.ldexp(prediction, -exponent), np.ldexp(target, -exponent)
    residual = np.sum((target - prediction) ** 2, axis=0)
    # n var(y) from deviations corrected for the rounding of the mean: exactly 0 for a
    # constant column (not a rounding residue that would make R^2 -1e26)
    total = len(target) * mean_and_std(target, axis=0)[1] ** 2
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


#: name -> metric function (``get_metric`` looks names up here); descriptions are the docstrings
METRICS = Registry("metric", {
    "accuracy": accuracy, "top_k_accuracy": top_k_accuracy, "precision": precision,
    "recall": recall, "f1": f1, "mae": mae, "rmse": rmse, "r2": r2,
}, aliases={"acc": "accuracy", "f1_score": "f1", "r2_score": "r2"})

HIGHER_IS_BETTER = {"accuracy", "top_k_accuracy", "precision", "recall", "f1", "r2"}


def get_metric(metric, who: str = "metrics") -> tuple[str, Callable]:
    """Resolve a metric name, function, callable object or class (made with its defaults, as
    Keras does) to ``(name, function(prediction, target))``; the name is the function's or
    the class's."""
    if isinstance(metric, str):
        name = METRICS.canonical(metric)
        return name, METRICS[name]
    name = getattr(metric, "__name__", type(metric).__name__)
    return name, as_callable(metric, "metric", who)
