"""Recurrent cells: one step against NumPy formulas, gradients against finite differences,
unbatched input, default zero state, dtypes and errors. (PyTorch parity: test_parity_rnn.py.)"""
import numpy as np
import pytest

import annie
from annie import nn
from annie.diagnostics import gradcheck
from annie.errors import ConfigError, ShapeError


def _random(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_lstm_cell_step_matches_formulas():
    cell = nn.LSTMCell(3, 2, dtype=np.float64)
    x, h, c = _random((4, 3)), _random((4, 2), seed=1), _random((4, 2), seed=2)
    h_next, c_next = cell(x, (h, c))
    a = (x @ cell.weight_ih.data.T + cell.bias_ih.data
         + h @ cell.weight_hh.data.T + cell.bias_hh.data)
    i, f, g, o = np.split(a, 4, axis=1)
    expected_c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(c_next.data, expected_c, atol=1e-12)
    np.testing.assert_allclose(h_next.data, _sigmoid(o) * np.tanh(expected_c), atol=1e-12)


def test_gru_cell_step_matches_formulas():
    cell = nn.GRUCell(3, 2, dtype=np.float64)
    x, h = _random((4, 3)), _random((4, 2), seed=1)
    x_r, x_z, x_n = np.split(x @ cell.weight_ih.data.T + cell.bias_ih.data, 3, axis=1)
    h_r, h_z, h_n = np.split(h @ cell.weight_hh.data.T + cell.bias_hh.data, 3, axis=1)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    np.testing.assert_allclose(cell(x, h).data, (1 - z) * n + z * h, atol=1e-12)


@pytest.mark.parametrize("nonlinearity,activation", [("tanh", np.tanh),
                                                     ("relu", lambda a: np.maximum(a, 0))])
def test_rnn_cell_step_matches_formula(nonlinearity, activation):
    cell = nn.RNNCell(3, 2, nonlinearity=nonlinearity, dtype=np.float64)
    x, h = _random((4, 3)), _random((4, 2), seed=1)
    expected = activation(x @ cell.weight_ih.data.T + cell.bias_ih.data
                          + h @ cell.weight_hh.data.T + cell.bias_hh.data)
    np.testing.assert_allclose(cell(x, h).data, expected, atol=1e-12)


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_gradcheck(cell_class):
    cell = cell_class(3, 2, dtype=np.float64)
    x = annie.tensor(_random((2, 3)), requires_grad=True)
    h = annie.tensor(_random((2, 2), seed=1), requires_grad=True)
    c = annie.tensor(_random((2, 2), seed=2), requires_grad=True)

    def step(x, h, c, *params):
        return cell(x, (h, c)) if cell_class is nn.LSTMCell else cell(x, h)

    inputs = [x, h, c, *cell.parameters()]
    assert gradcheck(step, inputs, raise_exception=False).ok


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_default_state_unbatched_and_dtype(cell_class):
    cell = cell_class(3, 2)
    x = _random((3,), np.float32)
    out = cell(x)
    h = out[0] if cell_class is nn.LSTMCell else out
    assert h.shape == (2,) and h.dtype == np.float32
    batched = cell(x[None], None)
    batched_h = batched[0] if cell_class is nn.LSTMCell else batched
    np.testing.assert_allclose(h.data, batched_h.data[0])
    zero = np.zeros((1, 2), np.float32)
    explicit = cell(x[None], (zero, zero) if cell_class is nn.LSTMCell else zero)
    explicit_h = explicit[0] if cell_class is nn.LSTMCell else explicit
    np.testing.assert_array_equal(explicit_h.data, batched_h.data)


def test_cell_parameters_and_errors():
    cell = nn.LSTMCell(3, 5, bias=False)
    assert [name for name, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
    assert cell.weight_ih.shape == (20, 3)
    gru = nn.GRUCell(3, 5)
    assert [name for name, _ in gru.named_parameters()] == ["weight_ih", "weight_hh",
                                                           "bias_ih", "bias_hh"]
    with pytest.raises(ShapeError, match=r"GRUCell\(input_size=3.*got shape \(2, 4\)"):
        gru(np.zeros((2, 4), np.float32))
    with pytest.raises(ShapeError, match=r"state must have shape \(2, 5\)"):
        gru(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(ShapeError, match="pair"):
        cell(np.zeros((2, 3), np.float32), np.zeros((2, 5), np.float32))
    with pytest.raises(ConfigError, match="nonlinearity"):
        nn.RNNCell(3, 5, nonlinearity="gelu")
