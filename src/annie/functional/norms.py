"""Norms, means and standard deviations of arrays, exact where the result is representable.

A sum of squares overflows long before its root does: in float32, 3e19^2 + 4e19^2 is inf
although ||(3e19, 4e19)|| = 5e19 fits easily. Dividing by the largest magnitude m first,
||a||_p = m * ||a / m||_p, keeps every term in [0, 1] (LAPACK's ``nrm2`` does the same).

Deviations from a mean lose every digit when the mean is rounded and the spread is small
beside it (float32 values 1e6 + 0.125 k: the mean's rounding error is as large as the spread).
Taking the mean of those deviations again and removing it (the corrected two-pass algorithm:
Bjorck 1967; Chan, Golub & LeVeque 1983) recovers them: the deviations from a rounded mean m
are exact (x and m are close), so their own mean is the rounding error of m, small and
computed accurately. A variance is then the mean of squares of accurate deviations, never
E[x^2] - E[x]^2.
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


#: a mean larger than this many standard deviations gets the two-pass correction
OFFSET_RATIO = 16.0


def recentered(deviations: np.ndarray, axis) -> np.ndarray:
    """Deviations x - m from a rounded mean m, corrected by their own mean (a new array): the
    second pass of the corrected two-pass algorithm (see the module doc)."""
    return deviations - np.mean(deviations, axis=axis, keepdims=True)


def offset_dominates(mean: np.ndarray, variance: np.ndarray) -> bool:
    """True where some |mean| exceeds ``OFFSET_RATIO`` standard deviations: there the rounding
    error of the mean (about eps * |mean|) is no longer small beside the spread, and the
    deviations need ``recentered``."""
    with np.errstate(invalid="ignore"):
        return bool(np.any(np.abs(mean) > OFFSET_RATIO * np.sqrt(variance)))


def mean_and_std(values: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation (ddof = 0) along ``axis`` (reduced axes
    dropped), exact wherever they are representable: each slice is scaled by a power of two
    near its largest magnitude first (exactly: values of 1e200 or 1.7e308 then neither
    overflow the sum nor the squares, and 1e-200 does not underflow them), and the deviations
    are ``recentered``, so a constant slice has a standard deviation of exactly 0 and a large
    offset keeps its spread. Values must be finite."""
    peak = np.max(np.abs(values), axis=axis, keepdims=True)
    exponent = np.frexp(np.where(peak > 0, peak, 1))[1]  # peak = f 2^exponent, 0.5 <= f < 1
    scaled = np.ldexp(values, -exponent)  # in [-1, 1], exact (a power of two)
    rounded_mean = np.mean(scaled, axis=axis, keepdims=True)
    first_pass = scaled - rounded_mean
    correction = np.mean(first_pass, axis=axis, keepdims=True)  # (see ``recentered``)
    deviations = first_pass - correction
    mean = rounded_mean + correction
    std = np.sqrt(np.mean(deviations * deviations, axis=axis, keepdims=True))
    return (np.squeeze(np.ldexp(mean, exponent), axis=axis),
            np.squeeze(np.ldexp(std, exponent), axis=axis))
