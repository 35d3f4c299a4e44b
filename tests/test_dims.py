"""One rule for dim arguments in every op (``ops.axes.checked_dim``): an integer in
[-ndim, ndim) ([-ndim - 1, ndim] where an axis is inserted), counted from the end when negative,
never wrapped around; anything else is a ShapeError or ConfigError naming the op. Valid dims give
NumPy's result. Also: a maximum over an empty axis is refused by name, and the data helpers take
an empty batch where the result is defined.
"""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import nn, ops
from annie.data.preprocessing import one_hot
from annie.errors import ConfigError, DataError, ShapeError

SHAPE = (2, 3, 4)


def _tensor():
    return annie.tensor(np.arange(24, dtype=np.float64).reshape(SHAPE), requires_grad=True)


OUT_OF_RANGE = [
    ("sum", lambda t, d: t.sum(dim=d), 3), ("sum", lambda t, d: t.sum(dim=d), -4),
    ("mean", lambda t, d: t.mean(dim=d), 3), ("max", lambda t, d: t.max(dim=d), 5),
    ("min", lambda t, d: t.min(dim=(0, d)), 7),
    ("softmax", lambda t, d: F.softmax(t, dim=d), 3),
    ("log_softmax", lambda t, d: F.log_softmax(t, dim=d), -4),
    ("softmax", lambda t, d: nn.Softmax(dim=d)(t), 7),
    ("concat", lambda t, d: ops.concat([t, t], dim=d), 3),
    ("stack", lambda t, d: ops.stack([t, t], dim=d), 4),
    ("stack", lambda t, d: ops.stack([t, t], dim=d), -5),
    ("split", lambda t, d: ops.split(t, 2, dim=d), 5),
    ("squeeze", lambda t, d: ops.squeeze(t, dim=d), 7),
    ("unsqueeze", lambda t, d: ops.unsqueeze(t, dim=d), 4),
    ("unsqueeze", lambda t, d: ops.unsqueeze(t, dim=d), -5),
    ("swapaxes", lambda t, d: t.swapaxes(0, d), 5),
    ("transpose", lambda t, d: t.transpose(0, d, 1), 5),
]


@pytest.mark.parametrize("owner, call, dim", OUT_OF_RANGE,
                         ids=[f"{owner}({dim})" for owner, _, dim in OUT_OF_RANGE])
def test_a_dim_out_of_range_is_refused_by_name(owner, call, dim):
    with pytest.raises(ShapeError, match=rf"^{owner}: dim {dim} is out of range .*\(2, 3, 4\)"):
        call(_tensor(), dim)


@pytest.mark.parametrize("dim", [True, 1.0, "1", (1, 2)])
def test_a_dim_that_is_not_an_integer_is_a_config_error(dim):
    with pytest.raises(ConfigError, match="dim must be an integer"):
        F.softmax(_tensor(), dim=dim)
    if not isinstance(dim, tuple):
        with pytest.raises(ConfigError, match="dim must be an integer"):
            _tensor().sum(dim=dim)


def test_a_reduction_naming_an_axis_twice_is_refused():
    with pytest.raises(ShapeError, match=r"sum: dim \(1, -2\) names an axis twice"):
        _tensor().sum(dim=(1, -2))


def test_transpose_needs_every_axis_once():
    with pytest.raises(ShapeError, match="use swapaxes"):
        _tensor().transpose(0, 1)  # PyTorch's transpose(dim0, dim1) is swapaxes here


@pytest.mark.parametrize("call, reference", [
    (lambda t: t.sum(dim=(-1, 0)), lambda a: a.sum(axis=(-1, 0))),
    (lambda t: t.mean(dim=-2, keepdim=True), lambda a: a.mean(axis=-2, keepdims=True)),
    (lambda t: t.max(dim=-1), lambda a: a.max(axis=-1)),
    (lambda t: ops.concat([t, t], dim=-1), lambda a: np.concatenate([a, a], axis=-1)),
    (lambda t: ops.stack([t, t], dim=-1), lambda a: np.stack([a, a], axis=-1)),
    (lambda t: ops.stack([t, t], dim=3), lambda a: np.stack([a, a], axis=3)),
    (lambda t: ops.unsqueeze(t, dim=-1), lambda a: a[..., None]),
    (lambda t: ops.unsqueeze(t, dim=3), lambda a: a[..., None]),
    (lambda t: ops.unsqueeze(t, dim=-4), lambda a: a[None]),
    (lambda t: ops.squeeze(ops.unsqueeze(t, dim=1), dim=-3), lambda a: a),
    (lambda t: ops.squeeze(t, dim=-1), lambda a: a),  # size 4: unchanged, as in PyTorch
    (lambda t: t.swapaxes(-1, 0), lambda a: np.swapaxes(a, -1, 0)),
    (lambda t: t.transpose(2, -3, 1), lambda a: np.transpose(a, (2, 0, 1))),
    (lambda t: ops.split(t, 2, dim=-1)[1], lambda a: np.split(a, 2, axis=-1)[1]),
])
def test_valid_dims_including_negative_ones_give_numpys_result(call, reference):
    array = np.arange(24, dtype=np.float64).reshape(SHAPE)
    np.testing.assert_array_equal(call(_tensor()).data, reference(array))


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_maximum_over_an_empty_axis_is_refused_by_name(reduce):
    empty = annie.tensor(np.zeros((0, 3)), requires_grad=True)
    for dim in (None, 0):
        with pytest.raises(ShapeError, match=rf"^{reduce}: reduces an axis of size 0"):
            getattr(empty, reduce)(dim=dim)
    out = getattr(empty, reduce)(dim=1)  # one maximum per sample of an empty batch: none
    assert out.shape == (0,)
    out.sum().backward()
    assert empty.grad.shape == (0, 3)


def test_one_hot_of_no_labels():
    np.testing.assert_array_equal(one_hot(np.zeros(0, np.int64), 3), np.zeros((0, 3)))
    assert one_hot(np.zeros((0, 5), np.int64), 4).shape == (0, 5, 4)
    with pytest.raises(DataError, match="empty"):
        one_hot(np.zeros(0, np.int64))  # no labels and no num_classes: nothing to infer


def test_forecast_from_an_empty_window_names_the_window():
    model = nn.SequenceRegressor(input_size=1, hidden_size=4)
    with pytest.raises(ShapeError, match="forecast: window must hold at least one time step"):
        model.forecast(np.zeros(0, np.float32), 2)
