"""Sliding windows over a time series: the supervised pairs a forecasting model trains on."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DataError, DTypeError, ShapeError, check_positive_int
from ._validate import to_array


def make_windows(series, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``series`` into (past ``window`` values, next ``horizon`` values) pairs.

    Pair i is X[i] = series[i : i + window], y[i] = series[i + window : i + window + horizon],
    for i = 0 .. n - 1 with n = len(series) - window - horizon + 1.
    A 1-D series gives X (n, window) and y (n,) for horizon 1, else (n, horizon);
    a 2-D series (time, features) gives X (n, window, features) and y (n, features) or
    (n, horizon, features). For a recurrent layer add a feature axis: ``X[..., None]``.
    The dtype of the series is kept. X and y are read-only views into the series (no copy, so
    a long series with a wide window costs no memory); ``np.array(X)`` makes a writable copy.
    """
    values = to_array(series, "make_windows: series")
    if values.ndim > 2:
        raise ShapeError(f"make_windows: series must be 1-D (time,) or 2-D (time, features), "
                         f"got shape {values.shape}")
    window = check_positive_int(window, "window", "make_windows")
    horizon = check_positive_int(horizon, "horizon", "make_windows")
    count = len(values) - window - horizon + 1
    if count <= 0:
        raise DataError(f"make_windows: a series of length {len(values)} is too short for "
                        f"window={window} and horizon={horizon} (needs at least "
                        f"{window + horizon} steps)")
    if values.dtype.kind not in "fiu":
        raise DTypeError(f"make_windows: series must be numeric, got dtype {values.dtype}")
    # views into the series (no copy): window i starts at step i
    X = np.moveaxis(sliding_window_view(values, window, axis=0), -1, 1)[:count]
    y = np.moveaxis(sliding_window_view(values[window:], horizon, axis=0), -1, 1)
    if horizon == 1:
        y = y[:, 0]
    return X, y
