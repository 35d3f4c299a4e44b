"""Classification and regression on top of ``NetworkEstimator``: targets, losses, predictions.

Classification (scikit-learn's MLPClassifier conventions): labels of any type; ``classes_`` is
their sorted set. Two classes: one output logit s, p(classes_[1]) = sigmoid(s). K > 2 classes:
K logits, p = softmax. Multilabel (y an indicator matrix (n, k)): k logits, each its own sigmoid.
``loss="log_loss"`` is the cross-entropy of those probabilities (binary cross-entropy summed
over the outputs for one logit or multilabel); ``loss="hinge"`` is the one-vs-rest hinge
sum_j max(0, 1 - t_j s_j) with t_j = +1 for the sample's class(es), -1 otherwise (no
probabilities then: ``decision_function`` instead of ``predict_proba``).

Regression: one output per target column; ``loss`` "squared_error" (half the squared error,
1/2 (y - f(x))^2, scikit-learn's MLPRegressor objective, so ``alpha``, ``learning_rate_init``
and ``tol`` act as there), "absolute_error" (MAE), "huber" (delta 1) or "log_cosh", averaged
over the target columns.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from .. import losses
from ..errors import ConfigError
from ..functional import log_softmax, sigmoid, softmax
from ..tensor import Tensor, no_grad
from ._training import as_columns

CLASSIFIER_LOSSES = ("log_loss", "hinge")
# name -> (annie loss, factor): squared_error is half the MSE, as scikit-learn's MLP minimises
REGRESSION_LOSSES = {"squared_error": (losses.mse, 0.5), "absolute_error": (losses.mae, 1.0),
                     "huber": (losses.huber, 1.0), "log_cosh": (losses.log_cosh, 1.0)}


def _check_loss(estimator, valid) -> str:
    if not isinstance(estimator.loss, str) or estimator.loss not in valid:
        raise ConfigError(f"{type(estimator).__name__}: loss must be one of "
                          f"{', '.join(valid)}, got {estimator.loss!r}")
    return estimator.loss


def _probabilities(function, outputs: np.ndarray) -> np.ndarray:
    with no_grad():
        return function(Tensor(outputs)).data


def _log_sigmoid(logits: np.ndarray) -> np.ndarray:
    """log sigmoid(s) = -(max(-s, 0) + log1p(e^-|s|)), finite for every finite s."""
    return -(np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits))))


# ----- classification ----------------------------------------------------------------------
def _cross_entropy(prediction, target):
    return losses.cross_entropy(prediction, target[:, 0].astype(np.int64), reduction="none")


def _binary_log_loss(prediction, target):
    return losses.binary_cross_entropy_with_logits(as_columns(prediction), target,
                                                   reduction="none").sum(axis=1)


def _hinge(prediction, target):
    return losses.hinge(as_columns(prediction), 2 * target - 1, reduction="none").sum(axis=1)


class ClassifierTask(ClassifierMixin):
    """Targets, loss and predictions of a classifier (see the module doc)."""

    _y_options: dict = {}

    def _encode_targets(self, y, first_pass: bool, classes):
        loss = _check_loss(self, CLASSIFIER_LOSSES)
        owner = type(self).__name__
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"{owner}: y of type {kind!r} is not supported; give class labels "
                             f"(n_samples,) or a multilabel indicator matrix (n_samples, k)")
        multilabel = kind == "multilabel-indicator"
        if first_pass:
            self._set_classes(y, multilabel, classes)
        elif classes is not None and not multilabel and not np.array_equal(
                unique_labels(np.asarray(classes)), self.classes_):
            raise ValueError(f"{owner}: classes={np.asarray(classes).tolist()!r} differs from "
                             f"classes_ {self.classes_.tolist()} set by the first call to "
                             f"partial_fit")
        elif multilabel != self._multilabel:
            raise ValueError(f"{owner}: was fitted on {'multilabel' if self._multilabel else 'class'} "
                             f"targets and cannot continue on {'multilabel' if multilabel else 'class'} ones")
        if self._multilabel:
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"{owner}: y has {y.shape[1]} labels, the model has "
                                 f"{len(self.classes_)}")
            target = np.asarray(y, dtype=np.float64)
            return target, (_hinge if loss == "hinge" else _binary_log_loss), None
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise ValueError(f"{owner}: y has classes {unknown.tolist()} not in classes_ "
                             f"{self.classes_.tolist()}")
        indices = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            target = indices.astype(np.float64)
        elif loss == "hinge":
            target = np.eye(len(self.classes_))[indices]
        else:
            return indices.astype(np.float64), _cross_entropy, indices
        return target, (_hinge if loss == "hinge" else _binary_log_loss), indices

    def _set_classes(self, y, multilabel: bool, classes) -> None:
        owner = type(self).__name__
        self._multilabel = multilabel
        if multilabel:
            self.classes_ = np.arange(y.shape[1])
            self._label_dtype = y.dtype
            self.n_outputs_ = y.shape[1]
            return
        self.classes_ = unique_labels(y if classes is None else np.asarray(classes))
        if len(self.classes_) < 2:
            raise ValueError(f"{owner}: y holds only 1 class ({self.classes_.tolist()[0]!r}); a "
                             f"classifier needs at least 2 classes")
        self.n_outputs_ = 1 if len(self.classes_) == 2 else len(self.classes_)

    def _proba_of(self, outputs: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return _probabilities(sigmoid, outputs)
        if len(self.classes_) == 2:  # sigmoid(-s), not 1 - sigmoid(s), which cancels to 0
            return np.column_stack([_probabilities(sigmoid, -outputs[:, 0]),
                                    _probabilities(sigmoid, outputs[:, 0])])
        return _probabilities(softmax, outputs)

    def _log_proba_of(self, outputs: np.ndarray) -> np.ndarray:
        """log of ``_proba_of``, from the logits: finite where a probability underflows."""
        if self._multilabel:
            return _log_sigmoid(outputs)
        if len(self.classes_) == 2:
            return np.column_stack([_log_sigmoid(-outputs[:, 0]), _log_sigmoid(outputs[:, 0])])
        return _probabilities(log_softmax, outputs)

    def _labels_of(self, outputs: np.ndarray):
        if self.loss == "log_loss":  # from the probabilities, so predict agrees with them
            proba = self._proba_of(outputs)
            if self._multilabel:
                return (proba > 0.5).astype(self._label_dtype)
            return self.classes_[np.argmax(proba, axis=1)]
        if self._multilabel:
            return (outputs > 0).astype(self._label_dtype)
        if len(self.classes_) == 2:
            return self.classes_[(outputs[:, 0] > 0).astype(np.int64)]
        return self.classes_[np.argmax(outputs, axis=1)]

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y). ``classes`` (every label that will ever appear) is needed on
        the first call unless y is a multilabel indicator matrix."""
        if not hasattr(self, "model_") and classes is None \
                and not (np.ndim(y) == 2 and np.shape(y)[1] > 1):
            raise ValueError(f"{type(self).__name__}: classes must be passed on the first call "
                             f"to partial_fit")
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Class labels (n_samples,), or a 0/1 indicator matrix (n_samples, k) for multilabel."""
        return self._labels_of(self._outputs(X))

    @available_if(lambda self: self.loss == "log_loss")
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``
        (multilabel: each label's own probability). Only with ``loss="log_loss"``."""
        return self._proba_of(self._outputs(X))

    @available_if(lambda self: self.loss == "log_loss")
    def predict_log_proba(self, X) -> np.ndarray:
        """log(predict_proba(X)), computed from the logits (log-sigmoid, log-softmax): finite
        where a probability rounds to 0 (a logit of 40 gives log p = -40, not -inf)."""
        return self._log_proba_of(self._outputs(X))

    @available_if(lambda self: self.loss == "hinge")
    def decision_function(self, X) -> np.ndarray:
        """Scores of the hinge loss: (n_samples,) for two classes (> 0: classes_[1]), else
        (n_samples, n_outputs). Only with ``loss="hinge"``."""
        outputs = self._outputs(X)
        return outputs[:, 0] if outputs.shape[1] == 1 and not self._multilabel else outputs

    def _score_arrays(self, X, y, sample_weight=None) -> float:
        return accuracy_score(y, self._labels_of(self._outputs_of(X)), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


# ----- regression ----------------------------------------------------------------------------
class RegressorTask(RegressorMixin):
    """Targets, loss and predictions of a regressor (see the module doc)."""

    _y_options: dict = {"y_numeric": True}

    def _encode_targets(self, y, first_pass: bool, classes):
        function, factor = REGRESSION_LOSSES[_check_loss(self, tuple(REGRESSION_LOSSES))]
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first_pass:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {n_outputs} target columns, the "
                             f"model was fitted with {self.n_outputs_}")

        def per_sample(prediction, target):
            value = function(as_columns(prediction), target, reduction="none").mean(axis=1)
            return value * factor if factor != 1.0 else value
        return np.asarray(y, dtype=np.float64), per_sample, None

    def _values_of(self, outputs: np.ndarray) -> np.ndarray:
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predicted values (n_samples,) or (n_samples, n_outputs)."""
        return self._values_of(self._outputs(X))

    def _score_arrays(self, X, y, sample_weight=None) -> float:
        return r2_score(y, self._values_of(self._outputs_of(X)), sample_weight=sample_weight)
