"""Numerical edge cases, by class, each against a value computed independently (closed form,
the limit, float64 finite differences or a float64 reference of the formula):

- a zero weight times an infinite log term is 0 (masked logits of -inf are ordinary input);
- norms, roots of mean squares and variances do not overflow where the result is representable;
- derivatives at removable singularities are the derivative's value (its limit), not 0 * inf;
- a variance under a square root is never negative (no catastrophic cancellation).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import losses, nn, optim
from annie.nn.utils import clip_grad_norm_

INF = np.inf


def _leaf(values, dtype=np.float64):
    return annie.tensor(np.array(values, dtype=dtype), requires_grad=True)


def _softplus(x):
    """log(1 + e^x) in float64, the textbook form (x finite)."""
    return np.log1p(np.exp(-abs(x))) + max(x, 0.0)


# ----- 1. a zero weight removes its log term -------------------------------------------------------
def test_bce_with_logits_masked_logits_cost_nothing():
    logits = _leaf([INF, -INF])
    loss = losses.binary_cross_entropy_with_logits(logits, np.array([1.0, 0.0]))
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(logits.grad, [0.0, 0.0])


def test_bce_with_logits_batch_mean_with_a_masked_row():
    logits = _leaf([[INF, 0.5], [-INF, -2.0]])
    target = np.array([[1.0, 1.0], [0.0, 0.0]])
    loss = losses.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    expected = (_softplus(-0.5) + _softplus(-2.0)) / 4  # the two masked terms are 0
    assert loss.item() == pytest.approx(expected, rel=1e-15)
    sigmoid = 1 / (1 + np.exp(-np.array([0.5, -2.0])))
    np.testing.assert_allclose(logits.grad, [[0.0, (sigmoid[0] - 1) / 4], [0.0, sigmoid[1] / 4]])


@pytest.mark.parametrize("pos_weight", [0.0, 0.5, 3.0])
def test_bce_with_logits_pos_weight_and_weight_with_infinite_logits(pos_weight):
    logits = _leaf([INF, -INF, 1.0, -INF])
    target = annie.tensor(np.array([1.0, 0.0, 1.0, 1.0]), requires_grad=True)
    weight = np.array([1.0, 1.0, 2.0, 0.0])  # the last, infinite, term is weighted out
    loss = losses.binary_cross_entropy_with_logits(logits, target, reduction="none",
                                                   weight=weight, pos_weight=np.array([pos_weight]))
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 2 * pos_weight * _softplus(-1.0), 0.0],
                               rtol=1e-15)
    assert np.all(np.isfinite(logits.grad))
    assert logits.grad[0] == logits.grad[1] == logits.grad[3] == 0.0
    # dL/dy = w (pos_weight softplus(-x) - softplus(x)): -inf at x = +inf, 0 where w = 0
    assert target.grad[0] == -INF and target.grad[3] == 0.0
    assert target.grad[2] == pytest.approx(2 * (pos_weight * _softplus(-1.0) - _softplus(1.0)))


def test_bce_with_logits_a_wrong_infinite_logit_is_an_infinite_loss():
    loss = losses.binary_cross_entropy_with_logits(np.array([INF, -INF]), np.array([0.0, 0.3]),
                                                   reduction="none")
    np.testing.assert_array_equal(loss.data, [INF, INF])


def _log_softmax(row):
    """log softmax over the finite entries of a row (-inf elsewhere), float64."""
    finite = np.isfinite(row)
    shifted = row[finite] - row[finite].max()
    out = np.full(row.shape, -INF)
    out[finite] = shifted - np.log(np.exp(shifted).sum())
    return out


MASKED = np.array([[0.5, -INF, 2.0, -1.0], [-INF, 1.0, 0.0, -INF], [-INF, -INF, -INF, -INF]])


def test_cross_entropy_masked_classes_and_ignored_rows():
    logits = _leaf(MASKED)
    labels = np.array([2, 1, -100])  # the all-masked row is ignored (padding)
    loss = losses.cross_entropy(logits, labels)
    loss.backward()
    expected = -(_log_softmax(MASKED[0])[2] + _log_softmax(MASKED[1])[1]) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    for row, label in ((0, 2), (1, 1)):
        probabilities = np.exp(_log_softmax(MASKED[row]))
        probabilities[label] -= 1
        np.testing.assert_allclose(logits.grad[row], probabilities / 2, atol=1e-16)
    np.testing.assert_array_equal(logits.grad[2], 0.0)


def test_cross_entropy_zero_class_weight_on_a_masked_class_with_label_smoothing():
    weight = np.array([1.0, 0.0, 2.0, 0.5])  # class 1 is masked in row 0 and weighted 0
    smoothing, classes = 0.2, 4
    logits = _leaf(MASKED[:1])
    loss = losses.cross_entropy(logits, np.array([2]), weight=weight, label_smoothing=smoothing,
                                reduction="sum")
    loss.backward()
    log_p = _log_softmax(MASKED[0])
    target = np.full(classes, smoothing / classes)
    target[2] += 1 - smoothing
    kept = weight > 0  # the sum over the classes that count, taken on them alone
    expected = -(weight[kept] * target[kept] * log_p[kept]).sum()
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    assert np.all(np.isfinite(logits.grad)) and logits.grad[0, 1] == 0.0


def test_cross_entropy_soft_targets_with_zero_probability_on_masked_classes():
    target = np.array([[0.25, 0.0, 0.75, 0.0], [0.0, 0.5, 0.5, 0.0]])
    logits = _leaf(MASKED[:2])
    target_tensor = annie.tensor(target, requires_grad=True)
    loss = losses.cross_entropy(logits, target_tensor)
    loss.backward()
    terms = []
    for row in (0, 1):
        kept = target[row] > 0
        terms.append(-(target[row][kept] * _log_softmax(MASKED[row])[kept]).sum())
    assert loss.item() == pytest.approx(np.mean(terms), rel=1e-14)
    assert np.all(np.isfinite(logits.grad))
    # dL/dq_c = -log p_c / N: +inf for a masked class (its probability is 0), finite elsewhere
    assert target_tensor.grad[0, 1] == INF and np.isfinite(target_tensor.grad[0, 0])


def test_nll_zero_weight_and_ignored_rows_on_log_zero():
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.array([[0.5, 0.0, 0.5], [0.0, 0.25, 0.75], [0.2, 0.3, 0.5]]))
    prediction = _leaf(log_probs)
    loss = losses.nll_loss(prediction, np.array([1, 0, 2]), weight=np.array([0.0, 1.0, 1.0]),
                           reduction="sum")
    loss.backward()  # row 0: label 1 (log 0) with weight 1: a true infinity
    assert loss.item() == INF
    prediction = _leaf(log_probs)
    loss = losses.nll_loss(prediction, np.array([-100, 0, 2]), weight=np.array([0.0, 1.0, 1.0]))
    loss.backward()  # row 0 ignored, row 1's label (log 0) weighted 0: only row 2 counts
    assert loss.item() == pytest.approx(-np.log(0.5), rel=1e-15)
    np.testing.assert_array_equal(prediction.grad, [[0, 0, 0], [0, 0, 0], [0, 0, -1.0]])


def test_kl_divergence_zero_target_where_prediction_is_zero():
    prediction = _leaf([[0.0, 0.5, 0.5]])
    loss = losses.kl_divergence(prediction, np.array([[0.0, 0.25, 0.75]]))
    loss.backward()
    expected = 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(prediction.grad, [[0.0, -0.5, -1.5]])


def test_fit_with_masked_logits_is_not_stopped_as_nan():
    class MaskedScores(nn.Module):
        """A linear score, with the second output masked to -inf (a forbidden label)."""

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            return self.linear(x) + np.array([0.0, -np.inf], np.float32)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3)).astype(np.float32)
    y = np.stack([(X[:, 0] > 0), np.zeros(32, bool)], axis=1).astype(np.float32)
    annie.manual_seed(0)
    model = MaskedScores()
    history = annie.fit(model, losses.binary_cross_entropy_with_logits,
                        optim.SGD(model.parameters(), lr=0.5), X, y, epochs=3, batch_size=8,
                        verbose=0)
    assert len(history.history["loss"]) == 3
    assert all(math.isfinite(value) for value in history.history["loss"])


# ----- 2. norms and variances without overflow ----------------------------------------------------------
def _param_with_grad(grad):
    param = nn.Parameter(np.zeros_like(grad))
    param.grad = grad.copy()
    return param


def test_clip_grad_norm_float32_gradient_of_1e19():
    param = _param_with_grad(np.array([3e19, 4e19], np.float32))
    total = clip_grad_norm_([param], max_norm=1.0)
    assert total == pytest.approx(5e19, rel=1e-6)
    np.testing.assert_allclose(param.grad, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("grads, norm_type, expected", [
    ([[1e13, 1e13]], 3.0, 2 ** (1 / 3) * 1e13),
    ([[3e19], [4e19]], 2.0, 5e19),                      # across parameters
    ([[3e-30, 4e-30]], 2.0, 5e-30),                     # squares underflow in float32
    ([[2e30, -2e30, 1e30]], 1.0, 5e30),
    ([[3e25, 4e25]], 0.5, (math.sqrt(3e25) + math.sqrt(4e25)) ** 2),
    ([[1e30, -3e30]], math.inf, 3e30),
])
def test_clip_grad_norm_float32_every_norm_type(grads, norm_type, expected):
    params = [_param_with_grad(np.array(grad, np.float32)) for grad in grads]
    exact = [np.array(grad, np.float32).astype(np.float64) for grad in grads]
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-6)
    coefficient = min(1.0, 1.0 / (expected + 1e-6))
    for param, grad in zip(params, exact):
        np.testing.assert_allclose(param.grad, grad * coefficient, rtol=1e-5)


def test_fit_clips_a_float32_gradient_whose_squares_overflow():
    X = np.array([[3.0, 4.0]], np.float32)
    model = nn.Linear(2, 1, bias=False)
    before = model.weight.data.copy()

    def huge(prediction, target):
        """A loss whose gradient is 1e19 * x: norm 5e19, its square beyond float32."""
        return (prediction * 1e19).sum()

    history = annie.fit(model, huge, optim.SGD(model.parameters(), lr=0.1), X,
                        np.zeros((1, 1), np.float32), epochs=1, batch_size=1,
                        clip_grad_norm=1.0, verbose=0, check_finite=False)
    assert history.history["grad_norm"][0] == pytest.approx(5e19, rel=1e-6)
    np.testing.assert_allclose(before - model.weight.data, [[0.06, 0.08]], rtol=1e-5)


def test_clip_grad_norm_float64_beyond_float64_squares():
    param = _param_with_grad(np.array([3e200, 4e200]))
    assert clip_grad_norm_([param], max_norm=10.0) == pytest.approx(5e200, rel=1e-14)
    np.testing.assert_allclose(param.grad, [6.0, 8.0], rtol=1e-14)


def test_rmse_float32_errors_of_1e20():
    prediction = _leaf([1e20, -1e20, 1e20, -1e20], np.float32)
    loss = losses.rmse(prediction, np.zeros(4, np.float32))
    loss.backward()
    assert loss.item() == pytest.approx(1e20, rel=1e-6)
    np.testing.assert_allclose(prediction.grad, [0.25, -0.25, 0.25, -0.25], rtol=1e-6)
    total = losses.rmse(np.array([3e19, 4e19], np.float32), np.zeros(2, np.float32),
                        reduction="sum")
    assert total.item() == pytest.approx(5e19, rel=1e-6)


def _layer_norm64(x, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)


def test_layer_norm_float32_rows_of_1e20_and_near_the_float32_maximum():
    rows = np.array([[1e20, -1e20, 3e20, 0.0], [3e38, 3e38, -1e38, 2e38], [1.0, 2.0, 3.0, 4.0]],
                    np.float32)
    x = annie.tensor(rows, requires_grad=True)
    weight = np.array([[1.0, -2.0, 0.5, 3.0]] * 3, np.float32)
    out = F.layer_norm(x, 4)
    (out * weight).sum().backward()
    exact = rows.astype(np.float64)
    np.testing.assert_allclose(out.data, _layer_norm64(exact), rtol=1e-5, atol=1e-6)
    # float64 central differences of sum(weight * layer_norm(x)), step relative to each row
    numeric = np.zeros_like(exact)
    for i, j in np.ndindex(exact.shape):
        step = 1e-6 * np.abs(exact[i]).max()
        plus, minus = exact.copy(), exact.copy()
        plus[i, j] += step
        minus[i, j] -= step
        numeric[i, j] = ((_layer_norm64(plus[i]) - _layer_norm64(minus[i])) @ weight[i]) / (2 * step)
    for row in range(len(rows)):
        np.testing.assert_allclose(x.grad[row], numeric[row], rtol=1e-3,
                                   atol=1e-3 * np.abs(numeric[row]).max())


def test_division_gradient_where_the_divisor_squared_overflows():
    a, b = _leaf([1e20, 6e19], np.float32), _leaf([1e20, 2e19], np.float32)
    (a / b).sum().backward()
    np.testing.assert_allclose(b.grad, [-1e20 / 1e40, -6e19 / 4e38], rtol=1e-6)
    np.testing.assert_allclose(a.grad, [1e-20, 5e-20], rtol=1e-6)


# ----- 5. removable singularities ----------------------------------------------------------------------
def test_pow_with_exponent_zero_at_zero():
    x = _leaf([0.0, 2.0])
    (x ** 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


@pytest.mark.parametrize("coefficients", [(1, 1, 1), (2, -3, 0, 5), (0, 0, 4, 1, -1)])
def test_polynomial_derivative_at_zero(coefficients):
    x = _leaf([0.0, 0.5])
    total = None
    for power, coefficient in enumerate(coefficients):
        term = coefficient * x ** float(power)
        total = term if total is None else total + term
    total.sum().backward()
    derivative = [sum(k * c * point ** (k - 1) for k, c in enumerate(coefficients) if k)
                  for point in (0.0, 0.5)]
    np.testing.assert_allclose(x.grad, derivative, rtol=1e-15)
    assert x.grad[0] == coefficients[1]


def test_pow_with_tensor_exponent_at_zero_base():
    base, exponent = _leaf([0.0, 0.0, 0.0]), _leaf([0.0, 1.0, 2.0])
    (base ** exponent).sum().backward()
    np.testing.assert_array_equal(base.grad, [0.0, 1.0, 0.0])  # d/da a^b at a = 0
    np.testing.assert_array_equal(exponent.grad, [0.0, 0.0, 0.0])  # 0^b = 0 for b > 0


@pytest.mark.parametrize("activation, at_plus, at_minus", [(F.gelu, 1.0, 0.0),
                                                           (F.silu, 1.0, 0.0)])
def test_gelu_and_silu_at_infinity_take_their_limits(activation, at_plus, at_minus):
    for dtype in (np.float32, np.float64):
        x = _leaf([INF, -INF, 60.0, -60.0], dtype)
        out = activation(x)
        out.backward(np.ones(4, dtype))
        np.testing.assert_array_equal(out.data[:2], [INF, 0.0])
        np.testing.assert_array_equal(x.grad[:2], [at_plus, at_minus])
        # and the finite points far out agree with the limits
        np.testing.assert_allclose(x.grad[2:], [at_plus, at_minus], atol=1e-12)


# ----- 6. a variance is never negative --------------------------------------------------------------------
def _rmsprop_reference(gradients, lr, alpha, eps):
    """PyTorch's centered RMSprop, float64: v - g_avg^2 under the root."""
    param = square_avg = grad_avg = 0.0
    path = []
    for g in gradients:
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        grad_avg = alpha * grad_avg + (1 - alpha) * g
        param -= lr * g / (math.sqrt(square_avg - grad_avg * grad_avg) + eps)
        path.append(param)
    return np.array(path)


def test_centered_rmsprop_float32_gradients_that_barely_vary():
    gradients = np.array([1 + 1e-5 * (t % 11) for t in range(200)], np.float32)
    param = nn.Parameter(np.zeros(1, np.float32))
    optimizer = optim.RMSprop([param], lr=1e-3, alpha=0.9, centered=True)
    path = []
    for g in gradients:
        param.grad = np.array([g], np.float32)
        optimizer.step()
        path.append(float(param.data[0]))
        assert optimizer.state[param]["grad_var"][0] >= 0
    assert all(math.isfinite(value) for value in path)
    reference = _rmsprop_reference(gradients.astype(np.float64), 1e-3, 0.9, 1e-8)
    # the variance is ~1e-10 of a gradient near 1: float32 resolves it to about 1e-4
    np.testing.assert_allclose(path, reference, rtol=1e-3)


def test_centered_rmsprop_variance_state_equals_the_difference_it_replaces():
    rng = np.random.default_rng(3)
    param = nn.Parameter(np.zeros(5))
    optimizer = optim.RMSprop([param], lr=1e-2, alpha=0.8, centered=True, momentum=0.3)
    for _ in range(30):
        param.grad = rng.standard_normal(5) + 2.0
        optimizer.step()
    state = optimizer.state[param]
    np.testing.assert_allclose(state["grad_var"], state["square_avg"] - state["grad_avg"] ** 2,
                               rtol=1e-10)


def test_centered_rmsprop_resumes_from_a_state_without_grad_var():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(3) for _ in range(20)]
    params = [nn.Parameter(np.ones(3)) for _ in range(2)]
    optimizers = [optim.RMSprop([p], lr=0.01, centered=True) for p in params]
    for step, grad in enumerate(grads):
        if step == 10:  # the second continues from PyTorch's keys only
            saved = optimizers[1].state_dict()
            del saved["state"][0]["grad_var"]
            optimizers[1] = optim.RMSprop([params[1]], lr=0.01, centered=True)
            optimizers[1].load_state_dict(saved)
        for param, optimizer in zip(params, optimizers):
            param.grad = grad.copy()
            optimizer.step()
    np.testing.assert_allclose(params[1].data, params[0].data, rtol=1e-12)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "Adadelta", "Adagrad", "RMSprop"])
def test_second_moments_stay_non_negative_and_finite_in_float32(name):
    param = nn.Parameter(np.zeros(3, np.float32))
    optimizer = getattr(optim, name)([param])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no invalid sqrt anywhere
        for t in range(300):
            param.grad = np.full(3, 1 + 1e-6 * (t % 7), np.float32)
            optimizer.step()
    assert np.all(np.isfinite(param.data))
    for value in optimizer.state[param].values():
        if isinstance(value, np.ndarray) and value is not None:
            assert np.all(np.isfinite(value))


def test_layer_norm_of_a_nearly_constant_float32_row():
    # E[x^2] - E[x]^2 would be 1e8 - 1e8 in float32 (ulp 8): zero or negative; the variance
    # of the deviations is 0.0547 (every value here is exact in float32)
    row = np.float32(1e4) + np.array([[0.0, 0.25, 0.5, -0.25]], np.float32)
    out = F.layer_norm(annie.tensor(row), 4, eps=1e-12)
    np.testing.assert_allclose(out.data, _layer_norm64(row.astype(np.float64), eps=1e-12),
                               rtol=1e-5)
