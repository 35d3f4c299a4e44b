"""The cells' graph-free step (``functional/recurrent/cell_arrays.py``): under no_grad() a cell
runs its formula on raw arrays; it must equal the Tensor formula (the reference, run with a
graph recorded), be taken where it should, and leave wrong inputs to the Tensor formula's
errors."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import AnnieError
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
