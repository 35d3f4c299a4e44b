"""Recurrent sequence layers: gradients against finite differences and against the same network
unrolled from cells, variable lengths, long sequences, dtypes, options and errors."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.data import pad_sequences
from annie.diagnostics import gradcheck
from annie.errors import AnnieError, ConfigError, DataError, DTypeError, ShapeError

LAYERS = {"rnn_tanh": (nn.RNN, nn.RNNCell, {"nonlinearity": "tanh"}),
          "rnn_relu": (nn.RNN, nn.RNNCell, {"nonlinearity": "relu"}),
          "lstm": (nn.LSTM, nn.LSTMCell, {}), "gru": (nn.GRU, nn.GRUCell, {})}


def _random(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _final_state(kind, result):
    output, state = result
    return output, (state if kind != "lstm" else state[0])


# ----- gradients --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional,with_lengths", [(False, False), (True, True)])
def test_layer_gradcheck_float64(kind, bidirectional, with_lengths):
    """Every parameter, the input and h0 of a 2-layer layer against central differences."""
    layer_class, _, extra = LAYERS[kind]
    layer = layer_class(2, 3, num_layers=2, bidirectional=bidirectional, dtype=np.float64, **extra)
    x = annie.tensor(_random((2, 4, 2)), requires_grad=True)
    directions = 2 if bidirectional else 1
    h0 = annie.tensor(_random((2 * directions, 2, 3), seed=1), requires_grad=True)
    lengths = np.array([4, 2]) if with_lengths else None
    state = (h0, annie.tensor(_random((2 * directions, 2, 3), seed=2))) if kind == "lstm" else h0

    def run(x, h0, *params):
        start = (h0, state[1]) if kind == "lstm" else h0
        output, final = layer(x, start, lengths=lengths)
        return (output, final[0], final[1]) if kind == "lstm" else (output, final)

    params = layer.parameters()
    result = gradcheck(run, [x, h0, *params], raise_exception=False)
    assert result.ok, str(result)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_layer_equals_network_unrolled_from_cells(kind):
    """The fused kernel's outputs and gradients equal a Python loop over the cell (one op per
    step, gradients through the autodiff graph)."""
    layer_class, cell_class, extra = LAYERS[kind]
    layer = layer_class(3, 4, dtype=np.float64, **extra)
    cell = cell_class(3, 4, dtype=np.float64, **extra)
    cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})
    x_data = _random((2, 6, 3))
    upstream = _random((2, 6, 4), seed=3)
    x1 = annie.tensor(x_data, requires_grad=True)
    output, _ = layer(x1)
    (output * upstream).sum().backward()

    x2 = annie.tensor(x_data, requires_grad=True)
    state = None
    steps = []
    for t in range(6):
        state = cell(x2[:, t], state)
        steps.append(state[0] if kind == "lstm" else state)
    unrolled = annie.ops.stack(steps, axis=1)
    (unrolled * upstream).sum().backward()

    np.testing.assert_allclose(output.data, unrolled.data, atol=1e-12, rtol=0)
    np.testing.assert_allclose(x1.grad, x2.grad, atol=1e-12, rtol=0)
    cell_params = dict(cell.named_parameters())
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(param.grad, cell_params[name[:-3]].grad, atol=1e-12, rtol=0,
                                   err_msg=name)


def _op_step(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    """One step written with annie's primitive ops and activations (no recurrent kernel)."""
    from annie import functional as F
    from annie.ops import split
    h = state[0]
    if kind == "lstm":
        a_i, a_f, a_g, a_o = split(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh), 4, axis=1)
        c = F.sigmoid(a_f) * state[1] + F.sigmoid(a_i) * F.tanh(a_g)
        return F.sigmoid(a_o) * F.tanh(c), c
    if kind == "gru":
        x_r, x_z, x_n = split(F.linear(x, w_ih, b_ih), 3, axis=1)
        h_r, h_z, h_n = split(F.linear(h, w_hh, b_hh), 3, axis=1)
        r, z = F.sigmoid(x_r + h_r), F.sigmoid(x_z + h_z)
        n = F.tanh(x_n + r * h_n)
        return ((1 - z) * n + z * h,)
    activation = F.tanh if kind == "rnn_tanh" else F.relu
    return (activation(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)),)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_layer_equals_network_unrolled_from_primitive_ops(kind):
    """The hand-written BPTT equals autodiff through the same network unrolled step by step
    from primitive ops (linear, sigmoid, tanh, relu): outputs, h0 and every parameter."""
    layer_class, _, extra = LAYERS[kind]
    layer = layer_class(3, 4, dtype=np.float64, **extra)
    x_data, h0_data = _random((2, 6, 3)), _random((2, 4), seed=1)
    upstream = _random((2, 6, 4), seed=3)
    x1, h1 = annie.tensor(x_data, requires_grad=True), annie.tensor(h0_data, requires_grad=True)
    start = (h1[None], annie.tensor(np.zeros((1, 2, 4)))) if kind == "lstm" else h1[None]
    output, _ = layer(x1, start)
    (output * upstream).sum().backward()
    kernel_grads = [p.grad.copy() for p in layer.parameters()]

    layer.zero_grad()
    x2, h2 = annie.tensor(x_data, requires_grad=True), annie.tensor(h0_data, requires_grad=True)
    state = (h2, annie.tensor(np.zeros((2, 4)))) if kind == "lstm" else (h2,)
    steps = []
    for t in range(6):
        state = _op_step(kind, x2[:, t], state, *layer.parameters())
        steps.append(state[0])
    unrolled = annie.ops.stack(steps, axis=1)
    (unrolled * upstream).sum().backward()

    np.testing.assert_allclose(output.data, unrolled.data, atol=1e-12, rtol=0)
    np.testing.assert_allclose(x1.grad, x2.grad, atol=1e-12, rtol=0)
    np.testing.assert_allclose(h1.grad, h2.grad, atol=1e-12, rtol=0)
    for name_param, kernel_grad in zip(layer.named_parameters(), kernel_grads):
        np.testing.assert_allclose(kernel_grad, name_param[1].grad, atol=1e-12, rtol=0,
                                   err_msg=name_param[0])


def test_lstm_backward_over_3000_steps():
    layer = nn.LSTM(2, 3, dtype=np.float64)
    x = annie.tensor(_random((1, 3000, 2)), requires_grad=True)
    output, (h_n, c_n) = layer(x)
    (output.sum() + c_n.sum()).backward()
    assert output.shape == (1, 3000, 3)
    assert np.all(np.isfinite(x.grad)) and np.abs(x.grad[0, -1]).sum() > 0
    for param in layer.parameters():
        assert param.grad is not None and np.all(np.isfinite(param.grad))


# ----- variable lengths -------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
def test_lengths_ignore_padding(kind):
    """Outputs past each sequence's end are zero, and neither outputs, final states nor any
    gradient depend on the padded values."""
    layer_class, _, extra = LAYERS[kind]
    layer = layer_class(2, 3, num_layers=2, bidirectional=True, dtype=np.float64, **extra)
    lengths = np.array([2, 5, 3])
    results = []
    for fill in (0.0, 100.0):
        data = _random((3, 5, 2))
        for b, length in enumerate(lengths):
            data[b, length:] = fill
        x = annie.tensor(data, requires_grad=True)
        layer.zero_grad()
        output, state = _final_state(kind, layer(x, lengths=lengths))
        (output.sum() + state.sum()).backward()
        param_grads = [p.grad.copy() for p in layer.parameters()]
        results.append((output.data, state.data, x.grad, param_grads))
        for b, length in enumerate(lengths):
            assert np.all(output.data[b, length:] == 0)
            assert np.all(x.grad[b, length:] == 0)
    (out_a, state_a, grad_a, params_a), (out_b, state_b, grad_b, params_b) = results
    np.testing.assert_allclose(out_a, out_b, atol=1e-12)
    np.testing.assert_allclose(state_a, state_b, atol=1e-12)
    np.testing.assert_allclose(grad_a, grad_b, atol=1e-12)
    for a, b in zip(params_a, params_b):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_lengths_equal_running_each_sequence_alone(kind):
    """h_n of a padded batch is, for each sequence, the h_n of that sequence run on its own
    (forward direction at its last real step, reverse direction at its first)."""
    layer_class, _, extra = LAYERS[kind]
    layer = layer_class(2, 3, bidirectional=True, dtype=np.float64, **extra)
    sequences = [_random((n, 2), seed=n) for n in (4, 1, 3)]
    padded, lengths = pad_sequences(sequences)
    output, state = _final_state(kind, layer(padded, lengths=lengths))
    for b, sequence in enumerate(sequences):
        alone_output, alone_state = _final_state(kind, layer(sequence[None]))
        np.testing.assert_allclose(state.data[:, b], alone_state.data[:, 0], atol=1e-12)
        np.testing.assert_allclose(output.data[b, :len(sequence)], alone_output.data[0], atol=1e-12)


# ----- dtypes, modes and options ----------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
def test_float32_stays_float32(kind):
    layer_class, _, extra = LAYERS[kind]
    layer = layer_class(3, 4, num_layers=2, bidirectional=True, **extra)
    x = annie.tensor(_random((2, 5, 3), np.float32), requires_grad=True)
    output, state = _final_state(kind, layer(x, lengths=np.array([5, 3])))
    assert output.dtype == np.float32 and state.dtype == np.float32
    (output.sum() + state.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_shapes_and_batch_first_false():
    layer = nn.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=False)
    output, h_n = layer(_random((7, 2, 3), np.float32))
    assert output.shape == (7, 2, 10) and h_n.shape == (4, 2, 5)
    lstm = nn.LSTM(3, 5, num_layers=3)
    output, (h_n, c_n) = lstm(_random((2, 7, 3), np.float32))
    assert output.shape == (2, 7, 5) and h_n.shape == c_n.shape == (3, 2, 5)
    np.testing.assert_array_equal(output.data[:, -1], h_n.data[-1])


def test_dropout_between_layers_only_in_training():
    layer = nn.LSTM(3, 8, num_layers=2, dropout=0.5, dtype=np.float64)
    x = _random((4, 5, 3))
    layer.eval()
    first, _ = layer(x)
    second, _ = layer(x)
    np.testing.assert_array_equal(first.data, second.data)
    layer.train()
    trained, _ = layer(x)
    assert not np.allclose(trained.data, first.data)
    single = nn.LSTM(3, 8, num_layers=1, dropout=0.5, dtype=np.float64)
    single.train()
    np.testing.assert_array_equal(single(x)[0].data, single.eval()(x)[0].data)


def test_initialisation_bounds_forget_bias_and_orthogonal():
    hidden = 16
    bound = 1 / np.sqrt(hidden)
    for layer in (nn.RNN(4, hidden), nn.LSTM(4, hidden, num_layers=2), nn.GRU(4, hidden)):
        for name, param in layer.named_parameters():
            assert np.abs(param.data).max() <= bound, name
            assert np.abs(param.data).max() > 0.8 * bound, name
    annie.manual_seed(3)
    plain = nn.LSTM(4, hidden)
    annie.manual_seed(3)
    shifted = nn.LSTM(4, hidden, forget_bias=1.0)
    difference = shifted.bias_ih_l0.data - plain.bias_ih_l0.data
    np.testing.assert_allclose(difference[hidden:2 * hidden], 1.0, atol=1e-6)
    np.testing.assert_allclose(np.delete(difference, np.s_[hidden:2 * hidden]), 0.0)
    np.testing.assert_array_equal(shifted.bias_hh_l0.data, plain.bias_hh_l0.data)
    orthogonal = nn.GRU(4, hidden, recurrent_init="orthogonal", dtype=np.float64)
    for gate in range(3):
        block = orthogonal.weight_hh_l0.data[gate * hidden:(gate + 1) * hidden]
        np.testing.assert_allclose(block.T @ block, np.eye(hidden), atol=1e-12)


def test_state_dict_names_and_shapes_are_pytorchs():
    layer = nn.GRU(3, 5, num_layers=2, bidirectional=True, bias=True)
    shapes = {name: value.shape for name, value in layer.state_dict().items()}
    assert list(shapes)[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert shapes["weight_ih_l0_reverse"] == (15, 3)
    assert shapes["weight_ih_l1"] == (15, 10)
    assert shapes["bias_hh_l1_reverse"] == (15,)
    assert len(shapes) == 16
    assert len(nn.LSTM(3, 5, bias=False).state_dict()) == 2


def test_backward_twice_through_one_lstm_output_is_a_clear_error():
    layer = nn.LSTM(2, 3)
    output, _ = layer(_random((1, 3, 2), np.float32))
    loss = output.sum()
    loss.backward()
    with pytest.raises(AnnieError, match="second time"):
        loss.backward()


# ----- errors -----------------------------------------------------------------------------
def test_input_shape_errors_name_the_layer_and_shapes():
    layer = nn.LSTM(3, 4)
    with pytest.raises(ShapeError, match=r"LSTM\(input_size=3.*got shape \(2, 5, 7\)"):
        layer(np.zeros((2, 5, 7), np.float32))
    with pytest.raises(ShapeError, match="got shape"):
        layer(np.zeros((5, 3), np.float32))
    with pytest.raises(ShapeError, match=r"h0 must have shape .* \(1, 2, 4\)"):
        nn.GRU(3, 4)(np.zeros((2, 5, 3), np.float32), np.zeros((2, 2, 4), np.float32))
    with pytest.raises(ShapeError, match="pair"):
        layer(np.zeros((2, 5, 3), np.float32), np.zeros((1, 2, 4), np.float32))
    with pytest.raises(DTypeError, match="dtype"):
        layer(np.zeros((2, 5, 3), np.float64))


@pytest.mark.parametrize("lengths,error,pattern", [
    (np.array([0, 2]), ConfigError, r"1\.\.5"),
    (np.array([6, 2]), ConfigError, r"got 6"),
    (np.array([5, 2, 1]), ShapeError, r"shape \(2,\)"),
    (np.array([2.5, 1.0]), DTypeError, "integers"),
])
def test_lengths_are_validated(lengths, error, pattern):
    with pytest.raises(error, match=pattern):
        nn.RNN(3, 4)(np.zeros((2, 5, 3), np.float32), lengths=lengths)


def test_configuration_errors():
    with pytest.raises(ConfigError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ConfigError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.0)
    with pytest.raises(ConfigError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ConfigError, match="recurrent_init"):
        nn.GRU(3, 4, recurrent_init="eye")
    with pytest.raises(ConfigError, match="forget_bias"):
        nn.LSTM(3, 4, bias=False, forget_bias=1.0)


# ----- pad_sequences ----------------------------------------------------------------------
def test_pad_sequences():
    padded, lengths = pad_sequences([np.array([1, 2, 3]), np.array([4])], value=-1)
    np.testing.assert_array_equal(padded, [[1, 2, 3], [4, -1, -1]])
    np.testing.assert_array_equal(lengths, [3, 1])
    assert padded.dtype == np.int64
    padded, lengths = pad_sequences([[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]], maxlen=3,
                                    padding="pre")
    assert padded.shape == (2, 3, 2) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[0], [[0, 0], [0, 0], [1, 2]])
    padded, lengths = pad_sequences([np.arange(5.0)], maxlen=2, truncating="pre")
    np.testing.assert_array_equal(padded, [[3.0, 4.0]])
    np.testing.assert_array_equal(lengths, [2])
    with pytest.raises(DataError, match="sequence 1 is empty"):
        pad_sequences([[1], []])
    with pytest.raises(ShapeError, match="sequence 1 has step shape"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ConfigError, match="padding"):
        pad_sequences([[1]], padding="middle")
