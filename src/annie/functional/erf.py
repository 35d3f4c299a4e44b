"""The error function erf and its complement erfc, vectorised over ndarrays (NumPy has neither).

erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt,  erfc(x) = 1 - erf(x).
W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the error
function", Math. Comp. 23, 1969; the CALERF routine): accurate to about 1e-16 relative in
float64 on three ranges of |x|:
  |x| <= 0.46875:   erf(x)  = x * P1(x^2) / Q1(x^2)
  0.46875 < |x| <= 4: erfc(x) = exp(-x^2) * P2(x) / Q2(x)
  |x| > 4:          erfc(x) = exp(-x^2) / x * (1/sqrt(pi) + 1/x^2 * P3(1/x^2) / Q3(1/x^2))
The work is done in float64 and the result is returned in the input's float dtype. ``erf`` and
``erfc`` of a Tensor are differentiable ops.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Function, Tensor

_SMALL = 0.46875
_LARGE = 4.0
_UNDERFLOW = 30.0  # erfc(y) is 0 in float64 beyond y of about 27.3 (and exp(-y^2) is finite here)
_INV_SQRT_PI = 5.6418958354775628695e-1

# |x| <= 0.46875: erf(x) = x * (A0 ... ) / (B0 ...), evaluated in x^2
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
# 0.46875 < |x| <= 4: erfc(x) = exp(-x^2) * P(x) / Q(x)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
# |x| > 4: erfc(x) = exp(-x^2) / x * (1/sqrt(pi) - z P(z) / Q(z)), z = 1/x^2
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| <= 0.46875."""
    square = x * x
    numerator = _A[4] * square
    denominator = square
    for i in range(3):
        numerator = (numerator + _A[i]) * square
        denominator = (denominator + _B[i]) * square
    return x * (numerator + _A[3]) / (denominator + _B[3])


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(-y^2) computed as exp(-r^2) exp(-(y-r)(y+r)) with r = y rounded down to 1/16, which
    keeps the rounding error of y^2 out of the exponent (Cody's trick)."""
    rounded = np.trunc(y * 16.0) / 16.0
    rest = (y - rounded) * (y + rounded)
    return np.exp(-rounded * rounded) * np.exp(-rest)


def _erfc_medium(y: np.ndarray) -> np.ndarray:
    """erfc(y) for 0.46875 < y <= 4."""
    numerator = _C[8] * y
    denominator = y
    for i in range(7):
        numerator = (numerator + _C[i]) * y
        denominator = (denominator + _D[i]) * y
    return _exp_minus_square(y) * (numerator + _C[7]) / (denominator + _D[7])


def _erfc_large(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > 4 (underflows to 0 beyond y of about 27)."""
    inverse_square = 1.0 / (y * y)
    numerator = _P[5] * inverse_square
    denominator = inverse_square
    for i in range(4):
        numerator = (numerator + _P[i]) * inverse_square
        denominator = (denominator + _Q[i]) * inverse_square
    tail = inverse_square * (numerator + _P[4]) / (denominator + _Q[4])
    return _exp_minus_square(y) * (_INV_SQRT_PI - tail) / y


def _erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > 0.46875, choosing the medium or the large range per element."""
    y = np.minimum(y, _UNDERFLOW)  # so that y = inf gives 0, not inf - inf
    out = np.empty_like(y)
    medium = y <= _LARGE
    out[medium] = _erfc_medium(y[medium])
    out[~medium] = _erfc_large(y[~medium])
    return out


def _result_dtype(x) -> np.dtype:
    x = np.asarray(x)
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


def _erf_values(x) -> np.ndarray:
    """erf of an array (Cody's approximation, in float64, returned in x's float dtype)."""
    dtype = _result_dtype(x)
    values = np.asarray(x, dtype=np.float64)
    out = np.empty_like(values)
    magnitude = np.abs(values)
    small = magnitude <= _SMALL
    out[small] = _erf_small(values[small])
    big = ~small & ~np.isnan(values)
    out[big] = np.sign(values[big]) * (1.0 - _erfc_positive(magnitude[big]))
    out[np.isnan(values)] = np.nan
    return out.astype(dtype, copy=False)


def _erfc_values(x) -> np.ndarray:
    """erfc of an array, without the cancellation of 1 - erf(x) for large x."""
    dtype = _result_dtype(x)
    values = np.asarray(x, dtype=np.float64)
    out = np.empty_like(values)
    magnitude = np.abs(values)
    small = magnitude <= _SMALL
    out[small] = 1.0 - _erf_small(values[small])
    positive = ~small & (values > 0)
    negative = ~small & (values < 0)
    out[positive] = _erfc_positive(values[positive])
    out[negative] = 2.0 - _erfc_positive(-values[negative])
    out[np.isnan(values)] = np.nan
    return out.astype(dtype, copy=False)


def _gaussian_slope(x: np.ndarray) -> np.ndarray:
    """d erf(x)/dx = 2/sqrt(pi) exp(-x^2) (0 at x = +-inf), in x's dtype."""
    with np.errstate(over="ignore"):
        return (2.0 * _INV_SQRT_PI * np.exp(-np.square(x, dtype=np.float64))).astype(x.dtype)


class Erf(Function):
    """erf(x);  d/dx = 2/sqrt(pi) exp(-x^2)."""

    def forward(ctx, x):
        ctx.x = x
        return _erf_values(x)

    def backward(ctx, grad):
        return grad * _gaussian_slope(ctx.x)


class Erfc(Function):
    """erfc(x) = 1 - erf(x);  d/dx = -2/sqrt(pi) exp(-x^2)."""

    def forward(ctx, x):
        ctx.x = x
        return _erfc_values(x)

    def backward(ctx, grad):
        return -grad * _gaussian_slope(ctx.x)


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise (Cody's approximation).
    An array gives an array; a Tensor gives a Tensor with the gradient 2/sqrt(pi) exp(-x^2)."""
    if isinstance(x, Tensor):
        return Erf.apply(x)
    return _erf_values(x)


def erfc(x):
    """erfc(x) = 1 - erf(x), elementwise, without the cancellation of 1 - erf(x) for large x.
    An array gives an array; a Tensor gives a Tensor with the gradient -2/sqrt(pi) exp(-x^2)."""
    if isinstance(x, Tensor):
        return Erfc.apply(x)
    return _erfc_values(x)
