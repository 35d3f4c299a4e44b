"""Activations beyond the registry: erf against math.erf, stability at +-1000, the name lookups,
the nn modules' names and defaults."""
from __future__ import annotations

import math

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import nn
from annie.errors import ConfigError, ShapeError

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu",
               "swish", "softplus", "softsign", "hard_sigmoid"]


def test_erf_matches_math_erf_to_1e15():
    x = np.concatenate([np.linspace(-7.0, 7.0, 20001), [0.0, 0.46875, -0.46875, 4.0, -4.0]])
    expected = np.array([math.erf(value) for value in x])
    assert np.max(np.abs(F.erf(x) - expected)) < 1e-15


def test_erfc_matches_math_erfc_relatively_in_the_tail():
    x = np.linspace(-6.0, 26.0, 8001)
    expected = np.array([math.erfc(value) for value in x])
    np.testing.assert_allclose(F.erfc(x), expected, rtol=2e-15, atol=0)


def test_erf_special_values_and_dtype():
    np.testing.assert_array_equal(F.erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])
    assert np.isnan(F.erf(np.array([np.nan]))[0])
    np.testing.assert_array_equal(F.erfc(np.array([np.inf, -np.inf])), [0.0, 2.0])
    assert F.erf(np.float32([0.5])).dtype == np.float32


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_finite_values_and_gradients_at_plus_minus_1000(name, dtype):
    x = annie.tensor(np.array([[-1000.0, -30.0, 0.5, 30.0, 1000.0]], dtype=dtype),
                     requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        out = F.get_activation(name)(x)  # exp(-1000) may underflow to 0; nothing may overflow
        (out * annie.tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=dtype))).sum().backward()
    assert np.all(np.isfinite(out.data)), f"{name}: {out.data}"
    assert np.all(np.isfinite(x.grad)), f"{name}: {x.grad}"


SELU_LIMIT = -F.activations.SELU_SCALE * F.activations.SELU_ALPHA
#: name -> (value at +inf, value at -inf, slope at +inf, slope at -inf): the limits
AT_INFINITY = {
    "identity": (math.inf, -math.inf, 1.0, 1.0), "sigmoid": (1.0, 0.0, 0.0, 0.0),
    "tanh": (1.0, -1.0, 0.0, 0.0), "relu": (math.inf, 0.0, 1.0, 0.0),
    "leaky_relu": (math.inf, -math.inf, 1.0, 0.01), "elu": (math.inf, -1.0, 1.0, 0.0),
    "selu": (math.inf, SELU_LIMIT, F.activations.SELU_SCALE, 0.0),
    "gelu": (math.inf, 0.0, 1.0, 0.0), "silu": (math.inf, 0.0, 1.0, 0.0),
    "softplus": (math.inf, 0.0, 1.0, 0.0), "softsign": (1.0, -1.0, 0.0, 0.0),
    "hard_sigmoid": (1.0, 0.0, 0.0, 0.0),
}


def test_the_limits_cover_every_elementwise_activation():
    assert {F.get_activation(name) for name in AT_INFINITY} == \
        {F.get_activation(name) for name in ELEMENTWISE} | {F.identity}


@pytest.mark.parametrize("name", AT_INFINITY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_values_and_gradients_at_plus_minus_infinity_are_the_limits(name, dtype):
    """f(+-inf) and f'(+-inf) are the limits, never NaN (no inf / inf, inf - inf or inf * 0),
    and equal what f gives far out (1e30: beyond any saturation)."""
    at_plus, at_minus, slope_plus, slope_minus = AT_INFINITY[name]
    x = annie.tensor(np.array([np.inf, -np.inf], dtype=dtype), requires_grad=True)
    with np.errstate(invalid="raise"):
        out = F.get_activation(name)(x)
        out.backward(np.ones(2, dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(out.data, [at_plus, at_minus], rtol=1e-6)
    np.testing.assert_allclose(x.grad, [slope_plus, slope_minus], rtol=1e-6)
    far = annie.tensor(np.array([1e30, -1e30], dtype=dtype), requires_grad=True)
    with np.errstate(over="ignore", under="ignore"):
        F.get_activation(name)(far).backward(np.ones(2, dtype))
    np.testing.assert_allclose(far.grad, x.grad, rtol=1e-6, atol=1e-30)


def test_softsign_is_the_composite_x_over_one_plus_abs_x_where_that_is_finite():
    """The fused op against the composite of ops it replaces (values and gradients, float64),
    with 0, tiny and huge inputs, and its gradient against central differences."""
    values = np.concatenate([[0.0, -0.0, 1e-300, -3e-12, 1e150, -1e300],
                             np.random.default_rng(3).normal(0, 5, 40)])
    fused, composite = (annie.tensor(values, requires_grad=True) for _ in range(2))
    out = F.softsign(fused)
    reference = composite / (composite.abs() + 1.0)
    upstream = np.linspace(-2.0, 3.0, len(values))
    out.backward(upstream)
    reference.backward(upstream)
    np.testing.assert_allclose(out.data, reference.data, rtol=1e-15, atol=0)
    # (at 1e150 the composite's (1 + |x|)^2 overflows: its gradient 0 there, the fused 1.6e-300)
    np.testing.assert_allclose(fused.grad, composite.grad, rtol=1e-14, atol=1e-299)
    assert annie.diagnostics.gradcheck(F.softsign, annie.tensor(values[6:], requires_grad=True))
    assert annie.diagnostics.gradcheck(F.softsign, [annie.tensor(values[6:], requires_grad=True)])
    assert F.softsign(annie.tensor(np.array([np.nan]))).data[0] != 0  # NaN stays NaN


def test_saturated_values_are_the_limits():
    x = annie.tensor(np.array([-1000.0, 1000.0]), requires_grad=True)
    np.testing.assert_array_equal(F.sigmoid(x).data, [0.0, 1.0])
    np.testing.assert_array_equal(F.softplus(x).data, [0.0, 1000.0])
    np.testing.assert_array_equal(F.gelu(x).data, [0.0, 1000.0])
    np.testing.assert_allclose(F.log_softmax(x).data, [-2000.0, 0.0])
    np.testing.assert_array_equal(F.softmax(x).data, [0.0, 1.0])


def test_gelu_is_the_exact_erf_form_not_the_tanh_approximation():
    x = np.array([-2.0, -0.5, 1.0, 1.5])
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(F.gelu(x).data, exact, rtol=1e-14)


def test_hard_sigmoid_is_relu6_of_x_plus_3_over_6():
    x = np.array([-4.0, -3.0, 0.0, 1.5, 3.0, 4.0])
    np.testing.assert_allclose(F.hard_sigmoid(x).data, np.clip(x + 3, 0, 6) / 6)
    assert F.hardsigmoid is F.hard_sigmoid


def test_softmax_rows_sum_to_one_and_default_axis_is_last():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    np.testing.assert_allclose(F.softmax(x).data.sum(axis=-1), np.ones((3, 4)))
    np.testing.assert_allclose(F.softmax(x, axis=1).data.sum(axis=1), np.ones((3, 5)))
    with pytest.raises(ShapeError, match="axis 3"):
        F.softmax(x, axis=3)


def test_get_activation_accepts_aliases_and_lists_valid_names_on_error():
    assert F.get_activation("ReLU") is F.relu
    assert F.get_activation("leaky-relu") is F.leaky_relu
    assert F.get_activation("swish") is F.silu
    assert F.get_activation("linear") is F.identity
    with pytest.raises(ConfigError) as info:
        F.get_activation("relu7")
    message = str(info.value)
    assert "relu7" in message and "leaky_relu" in message and "hard_sigmoid" in message


@pytest.mark.parametrize("name, cls", [
    ("identity", nn.Identity), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("relu", nn.ReLU),
    ("leaky_relu", nn.LeakyReLU), ("elu", nn.ELU), ("selu", nn.SELU), ("gelu", nn.GELU),
    ("silu", nn.SiLU), ("swish", nn.Swish), ("softplus", nn.Softplus),
    ("softsign", nn.Softsign), ("hard_sigmoid", nn.Hardsigmoid), ("softmax", nn.Softmax),
    ("log_softmax", nn.LogSoftmax)])
def test_activation_module_matches_the_function(name, cls):
    module = nn.activation_module(name)
    assert isinstance(module, cls)
    x = annie.tensor(np.random.default_rng(1).standard_normal((2, 3)))
    np.testing.assert_array_equal(module(x).data, F.get_activation(name)(x).data)
    assert module.parameters() == []


def test_module_defaults_and_aliases_follow_pytorch():
    assert nn.LeakyReLU().negative_slope == 0.01
    assert nn.ELU().alpha == 1.0
    assert (nn.Softplus().beta, nn.Softplus().threshold) == (1.0, 20.0)
    assert nn.Softmax().dim == -1 and nn.LogSoftmax().dim == -1
    assert nn.Swish is nn.SiLU and nn.HardSigmoid is nn.Hardsigmoid
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    module = nn.activation_module("LeakyReLU", negative_slope=0.3)
    assert module.negative_slope == 0.3


def test_activation_module_errors_name_the_problem():
    with pytest.raises(ConfigError, match="valid names"):
        nn.activation_module("sigmoidal")
    with pytest.raises(ConfigError, match="relu"):
        nn.activation_module("relu", alpha=2.0)
    with pytest.raises(ConfigError, match="beta"):
        nn.Softplus(beta=0.0)
