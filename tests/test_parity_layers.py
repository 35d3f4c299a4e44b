"""Parity with PyTorch for the activations and the basic layers: always against the committed
fixtures (tests/fixtures/activations.npz, layers.npz), and live when PyTorch is installed.

A layer's PyTorch state_dict, converted to NumPy, loads unchanged into the annie twin, which must
then give PyTorch's outputs and gradients (input and every parameter)."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import annie
from annie import functional as F
from conftest import load_fixture

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
RTOL, ATOL = 1e-10, 1e-12
# PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64; annie
# uses the exact 1/6, so PyTorch's gradient is rescaled by that rounding before comparing.
HARDSIGMOID_GRAD_CORRECTION = (1.0 / 6.0) / float(np.float32(1.0 / 6.0))


def _generator(area: str):
    spec = importlib.util.spec_from_file_location(f"gen_{area}", FIXTURES / f"gen_{area}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_activations = _generator("activations")
gen_layers = _generator("layers")


def _live(area: str) -> dict:
    pytest.importorskip("torch")
    return (gen_activations if area == "activations" else gen_layers).generate()


def check_activation(arrays: dict, case: str) -> None:
    name, options, two_d = gen_activations.CASES[case]
    x = annie.tensor(arrays["x2d" if two_d else "x"].copy(), requires_grad=True)
    out = F.get_activation(name)(x, **options)
    np.testing.assert_allclose(out.data, arrays[f"{case}.value"], rtol=RTOL, atol=ATOL,
                               err_msg=f"{case} value")
    out.backward(arrays["upstream2d" if two_d else "upstream"])
    expected_grad = arrays[f"{case}.grad"]
    if name == "hard_sigmoid":
        expected_grad = expected_grad * HARDSIGMOID_GRAD_CORRECTION
    np.testing.assert_allclose(x.grad, expected_grad, rtol=RTOL, atol=ATOL,
                               err_msg=f"{case} gradient")


def check_layer(arrays: dict, model_name: str) -> None:
    prefix = f"{model_name}.state."
    state = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
    model = gen_layers.build_annie(model_name)
    model.load_state_dict(state)  # strict: the names and shapes are PyTorch's
    x = arrays[f"{model_name}.x"]
    is_float = x.dtype.kind == "f"
    inputs = annie.tensor(x.copy(), requires_grad=True) if is_float else x
    out = model(inputs)
    np.testing.assert_allclose(out.data, arrays[f"{model_name}.out"], rtol=RTOL, atol=ATOL,
                               err_msg=f"{model_name} output")
    out.backward(arrays[f"{model_name}.upstream"])
    if is_float:
        np.testing.assert_allclose(inputs.grad, arrays[f"{model_name}.grad_x"], rtol=RTOL,
                                   atol=ATOL, err_msg=f"{model_name} input gradient")
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, arrays[f"{model_name}.grad.{name}"], rtol=RTOL,
                                   atol=ATOL, err_msg=f"{model_name} gradient of {name}")


@pytest.mark.parametrize("case", sorted(gen_activations.CASES))
def test_activation_matches_pytorch_fixture(case):
    check_activation(load_fixture("activations"), case)


@pytest.mark.parametrize("model_name", sorted(gen_layers.MODELS))
def test_layer_matches_pytorch_fixture(model_name):
    check_layer(load_fixture("layers"), model_name)


def test_fixtures_cover_every_case():
    activations, layers = load_fixture("activations"), load_fixture("layers")
    assert all(f"{case}.grad" in activations for case in gen_activations.CASES)
    assert all(f"{name}.out" in layers for name in gen_layers.MODELS)


@pytest.fixture(scope="module")
def live_activations():
    return _live("activations")


@pytest.fixture(scope="module")
def live_layers():
    return _live("layers")


@pytest.mark.parametrize("case", sorted(gen_activations.CASES))
def test_activation_matches_live_pytorch(case, live_activations):
    check_activation(live_activations, case)


@pytest.mark.parametrize("model_name", sorted(gen_layers.MODELS))
def test_layer_matches_live_pytorch(model_name, live_layers):
    check_layer(live_layers, model_name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_modules_match_live_pytorch_modules(dtype):
    torch = pytest.importorskip("torch")
    from annie import nn
    pairs = [(nn.GELU(), torch.nn.GELU()), (nn.Softplus(2.0, 3.0), torch.nn.Softplus(2.0, 3.0)),
             (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)), (nn.ELU(0.7), torch.nn.ELU(0.7)),
             (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.SELU(), torch.nn.SELU()),
             (nn.Softsign(), torch.nn.Softsign()), (nn.SiLU(), torch.nn.SiLU()),
             (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
             (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)), (nn.Flatten(), torch.nn.Flatten())]
    x = np.random.default_rng(0).normal(0, 3, (4, 6)).astype(dtype)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for ours, theirs in pairs:
        expected = theirs(torch.tensor(x)).numpy()
        got = ours(annie.tensor(x)).data
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, expected, err_msg=type(ours).__name__, **tolerance)
