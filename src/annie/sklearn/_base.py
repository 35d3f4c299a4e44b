"""``NetworkEstimator``: the scikit-learn side of every annie estimator.

It checks the parameters (when fitting, as scikit-learn asks), validates X, y and sample
weights, builds the annie model and optimizer on the first fit, trains with ``annie.fit`` under
scikit-learn's stopping rule, and pickles in memory (joblib, ``clone`` of fitted copies) through
arrays only: the model's ``state_dict`` and the optimizer's, rebuilt on unpickling.

A subclass says what model it trains (``_module_spec`` and ``_make_module``), how X looks
(``_validate_X``), and what its targets are (``_encode_targets``, ``_score_arrays``).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import check_is_fitted

from .. import backend
from ..errors import ConfigError, is_positive_int
from ..train import fit as annie_fit
from ..train import predict as annie_predict
from ._training import (EpochRule, annie_random_state, make_optimizer, optimizer_spec,
                        pack_targets, penalized_weights, seed_from, weighted_loss)

PREDICT_BATCH = 1024  # rows per forward pass in predict (memory only; results do not depend on it)
DTYPES = (None, "float32", "float64")


def check_number(owner: str, name: str, value, low=None, high=None, low_open=False,
                 high_open=False, integer=False):
    """``value`` if it is a real number (an int when ``integer``) within [low, high] (open ends
    where asked), else ConfigError naming the parameter, its value and the valid range."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ConfigError(f"{owner}: {name} must be {'an integer' if integer else 'a number'} "
                          f"in {interval}, got {value!r}")
    return value


def check_bool(owner: str, name: str, value) -> bool:
    """``value`` if it is True or False (NumPy's too), else ConfigError naming the parameter."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def store_parameters(estimator, arguments: dict) -> None:
    """Set each constructor argument as the attribute of the same name, unchanged (all that a
    scikit-learn ``__init__`` may do; ``fit`` checks them): ``store_parameters(self, locals())``."""
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """Sample weights as a float64 array (n_samples,): ones when None; ValueError for a wrong
    shape, negative or non-finite values, or weights that are all zero."""
    if sample_weight is None:
        return np.ones(n_samples)
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_samples, float(sample_weight))
    weight = check_array(sample_weight, ensure_2d=False, dtype=np.float64, order="C",
                         input_name="sample_weight")
    if weight.ndim != 1 or weight.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {weight.shape}, expected ({n_samples},)")
    if np.any(weight < 0):
        raise ValueError("sample_weight holds negative values; weights must be >= 0")
    if not weight.sum() > 0:
        raise ValueError("Sample weights must contain at least one non-zero number "
                         "(sample_weight is all zero)")
    return weight


class NetworkEstimator(BaseEstimator):
    """Shared fit/partial_fit/predict machinery of the annie estimators (see the module doc)."""

    # ----- what a subclass provides ------------------------------------------------------
    def _validate_X(self, X, reset: bool, **target):  # pragma: no cover - abstract
        """X checked and as a float array (or (X, y) when ``y=`` is given)."""
        raise NotImplementedError

    def _module_spec(self, X: np.ndarray, n_outputs: int) -> dict:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _make_module(spec: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    # the constructor parameter behind each entry of ``_module_spec`` named otherwise
    _SPEC_PARAMETERS: dict = {}

    def _encode_targets(self, y, first_pass: bool, classes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_arrays(self, X, y, sample_weight=None) -> float:  # pragma: no cover
        raise NotImplementedError

    def _check_arrays(self, X, reset: bool, target: dict, **options):
        """scikit-learn's ``validate_data`` on X (and y when ``target`` holds ``y``): numbers,
        finite, float32 kept and anything else as float64, ``n_features_in_`` and
        ``feature_names_in_`` set (``reset``) or checked."""
        from sklearn.utils.validation import validate_data
        if target:
            options.update(self._y_options, multi_output=True)
        return validate_data(self, X, reset=reset, dtype=(np.float64, np.float32), **target,
                             **options)

    def _check_model_params(self) -> None:
        """Check the parameters of the model itself (sizes, activation, cell, ...)."""

    def _fit_options(self) -> dict:
        """Extra keyword arguments for ``annie.fit`` (e.g. gradient clipping)."""
        return {}

    # ----- parameters ----------------------------------------------------------------------
    def _check_params(self) -> None:
        owner = type(self).__name__
        check_number(owner, "alpha", self.alpha, low=0)
        check_number(owner, "learning_rate_init", self.learning_rate_init, low=0, low_open=True)
        check_number(owner, "max_iter", self.max_iter, low=1, integer=True)
        check_number(owner, "tol", self.tol, low=0)
        check_number(owner, "momentum", self.momentum, low=0, high=1)
        check_number(owner, "beta_1", self.beta_1, low=0, high=1, high_open=True)
        check_number(owner, "beta_2", self.beta_2, low=0, high=1, high_open=True)
        check_number(owner, "epsilon", self.epsilon, low=0, low_open=True)
        check_number(owner, "n_iter_no_change", self.n_iter_no_change, low=1, integer=True)
        check_number(owner, "dropout", self.dropout, low=0, high=1, high_open=True)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            check_bool(owner, name, getattr(self, name))
        if self.early_stopping:
            check_number(owner, "validation_fraction", self.validation_fraction, low=0, high=1,
                         low_open=True, high_open=True)
        if not (self.batch_size == "auto" or is_positive_int(self.batch_size)):
            raise ConfigError(f"{owner}: batch_size must be 'auto' or a positive integer, "
                              f"got {self.batch_size!r}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"{owner}: dtype must be None (float32 for float32 X, else "
                              f"float64), 'float32' or 'float64', got {self.dtype!r}")
        optimizer_spec(self)  # checks solver
        self._check_model_params()

    def _compute_dtype(self, X: np.ndarray) -> str:
        if self.dtype is not None:
            return self.dtype
        return "float32" if X.dtype == np.float32 else "float64"

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(f"{type(self).__name__}: batch_size={self.batch_size} is larger than "
                          f"the {n_samples} training samples; it is clipped to {n_samples}",
                          UserWarning, stacklevel=4)
        return min(int(self.batch_size), n_samples)

    # ----- fitting ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train a fresh model (or, with ``warm_start``, the current one) on X and y for up to
        ``max_iter`` epochs; ``sample_weight`` (n_samples,) weighs each sample's loss. Returns
        self."""
        return self._fit(X, y, sample_weight=sample_weight)

    def _reset_progress(self) -> None:
        """The fitted attributes of a fresh training run."""
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental: bool = False, classes=None):
        self._check_params()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = self._validate_X(X, reset=first_pass, y=y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector: one target, with a warning
        target, per_sample, stratify = self._encode_targets(y, first_pass, classes)
        weight = check_sample_weight(sample_weight, len(X))
        start = self._rng_state if incremental and not first_pass else seed_from(self.random_state)
        with annie_random_state(start) as record:
            if first_pass:
                self._spec = self._module_spec(X, self.n_outputs_)
                self.model_ = self._make_module(self._spec)
                self._reset_progress()
            else:
                self._check_same_model(X)
            if not incremental or not hasattr(self, "_optimizer"):
                self._optimizer_spec = optimizer_spec(self)
                self._optimizer = make_optimizer(self._optimizer_spec, self.model_)
            X = X.astype(self._spec["dtype"], copy=False)
            self._train(X, y, target, weight, per_sample, stratify, incremental)
        self._rng_state = record["end"]
        return self

    def _check_same_model(self, X: np.ndarray) -> None:
        """warm_start and partial_fit continue the model the first fit built: ValueError when a
        parameter changed since (``set_params``) describes another model, rather than training
        a model that the parameters no longer describe."""
        spec = self._module_spec(X, self.n_outputs_)
        if self.dtype is None:  # None follows the X of the first fit
            spec["dtype"] = self._spec["dtype"]
        changed = [f"{self._SPEC_PARAMETERS.get(key, key)} changed since the model was built "
                   f"({key} {self._spec.get(key)!r} -> {value!r})"
                   for key, value in spec.items() if value != self._spec.get(key)]
        if changed:
            raise ValueError(f"{type(self).__name__}: {'; '.join(changed)}. warm_start and "
                             f"partial_fit continue the same model: fit with warm_start=False "
                             f"(or a clone) to build a new one")

    def _train(self, X, y, target, weight, per_sample, stratify, incremental: bool) -> None:
        validation = None
        train_rows = np.arange(len(X))
        if self.early_stopping and not incremental:
            from sklearn.model_selection import train_test_split
            split_seed = int(backend.rng().integers(np.iinfo(np.int32).max))
            train_rows, val_rows = train_test_split(
                train_rows, test_size=self.validation_fraction, random_state=split_seed,
                stratify=stratify)
            validation = (X[val_rows], y[val_rows], weight[val_rows])
        packed = pack_targets(target[train_rows], weight[train_rows])
        loss = weighted_loss(per_sample, packed.shape[1] - 1, float(self.alpha),
                             penalized_weights(self.model_), weighted=bool(np.any(weight != 1)))
        rule = EpochRule(self, len(train_rows), validation, can_stop=not incremental)
        epochs = 1 if incremental else int(self.max_iter)
        history = annie_fit(self.model_, loss, self._optimizer, X[train_rows], packed,
                            epochs=epochs, batch_size=self._batch_size(len(train_rows)),
                            shuffle=bool(self.shuffle), callbacks=[rule],
                            verbose=2 if self.verbose else 0, **self._fit_options())
        if history.stop_reason is not None and not rule.stopped:
            warnings.warn(f"{type(self).__name__}: {history.stop_reason}", ConvergenceWarning,
                          stacklevel=3)
        elif not incremental and not rule.stopped:
            warnings.warn(f"{type(self).__name__}: the maximum of {self.max_iter} iterations "
                          f"(epochs) was reached and the optimization has not converged yet "
                          f"(raise max_iter, or tol)", ConvergenceWarning, stacklevel=3)

    # ----- predicting ----------------------------------------------------------------------
    def _outputs(self, X) -> np.ndarray:
        """The model's raw outputs (n_samples, n_outputs_) for validated X."""
        check_is_fitted(self, "model_")
        X = self._validate_X(X, reset=False)
        return self._outputs_of(X)

    def _outputs_of(self, X: np.ndarray) -> np.ndarray:
        X = X.astype(self._spec["dtype"], copy=False)
        outputs = annie_predict(self.model_, X, batch_size=PREDICT_BATCH)
        return outputs.reshape(len(X), -1)

    # ----- in-memory pickling (joblib, multiprocessing) --------------------------------------
    def __getstate__(self):
        """The estimator as plain values and arrays: the model and optimizer are replaced by
        their state dicts (rebuilt from the recorded architecture by ``__setstate__``)."""
        state = dict(super().__getstate__())  # (may be the live __dict__ itself)
        model = state.pop("model_", None)
        optimizer = state.pop("_optimizer", None)
        if model is not None:
            state["_model_arrays"] = model.state_dict()
            state["_optimizer_arrays"] = optimizer.state_dict() if optimizer is not None else None
        return state

    def __setstate__(self, state):
        state = dict(state)
        arrays = state.pop("_model_arrays", None)
        optimizer_arrays = state.pop("_optimizer_arrays", None)
        super().__setstate__(state)
        if arrays is not None:
            with annie_random_state(backend.get_rng_state()):  # building draws initial weights
                self.model_ = self._make_module(self._spec)
            self.model_.load_state_dict(arrays)
            if optimizer_arrays is not None:
                self._optimizer = make_optimizer(self._optimizer_spec, self.model_)
                self._optimizer.load_state_dict(optimizer_arrays)
