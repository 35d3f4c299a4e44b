"""``MLPClassifier`` and ``MLPRegressor``: annie multilayer perceptrons as scikit-learn estimators.

The model is ``Sequential(Linear, activation, [Dropout], ..., Linear)``: one hidden layer per
entry of ``hidden_layer_sizes``, then the output layer (logits or values).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import sparse

from .. import init, nn
from ..errors import ConfigError, is_positive_int
from ._base import NetworkEstimator, store_parameters
from ._docs import (CLASSIFIER_ATTRIBUTES, CLASSIFIER_PARAMETERS, MLP_PARAMETERS,
                    REGRESSOR_PARAMETERS, TRAINING_PARAMETERS, append_doc)
from ._tasks import ClassifierTask, RegressorTask

SKLEARN_ACTIVATIONS = {"logistic": "sigmoid"}  # scikit-learn's name -> annie's


def hidden_sizes(owner: str, value) -> list[int]:
    """``hidden_layer_sizes`` (an int or a sequence of ints) as a list of positive ints."""
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(is_positive_int(size) for size in sizes):
        raise ConfigError(f"{owner}: hidden_layer_sizes must be a positive int or a sequence of "
                          f"positive ints, got {value!r}")
    return [int(size) for size in sizes]


class _MLP(NetworkEstimator):
    """What the MLP estimators share: 2-D X, the Sequential model."""

    _SPEC_PARAMETERS = {"sizes": "hidden_layer_sizes"}

    def _activation_name(self) -> str:
        name = self.activation
        return SKLEARN_ACTIVATIONS.get(name, name) if isinstance(name, str) else name

    def _check_model_params(self) -> None:
        owner = type(self).__name__
        hidden_sizes(owner, self.hidden_layer_sizes)
        try:
            nn.activation_module(self._activation_name())
        except ConfigError as error:
            raise ConfigError(f"{owner}: activation {self.activation!r} is not valid "
                              f"('logistic' or an annie activation name): {error}") from None

    def _validate_X(self, X, reset: bool, **target):
        """X (and y) checked; a SciPy sparse X (one-hot or TF-IDF columns, say) is accepted
        and made dense, since annie's layers compute on dense arrays (memory: n_samples x
        n_features numbers)."""
        checked = self._check_arrays(X, reset, target, accept_sparse=["csr", "csc", "coo"])
        X = checked[0] if target else checked
        if sparse.issparse(X):
            X = X.toarray()
        return (X, checked[1]) if target else X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _module_spec(self, X: np.ndarray, n_outputs: int) -> dict:
        sizes = [X.shape[1], *hidden_sizes(type(self).__name__, self.hidden_layer_sizes),
                 n_outputs]
        return {"sizes": sizes, "activation": self._activation_name(),
                "dropout": float(self.dropout), "dtype": self._compute_dtype(X)}

    @staticmethod
    def _make_module(spec: dict) -> nn.Sequential:
        """Sequential(Linear, activation, [Dropout], ..., Linear) for ``spec``'s sizes, each
        Linear's weight and bias drawn as scikit-learn's MLP draws them (Glorot):
        U(-b, b) with b = sqrt(factor / (fan_in + fan_out)), factor 2 for a logistic
        activation and 6 otherwise."""
        sizes, layers = spec["sizes"], []
        factor = 2.0 if spec["activation"] == "sigmoid" else 6.0
        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer = nn.Linear(n_in, n_out, dtype=spec["dtype"])
            bound = math.sqrt(factor / (n_in + n_out))
            init.uniform_(layer.weight, -bound, bound)
            init.uniform_(layer.bias, -bound, bound)
            layers.append(layer)
            if index < len(sizes) - 2:
                layers.append(nn.activation_module(spec["activation"]))
                if spec["dropout"]:
                    layers.append(nn.Dropout(spec["dropout"]))
        return nn.Sequential(*layers)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, scikit-learn's layout: coefs_[i] is (inputs, outputs) of layer i."""
        return [layer.weight.data.T.copy() for layer in self.model_ if isinstance(layer, nn.Linear)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors of the layers."""
        return [layer.bias.data.copy() for layer in self.model_ if isinstance(layer, nn.Linear)]


class MLPClassifier(ClassifierTask, _MLP):
    """Multilayer perceptron classifier trained by annie (scikit-learn's MLPClassifier API).

    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, loss="log_loss", dropout=0.0, dtype=None):
        store_parameters(self, locals())


class MLPRegressor(RegressorTask, _MLP):
    """Multilayer perceptron regressor trained by annie (scikit-learn's MLPRegressor API).

    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, loss="squared_error", dropout=0.0, dtype=None):
        store_parameters(self, locals())


_LAYERS_ATTRIBUTES = """
    coefs_, intercepts_ : list of ndarray
        Weight matrices (inputs, outputs) and biases of each layer, scikit-learn's layout.
"""
append_doc(MLPClassifier, MLP_PARAMETERS, CLASSIFIER_PARAMETERS, TRAINING_PARAMETERS, CLASSIFIER_ATTRIBUTES,
           _LAYERS_ATTRIBUTES)
append_doc(MLPRegressor, MLP_PARAMETERS, REGRESSOR_PARAMETERS, TRAINING_PARAMETERS, _LAYERS_ATTRIBUTES)
