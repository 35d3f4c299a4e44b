"""Squares that overflow and means that cancel, each against an independent value (a float64
run of the same formula, exact rational arithmetic, a closed form, scikit-learn):

- optimizers form (1 - beta) * g * g as PyTorch does, so a float32 gradient of 3e19 moves its
  parameter (its square alone, 9e38, is past the float32 maximum);
- metrics (RMSE, R^2), ``nn.Normalization.adapt`` and ``StandardScaler`` scale before
  squaring: values of 1e200 give 1e200, not inf;
- deviations from a rounded mean are corrected by their own mean: a constant feature has a
  standard deviation of exactly 0, and LayerNorm keeps the spread of a row with a large offset.
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import r2_score

import annie
from annie import functional as F
from annie import nn, optim
from annie.data.preprocessing import StandardScaler
from annie.train import metrics

OPTIMIZERS = [("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}), ("NAdam", {}),
              ("RMSprop", {}), ("RMSprop", {"centered": True}), ("RMSprop", {"momentum": 0.5}),
              ("Adadelta", {})]


def _run(name, options, gradient, dtype, steps=3):
    param = nn.Parameter(np.zeros(len(gradient), dtype=dtype))
    optimizer = getattr(optim, name)([param], lr=0.1, **options)
    for _ in range(steps):
        param.grad = np.array(gradient, dtype=dtype)
        optimizer.step()
    return param.data.astype(np.float64)


@pytest.mark.parametrize("name, options", OPTIMIZERS,
                         ids=[f"{name}{options or ''}" for name, options in OPTIMIZERS])
def test_a_float32_gradient_whose_square_overflows_still_moves_its_parameter(name, options):
    gradient = [3e19, 1.0, -2.5e19]  # squares 9e38, 6.25e38; (1 - beta) g^2 stays finite
    moved = _run(name, options, gradient, np.float32)
    reference = _run(name, options, gradient, np.float64)  # 9e38 is a plain float64
    assert np.all(np.abs(reference) > 1e-4)
    np.testing.assert_allclose(moved, reference, rtol=1e-5)


def test_adam_steps_by_the_learning_rate_whatever_the_gradient_scale():
    # a constant gradient g: m / sqrt(v) after bias correction is sign(g), so each step is -lr
    moved = _run("Adam", {}, [3e19, 1e20, -1.0], np.float32)
    np.testing.assert_allclose(moved, [-0.3, -0.3, 0.3], rtol=1e-6)


def test_rmse_and_r2_of_values_near_the_float64_range():
    assert metrics.rmse(np.array([3e200, 4e200]), np.zeros(2)) == pytest.approx(
        5e200 / math.sqrt(2), rel=1e-15)
    assert metrics.rmse(np.array([3e-200, 4e-200]), np.zeros(2)) == pytest.approx(
        5e-200 / math.sqrt(2), rel=1e-15)  # nor do the squares underflow
    target, prediction = np.array([1.0, 2.0, 3.1]), np.array([1.0, 2.0, 3.0])
    for scale in (1e200, 1e-200, 1.0):
        assert metrics.r2(prediction * scale, target * scale) == pytest.approx(
            r2_score(target, prediction), rel=1e-13)


def test_r2_of_a_constant_target_and_of_a_large_offset():
    target = np.full(1000, 0.1)
    # sum (y - mean y)^2 is exactly 0: R^2 is 0 for a wrong prediction (scikit-learn's rule
    # for a zero denominator), not 1 - residual / (rounding residue) = -5e26
    assert metrics.r2(target + 1e-3, target) == 0.0
    assert metrics.r2(target, target) == 1.0
    target = 1e8 + np.array([0.1, 0.2, 0.3, 0.45])
    prediction = 1e8 + np.array([0.12, 0.18, 0.33, 0.4])
    exact_target = [Fraction(float(v)) for v in target]
    mean = sum(exact_target) / len(exact_target)
    exact = 1 - (sum((Fraction(float(t)) - Fraction(float(q))) ** 2
                     for t, q in zip(target, prediction))
                 / sum((t - mean) ** 2 for t in exact_target))
    assert metrics.r2(prediction, target) == pytest.approx(float(exact), rel=1e-14)


def _exact_moments(values):
    """(mean, deviations, variance) of the float values in exact rational arithmetic."""
    values = [Fraction(float(value)) for value in values]
    mean = sum(values) / len(values)
    deviations = [value - mean for value in values]
    return mean, deviations, sum(d * d for d in deviations) / len(values)


def _exact_mean_and_std(column):
    mean, _, variance = _exact_moments(column)
    scale = Fraction(max(abs(float(value)) for value in column))  # sqrt without over/underflow
    return float(mean), float(scale) * math.sqrt(float(variance / scale ** 2))


@pytest.mark.parametrize("column", [
    np.full(1000, 0.1),                               # constant: std exactly 0
    np.array([1e200, 3e200]),                         # squares past the float64 maximum
    np.array([1e308, 1.7e308, 1.2e308]),              # even the sum overflows
    1e8 + np.array([0.1, 0.2, 0.3, 0.45]),            # a large offset beside the spread
    np.array([1e-200, 3e-200]),                       # squares below the smallest float64
], ids=["constant", "1e200", "1.7e308", "offset", "1e-200"])
def test_normalization_and_standard_scaler_statistics_are_exact(column):
    mean, std = _exact_mean_and_std(column)
    layer = nn.Normalization(1, dtype=np.float64).adapt(column[:, None])
    scaler = StandardScaler().fit(column[:, None])
    for fitted_mean, fitted_std in ((layer.mean[0], layer.std[0]),
                                    (scaler.mean[0], scaler.scale[0])):
        assert fitted_mean == pytest.approx(mean, rel=1e-15)
        if std == 0:  # a constant feature gets std 1 and maps to 0
            assert fitted_std == 1.0
        else:
            assert fitted_std == pytest.approx(std, rel=1e-12)
    if std == 0:
        np.testing.assert_array_equal(layer(annie.tensor(column[:3, None])).data, 0.0)
        np.testing.assert_array_equal(scaler.transform(column[:3, None]), 0.0)


@pytest.mark.parametrize("row, dtype, rtol", [
    (1e6 + np.array([0.1, 0.2, 0.3, 0.0]), np.float32, 1e-5),
    (np.array([1000.5, 1001.0, 1001.5, 1000.0]), np.float16, 2e-3),
    (np.r_[1001.0, np.full(63, 1000.0)], np.float16, 2e-3),
    (1e8 + np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.float64, 1e-12),
], ids=["float32 1e6", "float16 1000", "float16 one-hot", "float64 1e8"])
def test_layer_norm_keeps_the_spread_of_a_row_with_a_large_offset(row, dtype, rtol):
    x = row.astype(dtype)[None, :]
    _, deviations, variance = _exact_moments(x[0])  # of the same (rounded) inputs
    expected = np.array([float(d) for d in deviations]) / math.sqrt(float(variance) + 1e-5)
    out = F.layer_norm(annie.tensor(x), x.shape[1]).data
    assert out.dtype == dtype
    np.testing.assert_allclose(out[0].astype(np.float64), expected, rtol=rtol, atol=rtol)


def test_binary_classifier_probabilities_of_large_logits_do_not_cancel_to_zero():
    from annie.sklearn import MLPClassifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    estimator = MLPClassifier(hidden_layer_sizes=(3,), activation="identity", max_iter=50,
                              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached: no matter here
        estimator.fit(X, (X[:, 0] > 0).astype(int))
    far = np.array([[1.0, 0.0], [-1.0, 0.0]]) * 1e3  # logits of several hundred
    logits = annie.predict(estimator.model_, far.astype(np.float32))[:, 0].astype(np.float64)
    assert np.all(np.abs(logits) > 40)
    # log p(class 0) = -log(1 + e^s), log p(class 1) = -log(1 + e^-s)
    expected = np.column_stack([-np.logaddexp(0, logits), -np.logaddexp(0, -logits)])
    np.testing.assert_allclose(estimator.predict_log_proba(far), expected, rtol=1e-6)
    probabilities = estimator.predict_proba(far)
    np.testing.assert_allclose(probabilities[:, 0], np.exp(expected[:, 0]), rtol=1e-6)
    assert np.all(probabilities > 0)  # e^-s, not 1 - sigmoid(s) = 0
