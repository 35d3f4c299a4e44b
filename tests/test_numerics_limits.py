"""Derivatives and values at the points where a formula reads 0 * inf, inf / inf or inf - inf
but the function has a plain value there (a flat region, a limit), each against the closed
form or the limit:

- an op whose output does not depend on an input (a clipped element, the loser of a maximum, a
  ReLU below 0, a non-maximal element of a max reduction) passes exactly 0 back, also when
  the gradient arriving is infinite (the derivative of sqrt or log at 0 after clipping);
- softsign at +-inf is +-1 with derivative 0; softmax and log-softmax of a row holding +inf
  give the limit; erf and erfc of a Tensor are differentiable.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import ops

INF = np.inf
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1/0, log 0 on purpose


def _leaf(values):
    return annie.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _zero():
    return annie.tensor(np.zeros(2))


# f(x) at x = [flat, 4]: the first point lies where the clipped/selected value is constant, so
# f'(flat) = 0 exactly; the second where f(x) = g(x) with a closed-form derivative
FLAT_THEN_OPEN = [
    ("sqrt(clip(x, 0))", lambda x: x.clip(low=0).sqrt(), [-1.0, 4.0], 1 / (2 * math.sqrt(4))),
    ("sqrt(clip(x, high=0) * -1)", lambda x: (x.clip(high=0) * -1.0).sqrt(), [1.0, -4.0],
     -1 / (2 * math.sqrt(4))),
    ("log(clip(x, 0))", lambda x: x.clip(low=0).log(), [-1.0, 4.0], 1 / 4),
    ("1 / clip(x, 0)", lambda x: 1.0 / x.clip(low=0), [-1.0, 4.0], -1 / 16),
    ("sqrt(relu(x))", lambda x: F.relu(x).sqrt(), [-1.0, 4.0], 1 / (2 * math.sqrt(4))),
    ("sqrt(maximum(x, 0))", lambda x: ops.maximum(x, _zero()).sqrt(), [-1.0, 4.0],
     1 / (2 * math.sqrt(4))),
    ("sqrt(maximum(0, x))", lambda x: ops.maximum(_zero(), x).sqrt(), [-1.0, 4.0],
     1 / (2 * math.sqrt(4))),
    ("sqrt(-minimum(x, 0))", lambda x: (ops.minimum(x, _zero()) * -1.0).sqrt(), [1.0, -4.0],
     -1 / (2 * math.sqrt(4))),
    ("sqrt(hard_sigmoid(x))", lambda x: F.hard_sigmoid(x).sqrt(), [-5.0, 0.0],
     (1 / 6) / (2 * math.sqrt(0.5))),
]


@pytest.mark.parametrize("name, function, x, slope", FLAT_THEN_OPEN,
                         ids=[case[0] for case in FLAT_THEN_OPEN])
def test_a_flat_region_passes_back_zero_even_under_an_infinite_gradient(name, function, x, slope):
    leaf = _leaf(x)
    function(leaf).sum().backward()
    assert leaf.grad[0] == 0.0  # f is constant around x[0]: f'(x[0]) = 0, not inf * 0
    assert leaf.grad[1] == pytest.approx(slope, rel=1e-12)


def test_max_reduction_gives_zero_to_the_other_elements_under_an_infinite_gradient():
    x = _leaf([[0.0, -1.0], [3.0, 3.0]])
    x.max(dim=1).log().sum().backward()  # log of a maximum of 0: dL/dmax = inf on row 0
    np.testing.assert_array_equal(x.grad, [[INF, 0.0], [1 / 6, 1 / 6]])  # ties share 1/3


def test_maximum_and_minimum_still_share_ties_and_broadcast():
    a, b = _leaf([1.0, 2.0, 3.0]), _leaf([2.0])
    (ops.maximum(a, b) * annie.tensor(np.array([1.0, 10.0, 100.0]))).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 5.0, 100.0])  # x = 2 is a tie: half each
    np.testing.assert_array_equal(b.grad, [1.0 + 5.0])
    a, b = _leaf([1.0, np.nan]), _leaf([2.0, 0.0])
    ops.minimum(a, b).sum().backward()  # NaN (no winner, no tie): the gradient goes to b
    np.testing.assert_array_equal(a.grad, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0])


def test_softsign_takes_its_limits_at_infinity():
    x = _leaf([INF, -INF, 0.0, 2.0, -3.0])
    out = F.softsign(x)
    out.sum().backward()
    finite = np.array([0.0, 2.0, -3.0])
    np.testing.assert_array_equal(out.data[:2], [1.0, -1.0])  # lim x / (1 + |x|) = +-1
    np.testing.assert_allclose(out.data[2:], finite / (1 + np.abs(finite)), rtol=1e-15)
    np.testing.assert_array_equal(x.grad[:2], [0.0, 0.0])  # 1 / (1 + |x|)^2 -> 0
    np.testing.assert_allclose(x.grad[2:], 1 / (1 + np.abs(finite)) ** 2, rtol=1e-15)


def test_softmax_of_a_row_holding_plus_infinity_is_its_limit():
    rows = np.array([[INF, 0.0, 1.0], [INF, INF, -INF], [-INF, 0.0, 1.0]])
    x = _leaf(rows)
    probabilities = F.softmax(x, dim=1)
    # lim_{t -> inf} softmax([t, 0, 1]) = [1, 0, 0]; two entries growing together share
    np.testing.assert_array_equal(probabilities.data[:2], [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    e = np.exp([0.0, 1.0])
    np.testing.assert_allclose(probabilities.data[2], [0.0, *(e / e.sum())], rtol=1e-15)
    log_probabilities = F.log_softmax(annie.tensor(rows), dim=1).data
    np.testing.assert_array_equal(log_probabilities[:2],
                                  [[0.0, -INF, -INF], [-math.log(2), -math.log(2), -INF]])
    (probabilities * annie.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    assert np.all(np.isfinite(x.grad))


def test_a_row_of_minus_infinity_stays_undefined():
    out = F.softmax(annie.tensor(np.array([[-INF, -INF]])), dim=1).data
    assert np.all(np.isnan(out))  # every class masked: no distribution (PyTorch: NaN too)


@pytest.mark.parametrize("function, sign", [(F.erf, 1.0), (F.erfc, -1.0)])
def test_erf_and_erfc_of_a_tensor_are_differentiable(function, sign):
    x = _leaf([-INF, -1.0, 0.0, 0.5, 30.0, INF])
    out = function(x)
    assert isinstance(out, annie.Tensor) and out.requires_grad
    out.sum().backward()
    values = np.array([-INF, -1.0, 0.0, 0.5, 30.0, INF])
    expected = sign * 2 / math.sqrt(math.pi) * np.exp(-values ** 2)  # d erf/dx, closed form
    np.testing.assert_allclose(x.grad, expected, rtol=1e-15, atol=0)
    assert isinstance(function(values), np.ndarray)  # arrays stay arrays
