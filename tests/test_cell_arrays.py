"""The cells' graph-free step (``functional/recurrent/cell_arrays.py``): under no_grad() a cell
runs its formula on raw arrays; it must equal the Tensor formula (the reference, run with a
graph recorded), be taken where it should, and leave wrong inputs to the Tensor formula's
errors."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import AnnieError, ShapeError
from annie.functional.recurrent import cell_arrays, compiled

try:
    import numba  # noqa: F401
    HAS_NUMBA = True
except ImportError:
    HAS_NUMBA = False

CELLS = {"rnn-tanh": (nn.RNNCell, {"nonlinearity": "tanh"}),
         "rnn-relu": (nn.RNNCell, {"nonlinearity": "relu"}),
         "lstm": (nn.LSTMCell, {}), "gru": (nn.GRUCell, {})}
COMPILED = ["off", pytest.param("on", marks=pytest.mark.skipif(
    not HAS_NUMBA, reason="numba is not installed (pip install annie[fast])"))]


def _cell_and_inputs(kind, dtype, bias, batch, seed=0):
    cls, options = CELLS[kind]
    annie.manual_seed(seed)
    cell = cls(5, 7, bias=bias, dtype=dtype, **options)
    rng = np.random.default_rng(seed)
    for param in cell.parameters():  # larger weights: saturated and middle gates both occur
        param.data[...] = 1.5 * rng.standard_normal(param.data.shape)
    x = (2 * rng.standard_normal((batch, 5))).astype(dtype)
    states = [rng.standard_normal((batch, 7)).astype(dtype) for _ in range(cell.state_count)]
    return cell, x, states


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("numba_mode", COMPILED)
def test_graph_free_step_equals_the_tensor_formula(kind, dtype, bias, batch, numba_mode,
                                                   monkeypatch):
    """Under no_grad() (the array step) a cell gives what its Tensor formula gives with a
    graph recorded: float64 to rounding, float32 within a few ulps (the compiled LSTM step's
    rational tanh)."""
    monkeypatch.setenv("ANNIE_NUMBA", "1" if numba_mode == "on" else "0")
    cell, x, states = _cell_and_inputs(kind, dtype, bias, batch)
    state = tuple(annie.tensor(s) for s in states)
    state = state[0] if len(state) == 1 else state
    reference = _as_tuple(cell(annie.tensor(x, requires_grad=True), state))
    assert all(r.requires_grad for r in reference)  # the Tensor formula ran, with a graph
    calls = []
    step = getattr(cell_arrays, f"{kind.split('-')[0]}_step")
    monkeypatch.setattr(cell_arrays, step.__name__,
                        lambda *args, **kw: calls.append(1) or step(*args, **kw))
    with annie.no_grad():
        actual = _as_tuple(cell(annie.tensor(x), state))
    assert calls == [1]
    tolerance = 1e-13 if dtype == np.float64 else 2e-6
    for mine, expected in zip(actual, reference):
        assert mine.dtype == dtype and not mine.requires_grad
        np.testing.assert_allclose(mine.data, expected.data, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_layer_step_under_no_grad_equals_the_fused_kernel(kind):
    """RecurrentLayer.step (what generation runs) on the array path, stepped over a sequence,
    equals the layer's fused kernel over the whole sequence."""
    cls = {"rnn-tanh": nn.RNN, "rnn-relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    options = {"nonlinearity": kind.split("-")[1]} if kind.startswith("rnn") else {}
    annie.manual_seed(1)
    layer = cls(4, 6, num_layers=2, dtype=np.float64, **options)
    x = np.random.default_rng(1).standard_normal((2, 5, 4))
    with annie.no_grad():
        output, final = layer(annie.tensor(x))
        count = 2 if kind == "lstm" else 1
        states = [tuple(annie.tensor(np.zeros((2, 6))) for _ in range(count)) for _ in range(2)]
        for t in range(5):
            h = annie.tensor(x[:, t])
            for index in range(2):
                states[index] = layer.step(h, states[index], index)
                h = states[index][0]
            np.testing.assert_allclose(h.data, output.data[:, t], rtol=1e-12, atol=1e-12)
    finals = final if isinstance(final, tuple) else (final,)
    for i, stacked in enumerate(finals):
        for index in range(2):
            np.testing.assert_allclose(states[index][i].data, stacked.data[index],
                                       rtol=1e-12, atol=1e-12)


def _outcome(call):
    try:
        return "value", tuple(np.asarray(r.data) for r in _as_tuple(call()))
    except AnnieError as error:
        return "error", (type(error), str(error))


def test_inputs_the_array_step_does_not_take_behave_as_with_a_graph():
    """A dtype other than the cell's or a wrong shape under no_grad() falls back to the Tensor
    formula: the same error, or the same values and dtype, as with a graph recorded; an
    unbatched input still works."""
    cell = nn.LSTMCell(5, 7)
    state = (annie.tensor(np.zeros((2, 7), np.float32)),) * 2
    odd_inputs = [np.ones((2, 5), np.float64), np.ones((2, 4), np.float32),
                  np.ones((3, 5), np.float32)]
    for bad_x in odd_inputs:
        with_graph = _outcome(lambda: cell(annie.tensor(bad_x, requires_grad=True), state))
        with annie.no_grad():
            without = _outcome(lambda: cell(annie.tensor(bad_x), state))
        assert with_graph[0] == without[0]
        if with_graph[0] == "error":
            assert with_graph[1] == without[1]
        else:
            for mine, expected in zip(without[1], with_graph[1]):
                assert mine.dtype == expected.dtype
                np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-6)
    x = np.random.default_rng(0).standard_normal(5).astype(np.float32)
    h, c = cell(annie.tensor(x))
    with annie.no_grad():
        h2, c2 = cell(annie.tensor(x))
    assert h2.shape == (7,) and c2.shape == (7,)
    np.testing.assert_allclose(h2.data, h.data, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(c2.data, c.data, rtol=2e-6, atol=2e-6)


def test_the_tensor_formula_runs_when_a_graph_is_recorded_or_watched(monkeypatch):
    """With a graph recorded, or under detect_anomaly (which watches every op), the cell runs
    its Tensor formula, never the array step."""
    monkeypatch.setattr(cell_arrays, "lstm_step", lambda *args, **kw: pytest.fail("array step"))
    cell = nn.LSTMCell(3, 4)
    x = annie.tensor(np.ones((1, 3), np.float32))
    h, _ = cell(x)
    assert h.requires_grad
    with annie.detect_anomaly(), annie.no_grad():
        cell(x)
    assert compiled  # the module the float32 step comes from stays importable


def test_plain_array_states_take_the_array_step(monkeypatch):
    """States given as plain NumPy arrays (as the layers' zero states are) take the array step
    too, and give what Tensors give."""
    cell, x, states = _cell_and_inputs("lstm", np.float64, True, 2)
    calls = []
    step = cell_arrays.lstm_step
    monkeypatch.setattr(cell_arrays, "lstm_step",
                        lambda *args, **kw: calls.append(1) or step(*args, **kw))
    with annie.no_grad():
        from_arrays = cell(annie.tensor(x), tuple(states))
        from_tensors = cell(annie.tensor(x), tuple(annie.tensor(s) for s in states))
    assert calls == [1, 1]
    for a, b in zip(from_arrays, from_tensors):
        np.testing.assert_array_equal(a.data, b.data)


LAYERS = {"rnn-tanh": (nn.RNN, {"nonlinearity": "tanh"}), "rnn-relu": (nn.RNN, {"nonlinearity":
                                                                             "relu"}),
          "lstm": (nn.LSTM, {}), "gru": (nn.GRU, {})}


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True},
                                     {"batch_first": False, "bias": False},
                                     {"num_layers": 2, "dropout": 0.5}])
@pytest.mark.parametrize("batch,with_state,with_lengths", [(1, False, False), (3, True, True),
                                                           (0, False, False)])
@pytest.mark.parametrize("numba_mode", COMPILED)
def test_one_step_layer_call_under_no_grad_equals_the_kernel(kind, dtype, options, batch,
                                                             with_state, with_lengths,
                                                             numba_mode, monkeypatch):
    """A layer called on one time step under no_grad() (a stream, a decoder) runs the cell
    formula once per layer and direction, no kernel: output and final states equal the
    kernel's with a graph recorded, for stacked, bidirectional, time-major, bias-free layers,
    an initial state, lengths (all 1) and an empty batch; in eval mode, so no dropout."""
    monkeypatch.setenv("ANNIE_NUMBA", "1" if numba_mode == "on" else "0")
    cls, extra = LAYERS[kind]
    annie.manual_seed(2)
    layer = cls(5, 6, dtype=dtype, **extra, **options).eval()
    rng = np.random.default_rng(2)
    batch_first = options.get("batch_first", True)
    x = rng.standard_normal((batch, 1, 5) if batch_first else (1, batch, 5)).astype(dtype)
    count = layer.num_layers * (2 if layer.bidirectional else 1)
    h0 = rng.standard_normal((count, batch, 6)).astype(dtype)
    state = None
    if with_state:
        state = (annie.tensor(h0), annie.tensor(0.5 * h0)) if kind == "lstm" else annie.tensor(h0)
    lengths = np.ones(batch, dtype=np.int64) if with_lengths else None
    reference = layer(annie.tensor(x, requires_grad=True), state, lengths=lengths)
    monkeypatch.setattr(type(layer), "_kernel", lambda *args, **kw: pytest.fail("kernel"))
    with annie.no_grad():
        actual = layer(annie.tensor(x), state, lengths=lengths)
    flat = [actual[0], *(actual[1] if isinstance(actual[1], tuple) else (actual[1],))]
    expected = [reference[0],
                *(reference[1] if isinstance(reference[1], tuple) else (reference[1],))]
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    for mine, theirs in zip(flat, expected):
        assert mine.shape == theirs.shape and mine.dtype == dtype
        np.testing.assert_allclose(mine.data, theirs.data, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_one_step_layer_call_keeps_the_kernels_errors_and_stateful_carry(kind):
    """The one-step path refuses what the kernel refuses, with the same message (a state of
    another dtype), and a stateful layer carries its state across one-step calls as across
    one long call."""
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    layer = cls(3, 4)
    x = annie.tensor(np.ones((2, 1, 3), np.float32))
    bad = annie.tensor(np.zeros((1, 2, 4), np.float64))
    state = (bad, bad) if kind == "lstm" else bad
    with pytest.raises(AnnieError) as with_graph:
        layer(x, state)
    with annie.no_grad(), pytest.raises(type(with_graph.value)) as without:
        layer(x, state)
    assert str(without.value) == str(with_graph.value)
    annie.manual_seed(4)
    stateful = cls(3, 4, stateful=True, dtype=np.float64)
    sequence = np.random.default_rng(4).standard_normal((2, 5, 3))
    with annie.no_grad():
        whole, _ = stateful(annie.tensor(sequence))
        stateful.reset_state()
        pieces = [stateful(annie.tensor(sequence[:, t:t + 1]))[0].data for t in range(5)]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole.data, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("numba_mode", COMPILED)
def test_bias_free_gru_with_every_sequence_shorter_than_the_batch(numba_mode, monkeypatch):
    """A bias-free GRU over a batch padded past its longest sequence (steps where no sequence
    runs) gives what the unrolled cell loop gives (the compiled step once indexed a row of an
    empty block there)."""
    monkeypatch.setenv("ANNIE_NUMBA", "1" if numba_mode == "on" else "0")
    annie.manual_seed(5)
    layer = nn.GRU(3, 4, bias=False, dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((2, 5, 3))
    output, h_n = layer(annie.tensor(x), lengths=[3, 2])
    with layer.stepwise():
        expected, expected_h = layer(annie.tensor(x), lengths=[3, 2])
    np.testing.assert_allclose(output.data, expected.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.data, expected_h.data, rtol=1e-12, atol=1e-12)
    assert not output.data[:, 3:].any()


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn-tanh"])
@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_other_float_dtypes_run_the_numpy_steps(kind, dtype, monkeypatch):
    """A layer built in float16 or longdouble runs (the compiled loops are float32/float64
    only, so it takes the NumPy steps), with a graph and under no_grad, one step and many, and
    agrees with the same layer in float64."""
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    cls, extra = LAYERS[kind]
    annie.manual_seed(6)
    layer = cls(3, 4, dtype=dtype, **extra)
    reference = cls(3, 4, dtype=np.float64, **extra)
    reference.load_state_dict({k: np.asarray(v, np.float64)
                               for k, v in layer.state_dict().items()})
    tolerance = 5e-3 if dtype == np.float16 else 1e-12
    for steps in (1, 4):
        x = np.random.default_rng(steps).standard_normal((2, steps, 3))
        output, _ = layer(annie.tensor(x.astype(dtype), requires_grad=True))
        output.sum().backward()
        with annie.no_grad():
            quiet, _ = layer(annie.tensor(x.astype(dtype)))
            expected, _ = reference(annie.tensor(x))
        for result in (output, quiet):
            assert result.dtype == dtype
            np.testing.assert_allclose(result.data.astype(np.float64), expected.data,
                                       rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_step_refuses_a_bare_state(kind):
    """RecurrentLayer.step takes its state as a tuple, (h,) or (h, c): a bare (batch, hidden)
    tensor (which tuple() would split into rows) is refused, naming the expected form."""
    cls, extra = LAYERS[kind]
    layer = cls(3, 4, **extra)
    x = annie.tensor(np.zeros((2, 3), np.float32))
    h = annie.tensor(np.ones((2, 4), np.float32))
    expected = "(h, c)" if kind == "lstm" else "(h,)"
    with pytest.raises(ShapeError, match=r"state must be a tuple " + expected.replace(
            "(", r"\(").replace(")", r"\)")):
        layer.step(x, h)
    with pytest.raises(ShapeError, match="of length 3"):
        layer.step(x, (h, h, h))
    state = (h, h) if kind == "lstm" else (h,)
    assert len(layer.step(x, state)) == len(state)


@pytest.mark.parametrize("numba_mode", COMPILED)
def test_sigmoid_gates_stay_within_0_and_1(numba_mode, monkeypatch):
    """A forget gate read through c' = f (c = 1, i g = 0) over a dense grid of pre-activations
    stays within [0, 1] and within a few float32 spacings near 1 of the exact sigmoid, on the
    array step and through the fused kernel's gate-major steps (compiled: the rational tanh is
    exactly +-1 beyond 8; up to 9 its float32 evaluation could round above 1, and a gate read
    -6e-8)."""
    monkeypatch.setenv("ANNIE_NUMBA", "1" if numba_mode == "on" else "0")
    cell = nn.LSTMCell(1, 1)
    for param in cell.parameters():
        param.data[...] = 0
    cell.weight_ih.data[1, 0] = 1.0  # forget gate pre-activation = x
    a = np.linspace(-24, 24, 200001).astype(np.float32)
    ones, zeros = np.ones((a.size, 1), np.float32), np.zeros((a.size, 1), np.float32)
    with annie.no_grad():
        _, c = cell(annie.tensor(a[:, None]), (annie.tensor(zeros), annie.tensor(ones)))
    exact = 1 / (1 + np.exp(-a.astype(np.float64)))
    gate = c.data[:, 0].astype(np.float64)
    assert gate.min() >= 0 and gate.max() <= 1
    assert np.abs(gate - exact).max() <= 2e-7
    layer = nn.LSTM(1, 1, batch_first=False)
    layer.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    grid = a[::1000]  # 201 sequences: the gate-major steps (batch 2 to 255)
    x = np.stack([grid, grid])[:, :, None]  # (T = 2, batch, 1)
    start = (annie.tensor(np.zeros((1, grid.size, 1), np.float32)),
             annie.tensor(np.ones((1, grid.size, 1), np.float32)))
    with annie.no_grad():
        _, (_, c_n) = layer(annie.tensor(x), start)
    assert c_n.data.min() >= 0 and c_n.data.max() <= 1


def test_an_rnn_nonlinearity_changed_after_construction_is_refused_on_every_path():
    """The one-step array path, the cell formula and the kernel all refuse a nonlinearity other
    than tanh or relu with the same ConfigError (none quietly computes relu)."""
    from annie.errors import ConfigError
    from annie.functional.recurrent import rnn_cell
    layer = nn.RNN(3, 4)
    layer.nonlinearity = "sigmoid"
    x = annie.tensor(np.ones((2, 1, 3), np.float32))
    messages = set()
    for grad in (True, False):
        for steps in (1, 2):
            x = annie.tensor(np.ones((2, steps, 3), np.float32))
            with pytest.raises(ConfigError) as error:
                if grad:
                    layer(x)
                else:
                    with annie.no_grad():
                        layer(x)
            messages.add(str(error.value))
    assert messages == {"rnn: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"}
    params = [p.data for p in layer.parameters()]
    for grad in (True, False):
        with pytest.raises(ConfigError, match="nonlinearity must be"):
            if grad:
                rnn_cell(np.ones((2, 3), np.float32), (np.zeros((2, 4), np.float32),), *params,
                         nonlinearity="sigmoid")
            else:
                with annie.no_grad():
                    rnn_cell(np.ones((2, 3), np.float32), (np.zeros((2, 4), np.float32),),
                             *params, nonlinearity="sigmoid")


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("graph", [True, False])
def test_every_cell_step_refuses_a_bare_state(kind, graph):
    """The functional cells (and so every ``step`` over them: the nn cells', the layers') take
    the state as a tuple; a bare (batch, hidden) tensor is refused with and without a graph,
    not taken apart row by row."""
    import contextlib
    cell, x, states = _cell_and_inputs(kind, np.float32, True, 2)
    bare = annie.tensor(states[0])
    form = r"\(h, c\)" if kind == "lstm" else r"\(h,\)"
    expected = "state must be a tuple " + form
    with contextlib.nullcontext() if graph else annie.no_grad():
        with pytest.raises(ShapeError, match=expected):
            cell.step(annie.tensor(x), bare)
        new_state = cell.step(annie.tensor(x), tuple(annie.tensor(s) for s in states))
    assert len(new_state) == len(states)
