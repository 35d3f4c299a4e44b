"""Norms of arrays that do not overflow or underflow where the result is representable.

A sum of squares overflows long before its root does: in float32, 3e19^2 + 4e19^2 is inf
although ||(3e19, 4e19)|| = 5e19 fits easily. Dividing by the largest magnitude m first,
||a||_p = m * ||a / m||_p, keeps every term in [0, 1] (LAPACK's ``nrm2`` does the same).
"""
from __future__ import annotations

import math

import numpy as np


def _largest_magnitude(arrays: list[np.ndarray]) -> float:
    """max |a| over every element (nan if any element is nan, 0 for no elements)."""
    peaks = [float(np.max(np.abs(array))) for array in arrays if array.size]
    if any(math.isnan(peak) for peak in peaks):
        return math.nan
    return max(peaks, default=0.0)


def global_norm(arrays: list[np.ndarray], norm_type: float = 2.0) -> float:
    """(sum_i ||a_i||_p^p)^(1/p) over all elements of ``arrays`` (max |a| for p = inf), exact
    wherever the result is representable. The plain sum of powers is used when it can be
    trusted (finite, and large enough that no term that matters underflowed); otherwise (the
    squares of float32 [3e19, 4e19] overflow) the elements are divided by the largest
    magnitude m first: ||a||_p = m * ||a / m||_p."""
    if norm_type == math.inf:
        return _largest_magnitude(arrays)
    with np.errstate(over="ignore", under="ignore"):
        if norm_type == 2.0:
            total = math.sqrt(sum(float(np.dot(flat, flat))
                                  for flat in (array.reshape(-1) for array in arrays)))
        else:
            total = sum(float(np.sum(np.abs(array) ** norm_type))
                        for array in arrays) ** (1.0 / norm_type)
    if _trustworthy(total, arrays, norm_type):
        return total
    largest = _largest_magnitude(arrays)
    if largest == 0.0 or not math.isfinite(largest):
        return largest  # 0, inf or nan
    total = sum(float(np.sum((np.abs(array, dtype=np.float64) / largest) ** norm_type))
                for array in arrays)
    return largest * total ** (1.0 / norm_type)


def _trustworthy(total: float, arrays: list[np.ndarray], norm_type: float) -> bool:
    """True when a norm from the plain sum of |a|^p neither overflowed nor lost to underflow
    terms that matter: a term |a|^p underflows below tiny, so once total^p > tiny / eps the
    lost terms are below the rounding of the sum."""
    if not 0.0 < total < math.inf:
        return False
    floors = [(float(np.finfo(array.dtype).tiny) / float(np.finfo(array.dtype).eps))
              ** (1.0 / norm_type) for array in arrays if array.dtype.kind == "f"]
    return total > max(floors, default=0.0)
