"""Metrics: numbers that say how good predictions are, computed on NumPy arrays.

Every metric takes ``(prediction, target)`` in that order, as annie's losses do, and returns a
float (``confusion_matrix`` returns a matrix). For classification, ``prediction`` may be class
scores (logits or probabilities, one column per class: the class is the arg-max), one column of
probabilities (class 1 when >= 0.5), or class labels. Recurrent outputs ``(batch, time, classes)``
against labels ``(batch, time)`` are flattened to one prediction per step.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ShapeError
from ..registry import Registry, as_callable


def _as_array(value) -> np.ndarray:
    return np.asarray(getattr(value, "data", value))


def predicted_labels(prediction, target) -> tuple[np.ndarray, np.ndarray]:
    """Turn scores into class labels and flatten both to 1-D: arg-max over the class axis,
    a 0.5 threshold for a single probability column, labels left as they are."""
    prediction, target = _as_array(prediction), _as_array(target)
    if target.ndim == prediction.ndim and target.ndim >= 2 and target.shape[-1] > 1:
        target = target.argmax(axis=-1)  # one-hot targets
    if prediction.ndim == target.ndim + 1:
        if prediction.shape[-1] == 1:
            labels = (prediction[..., 0] >= 0.5).astype(np.int64)
        else:
            labels = prediction.argmax(axis=-1)
    elif prediction.shape == target.shape and prediction.dtype.kind == "f" and (
            prediction.ndim >= 1 and np.any((prediction != np.round(prediction)))):
        labels = (prediction >= 0.5).astype(np.int64)
    else:
        labels = prediction
    labels, target = labels.reshape(-1), target.reshape(-1)
    if labels.shape != target.shape:
        raise ShapeError(f"metric: {labels.shape[0]} predicted labels for {target.shape[0]} "
                         f"targets (prediction shape {prediction.shape}, target shape "
                         f"{target.shape})")
    return labels.astype(np.int64), target.astype(np.int64)


def accuracy(prediction, target) -> float:
    """Fraction of correct class predictions: mean(predicted_label == target)."""
    labels, target = predicted_labels(prediction, target)
    return float(np.mean(labels == target)) if target.size else float("nan")


def top_k_accuracy(prediction, target, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores."""
    scores, target = _as_array(prediction), _as_array(target)
    if scores.ndim < 2:
        raise ShapeError(f"top_k_accuracy: prediction must be class scores of shape "
                         f"(N, classes), got {scores.shape}")
    scores = scores.reshape(-1, scores.shape[-1])
    target = target.reshape(-1)
    k = min(int(k), scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == target[:, None], axis=1)))


def confusion_matrix(prediction, target, num_classes: int | None = None) -> np.ndarray:
    """Matrix C with C[i, j] = number of samples of true class i predicted as class j."""
    labels, target = predicted_labels(prediction, target)
    if num_classes is None:
        num_classes = int(max(labels.max(initial=-1), target.max(initial=-1))) + 1
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (target, labels), 1)
    return matrix


def _per_class_counts(prediction, target):
    labels, target = predicted_labels(prediction, target)
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
    true_positive, predicted, _ = _per_class_counts(prediction, target)
    return float(np.mean(_safe_divide(true_positive, predicted)))


def recall(prediction, target) -> float:
    """Macro recall: mean over classes of TP / (TP + FN)."""
    true_positive, _, actual = _per_class_counts(prediction, target)
    return float(np.mean(_safe_divide(true_positive, actual)))


def f1(prediction, target) -> float:
    """Macro F1: mean over classes of 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)."""
    true_positive, predicted, actual = _per_class_counts(prediction, target)
    return float(np.mean(_safe_divide(2 * true_positive, predicted + actual)))


def _regression_pair(prediction, target) -> tuple[np.ndarray, np.ndarray]:
    prediction = _as_array(prediction).astype(np.float64)
    target = _as_array(target).astype(np.float64)
    if prediction.size != target.size:
        raise ShapeError(f"metric: prediction has shape {prediction.shape}, target has shape "
                         f"{target.shape}")
    if prediction.shape != target.shape:
        prediction = prediction.reshape(target.shape)
    return prediction, target


def mae(prediction, target) -> float:
    """Mean absolute error: mean |prediction - target|."""
    prediction, target = _regression_pair(prediction, target)
    return float(np.mean(np.abs(prediction - target)))


def rmse(prediction, target) -> float:
    """Root mean squared error: sqrt(mean (prediction - target)^2)."""
    prediction, target = _regression_pair(prediction, target)
    return float(np.sqrt(np.mean((prediction - target) ** 2)))


def r2(prediction, target) -> float:
    """Coefficient of determination R^2 = 1 - sum (y - p)^2 / sum (y - mean y)^2, averaged over
    output columns (scikit-learn's ``r2_score`` with uniform averaging)."""
    prediction, target = _regression_pair(prediction, target)
    if target.size == 0:
        return float("nan")  # no samples: undefined, like the other metrics' mean of nothing
    if target.ndim == 1:
        prediction, target = prediction[:, None], target[:, None]
    prediction = prediction.reshape(len(prediction), -1)
    target = target.reshape(len(target), -1)
    residual = np.sum((target - prediction) ** 2, axis=0)
    total = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
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
