"""``SequenceClassifier`` and ``SequenceRegressor``: annie's recurrent many-to-one models
(``annie.nn.SequenceClassifier`` / ``SequenceRegressor``: an RNN, LSTM or GRU whose last state
feeds a linear head) as scikit-learn estimators.

X is (n_samples, T, features), or (n_samples, T) for one feature per step (a DataFrame of lag
columns, say). As everywhere in scikit-learn, ``n_features_in_`` counts X's columns, here the
T time steps: predictions need sequences of the length seen in ``fit``; ``input_size_`` is the
number of features per step.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..errors import ConfigError
from ._base import NetworkEstimator, check_bool, check_number, store_parameters
from ._docs import (CLASSIFIER_ATTRIBUTES, CLASSIFIER_PARAMETERS, REGRESSOR_PARAMETERS,
                    SEQUENCE_PARAMETERS, TRAINING_PARAMETERS, append_doc)
from ._tasks import ClassifierTask, RegressorTask

CELLS = ("lstm", "gru", "rnn")


class _Sequence(NetworkEstimator):
    """What the sequence estimators share: 3-D X, the recurrent model, gradient clipping."""

    #: the annie.nn model, and its argument that takes the number of outputs
    _module_class: type
    _outputs_argument: str

    def _check_model_params(self) -> None:
        owner = type(self).__name__
        if self.cell not in CELLS:
            raise ConfigError(f"{owner}: cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        check_number(owner, "hidden_size", self.hidden_size, low=1, integer=True)
        check_number(owner, "num_layers", self.num_layers, low=1, integer=True)
        check_bool(owner, "bidirectional", self.bidirectional)
        if self.clip_grad_norm is not None:
            check_number(owner, "clip_grad_norm", self.clip_grad_norm, low=0, low_open=True)

    def _fit_options(self) -> dict:
        return {} if self.clip_grad_norm is None else {"clip_grad_norm": float(self.clip_grad_norm)}

    def _validate_X(self, X, reset: bool, **target):
        owner = type(self).__name__
        shape = getattr(X, "shape", None)
        if not reset and shape is not None and len(shape) == 3 \
                and shape[1] != getattr(self, "n_features_in_", shape[1]):
            raise ValueError(f"X has {shape[1]} time steps, but {owner} was fitted on sequences "
                             f"of {self.n_features_in_} steps")
        checked = self._check_arrays(X, reset, target, allow_nd=True)
        X = checked[0] if target else checked
        if X.ndim == 2:
            X = X[:, :, np.newaxis]
        elif X.ndim != 3:
            raise ValueError(f"{owner}: X must be (n_samples, T, features) or (n_samples, T), "
                             f"got shape {X.shape}")
        if reset:
            self.input_size_ = X.shape[2]
        elif X.shape[2] != self.input_size_:
            raise ValueError(f"X has {X.shape[2]} features per time step, but {owner} was "
                             f"fitted with {self.input_size_}")
        return (X, checked[1]) if target else X

    def _module_spec(self, X: np.ndarray, n_outputs: int) -> dict:
        return {"input_size": X.shape[2], "hidden_size": int(self.hidden_size),
                "outputs": n_outputs, "cell": self.cell, "num_layers": int(self.num_layers),
                "bidirectional": bool(self.bidirectional), "dropout": float(self.dropout),
                "dtype": self._compute_dtype(X)}

    @classmethod
    def _make_module(cls, spec: dict) -> nn.Module:
        """The estimator's ``_module_class`` (annie.nn.SequenceClassifier or
        SequenceRegressor) for ``spec``, in its dtype."""
        model = cls._module_class(
            input_size=spec["input_size"], hidden_size=spec["hidden_size"], cell=spec["cell"],
            num_layers=spec["num_layers"], bidirectional=spec["bidirectional"],
            dropout=spec["dropout"], **{cls._outputs_argument: spec["outputs"]})
        return model.to(spec["dtype"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class SequenceClassifier(ClassifierTask, _Sequence):
    """Recurrent sequence classifier trained by annie: one label per sequence from the last
    time step's hidden state (both directions' when bidirectional).

    """

    _module_class, _outputs_argument = nn.SequenceClassifier, "num_classes"

    def __init__(self, cell="lstm", hidden_size=64, *, num_layers=1, bidirectional=False,
                 dropout=0.0, clip_grad_norm=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, loss="log_loss",
                 dtype=None):
        store_parameters(self, locals())


class SequenceRegressor(RegressorTask, _Sequence):
    """Recurrent sequence regressor trained by annie: one value (or one per target column) per
    sequence from the last time step's hidden state, e.g. the next value of a series.

    """

    _module_class, _outputs_argument = nn.SequenceRegressor, "output_size"

    def __init__(self, cell="lstm", hidden_size=64, *, num_layers=1, bidirectional=False,
                 dropout=0.0, clip_grad_norm=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 loss="squared_error", dtype=None):
        store_parameters(self, locals())


_SEQUENCE_ATTRIBUTES = """
    input_size_ : int
        Features per time step seen by ``fit`` (1 for 2-D X).
"""
append_doc(SequenceClassifier, SEQUENCE_PARAMETERS, CLASSIFIER_PARAMETERS, TRAINING_PARAMETERS, CLASSIFIER_ATTRIBUTES,
           _SEQUENCE_ATTRIBUTES)
append_doc(SequenceRegressor, SEQUENCE_PARAMETERS, REGRESSOR_PARAMETERS, TRAINING_PARAMETERS, _SEQUENCE_ATTRIBUTES)
