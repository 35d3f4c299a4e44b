"""One-hot encoding and feature scalers that remember their statistics.

Scalers work per feature, the last axis: statistics are taken over every other axis, so
(samples, features) tables and (samples, time, features) sequences both work; a 1-D array is
one feature. Statistics are computed in float64; float inputs keep their dtype, other inputs
become float32.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError, DTypeError, ShapeError, check_positive_int
from ._validate import to_array


def one_hot(labels, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Class indices of any shape -> one-hot array of shape (*labels.shape, num_classes).

    out[..., k] = 1 where labels == k, else 0; num_classes defaults to max(labels) + 1.
    """
    labels = to_array(labels, "one_hot: labels")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise DTypeError(f"one_hot: labels must be whole numbers (class indices), got "
                             f"dtype {labels.dtype} with fractional or non-finite values")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iub":
        raise DTypeError(f"one_hot: labels must be integer class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise DataError(f"one_hot: labels must be >= 0, got {int(labels.min())}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    else:
        num_classes = check_positive_int(num_classes, "num_classes", "one_hot")
    if labels.max() >= num_classes:
        raise DataError(f"one_hot: label {int(labels.max())} is out of range for "
                        f"num_classes={num_classes} (valid 0..{num_classes - 1})")
    encoded = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(encoded, labels[..., None], 1, axis=-1)
    return encoded


class _Scaler:
    """Shared fit/transform plumbing: subclasses define ``_fit_statistics``, ``_offset_scale``."""

    _state_keys: tuple[str, ...] = ()

    def __init__(self):
        for key in self._state_keys:
            setattr(self, key, None)

    @property
    def fitted(self) -> bool:
        """True once ``fit`` or ``load_state_dict`` has set the statistics."""
        return all(getattr(self, key) is not None for key in self._state_keys)

    def _prepare(self, X, where: str) -> np.ndarray:
        """X as a float array (float dtypes kept, others float32), rejecting NaN and inf."""
        array = to_array(X, f"{type(self).__name__}.{where}: X")
        if array.dtype.kind not in "fiub":
            raise DTypeError(f"{type(self).__name__}.{where}: X must be numeric, got dtype "
                             f"{array.dtype}")
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        if not np.all(np.isfinite(array)):
            raise DataError(f"{type(self).__name__}.{where}: X contains NaN or inf")
        return array

    @staticmethod
    def _sample_axes(array: np.ndarray) -> tuple[int, ...]:
        """Every axis except the last (features); axis 0 for a 1-D array."""
        return tuple(range(array.ndim - 1)) if array.ndim > 1 else (0,)

    def _check_ready(self, array: np.ndarray, where: str) -> None:
        """Raise unless fitted and ``array`` has the fitted number of features."""
        name = type(self).__name__
        if not self.fitted:
            raise ConfigError(f"{name}.{where}: call fit (or load_state_dict) first")
        feature_shape = np.shape(getattr(self, self._state_keys[0]))
        actual = array.shape[-1:] if array.ndim > 1 else ()
        if actual != feature_shape:
            raise ShapeError(f"{name}.{where}: fitted on feature shape {feature_shape}, got X of "
                             f"shape {array.shape}")

    def fit(self, X) -> "_Scaler":
        """Learn the per-feature statistics of X; returns self."""
        array = self._prepare(X, "fit")
        self._fit_statistics(array.astype(np.float64), self._sample_axes(array))
        return self

    def transform(self, X) -> np.ndarray:
        """Scale X with the fitted statistics: (X - offset) / scale."""
        array = self._prepare(X, "transform")
        self._check_ready(array, "transform")
        offset, scale = self._offset_scale()
        return ((array - offset) / scale).astype(array.dtype)

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X) -> np.ndarray:
        """Undo ``transform``: X * scale + offset."""
        array = self._prepare(X, "inverse_transform")
        self._check_ready(array, "inverse_transform")
        offset, scale = self._offset_scale()
        return (array * scale + offset).astype(array.dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as plain float64 arrays (for saving next to a model)."""
        if not self.fitted:
            raise ConfigError(f"{type(self).__name__}.state_dict: the scaler is not fitted")
        return {key: np.array(getattr(self, key), dtype=np.float64) for key in self._state_keys}

    def load_state_dict(self, state: dict) -> None:
        """Restore statistics saved by ``state_dict()``."""
        name = type(self).__name__
        missing = [key for key in self._state_keys if key not in state]
        unexpected = [key for key in state if key not in self._state_keys]
        if missing or unexpected:
            raise ConfigError(f"{name}.load_state_dict: missing keys {missing}, unexpected keys "
                              f"{unexpected}; expected {list(self._state_keys)}")
        arrays = {key: np.array(state[key], dtype=np.float64) for key in self._state_keys}
        self._check_loaded(arrays)
        for key, value in arrays.items():
            setattr(self, key, value)

    def _check_loaded(self, arrays: dict[str, np.ndarray]) -> None:
        """Raise ShapeError when the loaded statistics do not share one feature shape."""
        shapes = {key: value.shape for key, value in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ShapeError(f"{type(self).__name__}.load_state_dict: statistics must share one "
                             f"shape, got {shapes}")

    def _fit_statistics(self, array: np.ndarray, axes: tuple[int, ...]) -> None:
        raise NotImplementedError

    def _offset_scale(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class StandardScaler(_Scaler):
    """Standardize each feature: z = (x - mean) / std, with the population std (ddof=0).

    A feature with zero variance gets std 1, so it becomes 0 instead of NaN.
    """

    _state_keys = ("mean", "scale")

    def _fit_statistics(self, array, axes):
        self.mean = array.mean(axis=axes)
        std = array.std(axis=axes)
        self.scale = np.where(std > 0, std, 1.0)

    def _offset_scale(self):
        return self.mean, self.scale


class MinMaxScaler(_Scaler):
    """Rescale each feature to ``feature_range`` (lo, hi):
    x' = lo + (x - min) * (hi - lo) / (max - min).

    A constant feature (max == min) is mapped to lo.
    """

    _state_keys = ("data_min", "data_max")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        low, high = self._check_range(feature_range)
        self.feature_range = (low, high)

    @staticmethod
    def _check_range(feature_range) -> tuple[float, float]:
        try:
            low, high = (float(value) for value in feature_range)
        except (TypeError, ValueError):
            raise ConfigError(f"MinMaxScaler: feature_range must be two numbers (lo, hi), got "
                              f"{feature_range!r}") from None
        if not low < high:
            raise ConfigError(f"MinMaxScaler: feature_range needs lo < hi, got {feature_range!r}")
        return low, high

    def _fit_statistics(self, array, axes):
        self.data_min = array.min(axis=axes)
        self.data_max = array.max(axis=axes)

    def _offset_scale(self):
        low, high = self.feature_range
        data_range = self.data_max - self.data_min
        data_range = np.where(data_range > 0, data_range, 1.0)
        scale = data_range / (high - low)
        # x' = (x - offset) / scale with offset = min - lo * scale
        return self.data_min - low * scale, scale

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted minima and maxima, plus the feature range, as plain float64 arrays."""
        state = super().state_dict()
        state["feature_range"] = np.array(self.feature_range, dtype=np.float64)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore minima, maxima and the feature range saved by ``state_dict()``."""
        state = dict(state)
        if "feature_range" in state:
            self.feature_range = self._check_range(np.asarray(state.pop("feature_range")).tolist())
        super().load_state_dict(state)
