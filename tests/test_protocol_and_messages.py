"""Where users meet annie first: NumPy functions on a Tensor, ``in``, messages that print plain
numbers (and do not refuse a NumPy scalar while printing it as a plain number), and model files
whose hyperparameters are NaN or infinite (a model that could only output NaN is refused)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.diagnostics import gradcheck
from annie.errors import ConfigError, SerializationError
from annie.io import format as file_format
from annie.tensor import Function


def _tensor():
    return annie.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)


@pytest.mark.parametrize("function", [np.mean, np.sum, np.max, np.min, np.std, np.median,
                                      lambda a: np.mean(a, axis=0), np.cumsum, np.ptp])
def test_numpy_functions_compute_on_the_values(function):
    t = _tensor()
    result = function(t)
    assert not isinstance(result, annie.Tensor)  # outside the graph, as np.exp(t)
    np.testing.assert_array_equal(result, function(t.data))


def test_numpy_functions_taking_several_tensors():
    t = _tensor()
    np.testing.assert_array_equal(np.concatenate([t, t]), np.concatenate([t.data, t.data]))
    np.testing.assert_array_equal(np.where(t > 2, t, 0.0), np.where(t.data > 2, t.data, 0.0))
    assert np.allclose(t, t.data) and np.shape(t) == (2, 3)


def test_in_asks_whether_an_element_equals_the_value():
    t = _tensor()
    assert 3.0 in t and annie.tensor(np.float32(5)) in t
    assert 3.5 not in t


def test_classifier_messages_print_plain_numbers():
    from annie.sklearn import MLPClassifier
    X = np.random.default_rng(0).normal(size=(6, 2))
    y = np.array([0, 1, 0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).partial_fit(
            X, y, classes=np.array([0, 1]))
        with pytest.raises(ValueError) as mismatch:
            estimator.partial_fit(X, y, classes=np.array([0, 2]))
        with pytest.raises(ValueError) as single:
            MLPClassifier(max_iter=1).fit(X, np.ones(6, np.int64))
    assert "classes=[0, 2]" in str(mismatch.value)
    assert "only 1 class (1)" in str(single.value)
    assert "np." not in str(mismatch.value) + str(single.value)


class _WrongBackward(Function):
    def forward(ctx, x):
        return x * 2

    def backward(ctx, grad):
        return grad * 3


def test_gradcheck_result_prints_plain_numbers():
    x = annie.tensor(np.ones((2, 2)), requires_grad=True)
    result = gradcheck(lambda t: _WrongBackward.apply(t), [x], raise_exception=False)
    assert not result.ok
    assert all(type(i) is int for i in result.worst_index) and type(result.max_error) is float
    assert "np." not in str(result) + repr(result)


def test_numpy_scalars_are_taken_where_they_would_be_printed_as_plain_numbers():
    callback = annie.train.EarlyStopping(patience=np.int64(1))
    assert callback.patience == 1 and type(callback.patience) is int
    layer = nn.LSTM(3, 4, num_layers=2, dropout=np.float32(0.5))
    assert layer.dropout == pytest.approx(0.5)
    model = nn.Linear(2, 1)
    X, y = np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)
    history = annie.fit(model, "mse", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
                        verbose=0, clip_grad_norm=np.float32(1.0))
    assert len(history.history["loss"]) == 1
    captioner = nn.ImageCaptioner(6, 10, hidden_size=4, eos_index=1)
    decoded = captioner.decode(np.zeros((1, 6), np.float32), max_len=np.int64(2),
                               length_penalty=np.float32(0.5))
    assert decoded.shape == (1, 2)
    from annie.data.vocab import WordVocab
    assert len(WordVocab.from_texts(["a b a"], min_count=np.int64(2))) >= 3
    with pytest.raises(ConfigError, match="patience must be a non-negative integer, got True"):
        annie.train.EarlyStopping(patience=True)
    with pytest.raises(ConfigError, match="clip_grad_norm must be a positive number"):
        annie.fit(model, "mse", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
                  verbose=0, clip_grad_norm=True)


NAN = {"$t": "float", "v": "nan"}
INF = {"$t": "float", "v": "inf"}
LAYER_NORM_WEIGHTS = {"weight": np.ones(3, np.float32), "bias": np.zeros(3, np.float32)}


def _module(name, args=(), **kwargs):
    return {"$t": "module", "class": name, "args": list(args), "kwargs": kwargs}


@pytest.mark.parametrize("architecture, tensors", [
    (_module("LayerNorm", [3], eps=NAN), LAYER_NORM_WEIGHTS),
    (_module("LayerNorm", [3], eps=INF), LAYER_NORM_WEIGHTS),
    (_module("LeakyReLU", [NAN]), {}),
    (_module("ELU", alpha=INF), {}),
    (_module("Softplus", beta=NAN), {}),
    (_module("Softplus", threshold=NAN), {}),
], ids=["LayerNorm eps nan", "LayerNorm eps inf", "LeakyReLU nan", "ELU inf", "Softplus beta nan",
        "Softplus threshold nan"])
def test_a_model_file_with_a_nan_or_infinite_hyperparameter_is_refused(tmp_path, architecture,
                                                                       tensors):
    path = tmp_path / "nan.annie"
    path.write_bytes(file_format.seal(tensors, {
        "format": "annie", "format_version": "1", "kind": "model", "training": "true",
        "architecture": json.dumps(architecture)}))
    with pytest.raises(SerializationError, match="must be a (positive )?finite number"):
        annie.load(path)


def test_a_model_file_whose_training_flag_is_not_a_boolean_is_refused(tmp_path):
    path = tmp_path / "flag.annie"
    path.write_bytes(file_format.seal({}, {
        "format": "annie", "format_version": "1", "kind": "model", "training": "NaN",
        "architecture": json.dumps(_module("ReLU"))}))
    with pytest.raises(SerializationError, match="training flag must be true or false"):
        annie.load(path)


@pytest.mark.parametrize("make", [
    lambda: nn.LayerNorm(3, eps=float("nan")), lambda: nn.LeakyReLU(float("inf")),
    lambda: nn.ELU(alpha=float("nan")), lambda: nn.Softplus(beta=float("nan")),
    lambda: annie.functional.softplus(annie.tensor([1.0]), beta=float("nan")),
    lambda: annie.functional.leaky_relu(annie.tensor([1.0]), negative_slope=float("nan")),
])
def test_constructors_refuse_nan_and_infinite_hyperparameters(make):
    with pytest.raises(ConfigError, match="finite number"):
        make()
