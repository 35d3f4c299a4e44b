"""Gradient clipping against closed forms (and PyTorch when installed)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import annie
from annie.errors import ConfigError, NumericalError
from annie.nn import Parameter
from annie.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(dtype=np.float64) -> list[Parameter]:
    grads = [np.array([[3.0, -4.0], [0.0, 12.0]]), np.array([-84.0]), np.array([0.5, -0.5, 2.0])]
    params = []
    for grad in grads:
        param = Parameter(np.zeros_like(grad, dtype=dtype))
        param.grad = grad.astype(dtype)
        params.append(param)
    return params


def test_l2_norm_is_returned_and_gradients_scaled_to_max_norm():
    params = params_with_grads()
    before = [p.grad.copy() for p in params]
    expected_total = math.sqrt(9 + 16 + 144 + 84 ** 2 + 0.25 + 0.25 + 4)
    total = clip_grad_norm_(params, max_norm=10.0)
    assert isinstance(total, float)
    assert total == pytest.approx(expected_total, rel=1e-15)
    coefficient = 10.0 / (expected_total + 1e-6)
    for param, grad in zip(params, before):
        np.testing.assert_allclose(param.grad, grad * coefficient, rtol=1e-15)
    new_norm = math.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params))
    assert new_norm == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize("norm_type, expected", [
    (math.inf, 84.0),
    (1.0, 3 + 4 + 12 + 84 + 0.5 + 0.5 + 2),
    (3.0, (27 + 64 + 1728 + 84 ** 3 + 0.125 + 0.125 + 8) ** (1 / 3)),
])
def test_other_norm_types(norm_type, expected):
    params = params_with_grads()
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, max_norm=2.0, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-14)
    for param, grad in zip(params, before):
        np.testing.assert_allclose(param.grad, grad * 2.0 / (expected + 1e-6), rtol=1e-14)


def test_no_change_below_max_norm():
    params = params_with_grads()
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, max_norm=1000.0)
    assert total < 1000.0
    for param, grad in zip(params, before):
        np.testing.assert_array_equal(param.grad, grad)
    assert clip_grad_norm_(params, 1000.0, norm_type=float("inf")) == 84.0


def test_single_tensor_generator_and_missing_grads():
    params = params_with_grads()
    params.append(Parameter(np.ones(3)))  # no gradient: ignored
    assert clip_grad_norm_(params[0], max_norm=100.0) == pytest.approx(13.0)
    assert clip_grad_norm_((p for p in params), max_norm=1e9) == pytest.approx(
        math.sqrt(169 + 84 ** 2 + 4.5))
    assert params[-1].grad is None
    assert clip_grad_norm_([Parameter(np.ones(2))], max_norm=1.0) == 0.0


def test_float32_gradients_stay_float32():
    params = params_with_grads(np.float32)
    clip_grad_norm_(params, max_norm=1.0)
    clip_grad_value_(params, 0.01)
    assert all(p.grad.dtype == np.float32 for p in params)


def test_nonfinite_norm():
    params = params_with_grads()
    params[1].grad[0] = np.inf
    with pytest.raises(NumericalError, match="inf"):
        clip_grad_norm_(params, max_norm=1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(params, max_norm=1.0))


def test_clip_grad_value_clamps_elementwise():
    params = params_with_grads()
    before = [p.grad.copy() for p in params]
    assert clip_grad_value_(params, 1.5) is None
    for param, grad in zip(params, before):
        np.testing.assert_array_equal(param.grad, np.minimum(np.maximum(grad, -1.5), 1.5))


@pytest.mark.parametrize("call, message", [
    (lambda ps: clip_grad_norm_(ps, max_norm=-1.0), "max_norm must be >= 0, got -1.0"),
    (lambda ps: clip_grad_norm_(ps, max_norm="1"), "max_norm must be a real number"),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=0), "norm_type must be > 0"),
    (lambda ps: clip_grad_norm_([np.ones(2)], 1.0), r"parameters\[0\] must be a Tensor"),
    (lambda ps: clip_grad_value_(ps, -0.5), "clip_value must be a number >= 0, got -0.5"),
    (lambda ps: clip_grad_value_(ps, None), "clip_value must be a number"),
])
def test_invalid_arguments(call, message):
    with pytest.raises(ConfigError, match=message):
        call(params_with_grads())


def test_nn_utils_is_reachable_from_annie():
    assert annie.nn.utils.clip_grad_norm_ is clip_grad_norm_


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_matches_pytorch(norm_type):
    torch = pytest.importorskip("torch")
    params = params_with_grads()
    torch_params = []
    for param in params:
        tensor = torch.zeros(param.data.shape, dtype=torch.float64, requires_grad=True)
        tensor.grad = torch.from_numpy(param.grad.copy())
        torch_params.append(tensor)
    expected = torch.nn.utils.clip_grad_norm_(torch_params, max_norm=3.0, norm_type=norm_type)
    total = clip_grad_norm_(params, max_norm=3.0, norm_type=norm_type)
    assert total == pytest.approx(float(expected), rel=1e-14)
    for param, tensor in zip(params, torch_params):
        np.testing.assert_allclose(param.grad, tensor.grad.numpy(), rtol=1e-14)
    torch.nn.utils.clip_grad_value_(torch_params, 0.2)
    clip_grad_value_(params, 0.2)
    for param, tensor in zip(params, torch_params):
        np.testing.assert_array_equal(param.grad, tensor.grad.numpy())
