"""An empty batch (0 samples) goes through every layer, loss, optimizer and metric as PyTorch
takes it: empty outputs, zero-size gradients, a sum of 0 and a mean of NaN, unchanged weights.
(The ops, activations, losses and layer functions are walked by tests/test_registry.py.)"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import losses, nn, optim
from annie.nn.utils import clip_grad_norm_, clip_grad_value_
from annie.train import metrics


@pytest.fixture(autouse=True)
def _quiet_empty_means():
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        yield


LAYERS = [
    (lambda: nn.Linear(4, 3), (0, 4), (0, 3)),
    (lambda: nn.Linear(4, 3, bias=False), (0, 5, 4), (0, 5, 3)),
    (lambda: nn.LayerNorm(4), (0, 4), (0, 4)),
    (lambda: nn.LayerNorm((2, 4)), (0, 2, 4), (0, 2, 4)),
    (lambda: nn.Dropout(0.5), (0, 4), (0, 4)),
    (lambda: nn.Flatten(), (0, 2, 3), (0, 6)),
    (lambda: nn.Softmax(dim=1), (0, 4), (0, 4)),
    (lambda: nn.LogSoftmax(), (0, 4), (0, 4)),
    *[(lambda name=name: getattr(nn, name)(), (0, 4), (0, 4))
      for name in ("Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "GELU",
                   "SiLU", "Softplus", "Softsign", "Hardsigmoid")],
]


@pytest.mark.parametrize("make, in_shape, out_shape", LAYERS)
def test_layers_forward_and_backward_on_an_empty_batch(make, in_shape, out_shape):
    layer = make()
    x = annie.tensor(np.zeros(in_shape, np.float32), requires_grad=True)
    out = layer(x)
    assert out.shape == out_shape and out.dtype == np.float32
    out.sum().backward()
    assert x.grad.shape == in_shape
    for param in layer.parameters():
        np.testing.assert_array_equal(param.grad, np.zeros_like(param.data))
    with annie.no_grad():
        assert layer.eval()(annie.tensor(np.zeros(in_shape, np.float32))).shape == out_shape


def test_embedding_on_an_empty_batch():
    embedding = nn.Embedding(5, 3, padding_idx=0)
    out = embedding(np.zeros((0, 7), np.int64))
    assert out.shape == (0, 7, 3)
    out.sum().backward()
    np.testing.assert_array_equal(embedding.weight.grad, np.zeros((5, 3)))


@pytest.mark.parametrize("grad_mode", [True, False])
def test_sequential_mlp_trains_and_predicts_on_an_empty_batch(grad_mode):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 3))
    x = annie.tensor(np.zeros((0, 4), np.float32))
    if not grad_mode:
        with annie.no_grad():
            assert model(x).shape == (0, 3)
        return
    before = [param.data.copy() for param in model.parameters()]
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    loss = losses.cross_entropy(model(x), np.zeros(0, np.int64), reduction="sum")
    assert loss.item() == 0.0
    loss.backward()
    optimizer.step()
    for param, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(param.data, old)  # a zero gradient moves nothing


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_optimizers_with_zero_size_parameters_and_gradients(name):
    empty, other = nn.Parameter(np.zeros((0, 3))), nn.Parameter(np.ones(2))
    reference = nn.Parameter(np.ones(2))
    optimizer = optim.get_optimizer(name)([empty, other])
    alone = optim.get_optimizer(name)([reference])
    for _ in range(3):
        empty.grad, other.grad, reference.grad = np.zeros((0, 3)), np.ones(2), np.ones(2)
        optimizer.step()
        alone.step()
    assert empty.data.shape == (0, 3)
    np.testing.assert_array_equal(other.data, reference.data)  # the empty one changes nothing
    state = optimizer.state_dict()
    restored = optim.get_optimizer(name)([nn.Parameter(np.zeros((0, 3))), nn.Parameter(np.ones(2))])
    restored.load_state_dict(state)


def test_clipping_empty_gradients():
    param = nn.Parameter(np.zeros((0, 3)))
    param.grad = np.zeros((0, 3))
    for norm_type in (1.0, 2.0, 3.0, np.inf):
        assert clip_grad_norm_([param], 1.0, norm_type=norm_type) == 0.0
    clip_grad_value_([param], 0.5)
    assert param.grad.shape == (0, 3)


def test_softmax_over_an_empty_axis_is_empty():
    x = annie.tensor(np.zeros((3, 0)), requires_grad=True)
    for function in (F.softmax, F.log_softmax):
        out = function(x, dim=1)
        assert out.shape == (3, 0)
        out.sum().backward()
        assert x.grad.shape == (3, 0)


@pytest.mark.parametrize("name", sorted(metrics.METRICS))
def test_metrics_of_an_empty_batch_are_nan(name):
    value = metrics.METRICS[name](np.zeros((0, 3)), np.zeros(0, np.int64))
    assert np.isnan(value)


def test_regression_metrics_of_an_empty_batch_are_nan():
    for name in ("mae", "rmse", "r2"):
        assert np.isnan(metrics.METRICS[name](np.zeros((0, 2)), np.zeros((0, 2))))
