"""Initializers: bounds and standard deviations against PyTorch's formulas (large tensors, fixed
seed), gains, orthogonality, repeatability and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import annie
from annie import init
from annie.errors import ConfigError, ShapeError

FAN_OUT, FAN_IN = 300, 500


def _weight(shape=(FAN_OUT, FAN_IN), dtype=np.float64):
    return annie.tensor(np.empty(shape, dtype=dtype), requires_grad=True)


def test_constant_fills():
    assert np.all(init.zeros_(_weight((3, 2))).data == 0)
    assert np.all(init.ones_(_weight((3, 2))).data == 1)
    assert np.all(init.constant_(_weight((3, 2)), 0.3).data == 0.3)


@pytest.mark.parametrize("initializer, bound", [
    (lambda w: init.uniform_(w, -0.2, 0.5), None),
    (init.xavier_uniform_, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda w: init.xavier_uniform_(w, gain=2.0), 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)), math.sqrt(1 / FAN_IN)),
    (lambda w: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2) * math.sqrt(3 / FAN_OUT)),
    (init.lecun_uniform_, math.sqrt(3 / FAN_IN)),
])
def test_uniform_initializers_reach_but_do_not_pass_their_bound(initializer, bound):
    data = initializer(_weight()).data
    if bound is None:
        assert data.min() >= -0.2 and data.max() <= 0.5 and data.min() < -0.199
        return
    assert np.abs(data).max() <= bound
    assert np.abs(data).max() > 0.999 * bound
    assert abs(data.std() - bound / math.sqrt(3)) < 0.01 * bound


@pytest.mark.parametrize("initializer, std", [
    (lambda w: init.normal_(w, 1.0, 0.5), 0.5),
    (init.xavier_normal_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.kaiming_normal_, math.sqrt(2 / FAN_IN)),
    (lambda w: init.kaiming_normal_(w, nonlinearity="tanh"), 5 / 3 / math.sqrt(FAN_IN)),
    (init.lecun_normal_, math.sqrt(1 / FAN_IN)),
])
def test_normal_initializers_have_their_std(initializer, std):
    data = initializer(_weight()).data
    assert abs(data.std() - std) < 0.01 * std  # 150,000 draws: relative error ~ 0.2%


def test_aliases_are_the_same_functions():
    assert init.glorot_uniform_ is init.xavier_uniform_
    assert init.he_normal_ is init.kaiming_normal_


def test_calculate_gain_matches_pytorch_table():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ConfigError, match="swishy"):
        init.calculate_gain("swishy")


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    w = init.orthogonal_(_weight(shape), gain=1.5).data.reshape(shape[0], -1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(gram.shape[0]), atol=1e-12)


def test_initializers_keep_dtype_and_are_repeatable():
    annie.manual_seed(4)
    first = init.xavier_uniform_(_weight((3, 4), np.float32)).data.copy()
    annie.manual_seed(4)
    second = init.xavier_uniform_(_weight((3, 4), np.float32)).data
    assert second.dtype == np.float32
    np.testing.assert_array_equal(first, second)


def test_initializer_errors():
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.xavier_uniform_(_weight((5,)))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.orthogonal_(_weight((5,)))
    with pytest.raises(ConfigError, match="mode"):
        init.kaiming_uniform_(_weight((3, 3)), mode="fan_avg")
    with pytest.raises(ConfigError, match="b=0"):
        init.uniform_(_weight((3, 3)), 1.0, 0.0)
    with pytest.raises(ConfigError, match="std"):
        init.normal_(_weight((3, 3)), std=-1.0)


@pytest.mark.parametrize("shape", [(4, 4), (2, 5), (5, 2), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eye_is_the_identity_with_min_rows_cols_ones(shape, dtype):
    w = init.eye_(annie.tensor(np.full(shape, 7.0, dtype=dtype)))
    assert w.dtype == dtype
    rows, cols = np.indices(shape)
    np.testing.assert_array_equal(w.data, (rows == cols).astype(dtype))
    assert w.data.sum() == min(shape)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()])
def test_eye_refuses_other_than_two_dimensions(shape):
    with pytest.raises(ShapeError, match="eye_: only 2-D"):
        init.eye_(annie.tensor(np.zeros(shape)))
    with pytest.raises(ValueError):  # as PyTorch, whose error is a ValueError
        init.eye_(annie.tensor(np.zeros(shape)))


def test_eye_matches_pytorch():
    torch = pytest.importorskip("torch")
    for shape in [(3, 3), (2, 6), (6, 2)]:
        expected = torch.nn.init.eye_(torch.empty(shape)).numpy()
        np.testing.assert_array_equal(init.eye_(_weight(shape, np.float32)).data, expected)
    for shape in [(3,), (2, 2, 2)]:
        with pytest.raises(ValueError):
            torch.nn.init.eye_(torch.empty(shape))
        with pytest.raises(ValueError):
            init.eye_(_weight(shape))
