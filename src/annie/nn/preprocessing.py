"""Preprocessing layers: statistics fitted once on training data and saved with the weights, so
a saved model takes raw inputs (Keras's ``Normalization`` layer is the model)."""
from __future__ import annotations

import numpy as np

from ..backend import get_default_dtype
from ..errors import ConfigError, DataError, DTypeError, ShapeError, check_positive_int
from ..tensor import Tensor
from .module import Module

METHODS = ("standard", "minmax")


class Normalization(Module):
    """y = (x - mean) / std per feature (the last axis); with ``invert=True`` the inverse,
    y = x * std + mean (e.g. to return a regression output to the target's units).

    ``mean`` and ``std`` are buffers of shape (num_features,): saved and loaded with the weights,
    never trained (the layer has no parameters). They start at 0 and 1 (the identity) and are
    fitted by :meth:`adapt`: "standard" takes the mean and the population standard deviation
    (ddof=0, as scikit-learn's StandardScaler), "minmax" takes mean = min and std = max - min
    (so the training range maps to [0, 1]). A constant feature gets std = 1. Input of any shape
    (..., num_features); ConfigError for a bad argument, ShapeError for a wrong feature count.
    """

    def __init__(self, num_features: int, invert: bool = False, dtype=None):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features", "Normalization")
        self.invert = bool(invert)
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.register_buffer("mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("std", np.ones(self.num_features, dtype=dtype))

    def adapt(self, X, method: str = "standard") -> "Normalization":
        """Fit ``mean`` and ``std`` on X (samples along every axis but the last), in float64;
        returns the layer. DataError for empty data or NaN/inf, ShapeError for a wrong width."""
        if method not in METHODS:
            raise ConfigError(f"Normalization.adapt: method must be one of {list(METHODS)}, "
                              f"got {method!r}")
        array = np.asarray(X.data if isinstance(X, Tensor) else X)
        if array.dtype.kind not in "biuf":
            raise DTypeError(f"Normalization.adapt: X must be numeric, got dtype {array.dtype}")
        if array.ndim == 1 and self.num_features == 1:
            array = array[:, None]
        self._check_width(array.shape, "adapt")
        values = array.reshape(-1, self.num_features).astype(np.float64)
        if len(values) == 0:
            raise DataError("Normalization.adapt: X has no samples")
        if not np.all(np.isfinite(values)):
            raise DataError("Normalization.adapt: X contains NaN or inf")
        if method == "standard":
            center, scale = values.mean(axis=0), values.std(axis=0)
        else:
            center, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        dtype = self.mean.dtype
        self.register_buffer("mean", center.astype(dtype))
        self.register_buffer("std", scale.astype(dtype))
        return self

    def _check_width(self, shape: tuple, where: str) -> None:
        if len(shape) == 0 or shape[-1] != self.num_features:
            raise ShapeError(f"Normalization.{where}: expected input (..., {self.num_features}), "
                             f"got shape {tuple(shape)}")

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self._check_width(x.shape, "forward")
        mean = self.mean.astype(x.dtype, copy=False) if x.dtype.kind == "f" else self.mean
        std = self.std.astype(x.dtype, copy=False) if x.dtype.kind == "f" else self.std
        return x * std + mean if self.invert else (x - mean) / std

    def forward_array(self, array: np.ndarray) -> np.ndarray:
        """The same on a raw array, without a graph."""
        self._check_width(array.shape, "forward")
        dtype = array.dtype if array.dtype.kind == "f" else self.mean.dtype
        mean, std = self.mean.astype(dtype, copy=False), self.std.astype(dtype, copy=False)
        return array * std + mean if self.invert else (array - mean) / std

    def extra_repr(self) -> str:
        return f"{self.num_features}" + (", invert=True" if self.invert else "")
