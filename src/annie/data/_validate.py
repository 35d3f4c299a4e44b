"""Checks shared by the data helpers: inputs to arrays; reject empty or mismatched data."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, check_non_negative_int
from ..tensor import Tensor


def to_array(data: Any, name: str) -> np.ndarray:
    """``data`` (ndarray, Tensor, list) as an ndarray with at least one dimension and one row."""
    if data is None:
        raise DataError(f"{name}: got None, expected an array")
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data)
    if array.ndim == 0:
        raise DataError(f"{name}: expected an array with a first (sample) axis, got a scalar")
    if array.shape[0] == 0:
        raise DataError(f"{name}: is empty (shape {array.shape})")
    return array


def check_same_length(X: np.ndarray, y: np.ndarray | None, where: str) -> None:
    """Raise DataError when X and y do not hold the same number of samples."""
    if y is not None and len(X) != len(y):
        raise DataError(
            f"{where}: X and y have different lengths: X has {len(X)} samples (shape {X.shape}), "
            f"y has {len(y)} (shape {y.shape})")


def make_generator(seed: int | None) -> np.random.Generator:
    """A generator seeded with ``seed``; annie's own (``annie.backend.rng()``) when None."""
    from .. import backend

    if seed is None:
        return backend.rng()
    return np.random.default_rng(check_non_negative_int(seed, "seed", allow_none=True))
