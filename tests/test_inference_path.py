"""The no-graph paths give the same values as the recording paths: ``Function.inference`` (ops
run without a ctx when nothing needs a gradient) and ``Module.forward_array`` (Sequential under
``no_grad()`` runs layers on raw arrays). Each value is also checked against NumPy directly."""
from __future__ import annotations

import re

import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import NumericalError, ShapeError
from annie.functional import activations as F
from annie.tensor import Function
from registry import all_cases

CASES = all_cases()


def _outputs(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _run_case(case, dtype, requires_grad: bool) -> tuple:
    arrays = case.make_inputs(np.random.default_rng(99), np.dtype(dtype))
    inputs = [annie.tensor(np.asarray(a).copy(), requires_grad=requires_grad)
              if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    return _outputs(case.fn(*inputs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_registry_case_gives_the_same_values_without_a_graph(case, dtype):
    recorded = _run_case(case, dtype, requires_grad=True)
    with annie.no_grad():
        plain = _run_case(case, dtype, requires_grad=True)
    assert len(plain) == len(recorded)
    for out_plain, out_recorded in zip(plain, recorded):
        assert out_plain._ctx is None, case.name  # (identity hands back its input itself)
        assert out_plain.dtype == out_recorded.dtype, case.name
        np.testing.assert_array_equal(out_plain.data, out_recorded.data, err_msg=case.name)


def _function_classes_with_inference() -> list[type]:
    found, stack = [], [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__dict__.get("inference") is not None:
            found.append(cls)
    return found


def test_activations_define_inference():
    names = {cls.__name__ for cls in _function_classes_with_inference()}
    assert {"ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Hardsigmoid"} <= names


@pytest.mark.parametrize("name, apply, reference", [
    ("relu", F.relu, lambda x: np.where(x > 0, x, 0.0)),
    ("sigmoid", F.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x))),
    ("tanh", F.tanh, np.tanh),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("hard_sigmoid", F.hard_sigmoid, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6),
])
def test_inference_makes_no_ctx_and_matches_numpy(name, apply, reference, monkeypatch):
    x = np.random.default_rng(0).standard_normal((4, 6)) * 4
    function_class = {"relu": F.ReLU, "sigmoid": F.Sigmoid, "tanh": F.Tanh,
                      "leaky_relu": F.LeakyReLU, "hard_sigmoid": F.Hardsigmoid}[name]

    def no_forward(ctx, *arrays, **options):
        raise AssertionError(f"{name}: forward (which saves for backward) ran without a graph")

    monkeypatch.setattr(function_class, "forward", no_forward)
    out = apply(annie.tensor(x))  # no input requires grad: the inference path
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12, atol=1e-15)
    with annie.no_grad():
        out = apply(annie.tensor(x, requires_grad=True))
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12, atol=1e-15)


def test_recording_still_saves_and_differentiates():
    x = annie.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    y = F.relu(x)
    assert y._ctx is not None and y.requires_grad
    y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0])


def _mlp_layers() -> list:
    return [nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8),
            nn.Sigmoid(), nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Identity(), nn.Hardsigmoid(),
            nn.Linear(8, 3)]


def _numpy_mlp(model, x):
    activations = {nn.ReLU: lambda h: np.maximum(h, 0), nn.Tanh: np.tanh,
                   nn.Sigmoid: lambda h: 1 / (1 + np.exp(-h)),
                   nn.LeakyReLU: lambda h: np.where(h > 0, h, 0.1 * h), nn.Identity: lambda h: h,
                   nn.Hardsigmoid: lambda h: np.clip(h / 6 + 0.5, 0, 1), nn.ELU: None}
    for layer in model:
        if isinstance(layer, nn.Linear):
            x = x @ layer.weight.data.T + layer.bias.data
        elif isinstance(layer, nn.ELU):
            x = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
        elif isinstance(layer, nn.Sequential):
            x = _numpy_mlp(layer, x)
        else:
            x = activations[type(layer)](x)
    return x


@pytest.mark.parametrize("shape", [(1, 6), (5, 6), (6,), (2, 3, 6)], ids=str)
@pytest.mark.parametrize("layout", ["arrays", "elu_in_middle", "nested", "elu_first"])
def test_sequential_without_graph_equals_with_graph(shape, layout):
    layers = _mlp_layers()
    if layout == "elu_in_middle":  # a layer with no array path: the rest runs with Tensors
        layers.insert(3, nn.ELU())
    elif layout == "nested":
        layers = layers[:2] + [nn.Sequential(*layers[2:6])] + layers[6:]
    elif layout == "elu_first":
        layers.insert(0, nn.ELU())
    model = nn.Sequential(*layers).double()
    x = annie.tensor(np.random.default_rng(1).standard_normal(shape))
    recorded = model(x)
    assert recorded._ctx is not None
    with annie.no_grad():
        plain = model(x)
    assert plain._ctx is None and not plain.requires_grad and plain.dtype == np.float64
    np.testing.assert_array_equal(plain.data, recorded.data)
    np.testing.assert_allclose(plain.data, _numpy_mlp(model, x.data), rtol=1e-12, atol=1e-12)


def test_sequential_without_graph_keeps_float32():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    x = annie.tensor(np.random.default_rng(2).standard_normal((1, 4)).astype(np.float32))
    with annie.no_grad():
        out = model(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, model(x).data)


def test_subclass_that_redefines_forward_is_not_bypassed():
    class ScaledLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2.0

    class LoudReLU(nn.ReLU):
        def __call__(self, x):
            return super().__call__(x) + 1.0

    assert ScaledLinear.forward_array is None and LoudReLU.forward_array is None
    assert nn.Linear.forward_array is not None and nn.ReLU.forward_array is not None
    model = nn.Sequential(ScaledLinear(3, 2), LoudReLU()).double()
    x = annie.tensor(np.random.default_rng(3).standard_normal((2, 3)))
    expected = np.maximum(2.0 * (x.data @ model[0].weight.data.T + model[0].bias.data), 0) + 1.0
    with annie.no_grad():
        np.testing.assert_allclose(model(x).data, expected, rtol=1e-12)
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-12)


@pytest.mark.parametrize("grad_mode", ["no_grad", "graph"])
def test_shape_error_names_the_sequential_layer(grad_mode):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(5, 2)))
    x = annie.tensor(np.ones((2, 4)))
    with pytest.raises(ShapeError, match=r"Sequential layer 0 \(Linear\).*last dimension 5, "
                                         r"got shape \(2, 3\)") as caught:
        if grad_mode == "no_grad":
            with annie.no_grad():
                model(x)
        else:
            model(x)
    assert "Sequential layer 2" not in str(caught.value)  # named once, by the innermost
    with pytest.raises(ShapeError, match=r"Sequential layer 0 \(Linear\).*got shape \(2, 7\)"):
        with annie.no_grad():
            model(annie.tensor(np.ones((2, 7))))


def test_anomaly_hooks_see_every_forward_under_no_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    model[2].weight.data[:] = np.inf  # inf * 0 from the ReLU's zeros: nan in layer 2
    x = annie.tensor(np.array([[-1.0, -1.0]]))
    model[0].weight.data[:] = 1.0
    model[0].bias.data[:] = 0.0
    with annie.no_grad(), np.errstate(invalid="ignore"):
        assert not np.isfinite(model(x).data).all()  # no hook: computed without complaint
        with annie.detect_anomaly():
            with pytest.raises(NumericalError, match="LinearFunction \\(forward\\) produced nan"):
                model(x)
        with annie.detect_anomaly():
            with pytest.raises(NumericalError, match="ReLU \\(forward\\) produced nan"):
                F.relu(annie.tensor(np.array([np.nan])))


@pytest.mark.parametrize("shape", [(5,), (2, 5), (1, 5), (2, 3, 5), ()], ids=str)
def test_linear_without_graph_rejects_a_wrong_width(shape):
    layer = nn.Linear(4, 3)
    x = annie.tensor(np.ones(shape, dtype=np.float32))
    with annie.no_grad():
        with pytest.raises(ShapeError, match=r"Linear\(in_features=4, out_features=3\): expected "
                                             r"input with last dimension 4, got shape "
                                             + re.escape(str(shape))):
            layer(x)


def test_empty_sequential_hands_back_its_input_in_both_modes():
    x = annie.tensor(np.ones((2, 3)))
    assert nn.Sequential()(x) is x
    with annie.no_grad():
        assert nn.Sequential()(x) is x


def test_forward_set_on_an_instance_runs_under_no_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    seen = []
    original = model[1].forward

    def probing_forward(x):
        seen.append(x.data.copy())
        return original(x)

    model[1].forward = probing_forward  # as diagnostics tools patch layers
    x = annie.tensor(np.random.default_rng(5).standard_normal((2, 3)))
    recorded = model(x)
    with annie.no_grad():
        plain = model(x)
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[1], x.data @ model[0].weight.data.T + model[0].bias.data)
    np.testing.assert_array_equal(plain.data, recorded.data)
