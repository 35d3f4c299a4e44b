"""The per-step seam of the recurrent layers and cells, the compiled steps and the empty batch.

- the fused whole-sequence kernels equal the generic unrolled loop over each layer's cell
  formula (``stepwise``): outputs, final states and every gradient in float64, stacked,
  bidirectional, with lengths, on the NumPy steps and on the compiled (numba) steps;
- the compiled per-step loops equal the NumPy steps (float32 and float64), compiled by numba
  and, without numba, run as plain Python;
- ``step``, ``stepwise``'s watch protocol, gradcheck of each kernel on both step paths;
- an empty batch (0, T, F) gives zero-size outputs and gradients (PyTorch's shapes), T = 0 a
  clear error (PyTorch refuses it too).
"""
import importlib
import importlib.util

import numpy as np
import pytest

import annie
from annie import nn
from annie.diagnostics import gradcheck
from annie.errors import ConfigError, ShapeError
from annie.functional.recurrent import compiled, gru, loops, lstm, rnn

lstm_module = importlib.import_module("annie.functional.recurrent.lstm")

HAS_NUMBA = importlib.util.find_spec("numba") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None
LAYERS = {"rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
          "lstm": (nn.LSTM, {}), "gru": (nn.GRU, {})}
NEEDS_NUMBA = pytest.mark.skipif(not HAS_NUMBA,
                                 reason="numba is not installed (pip install annie[fast])")
STEP_PATHS = ["numpy", pytest.param("numba", marks=NEEDS_NUMBA),
              pytest.param("numba-sequence", marks=NEEDS_NUMBA),
              pytest.param("numba-columns", marks=NEEDS_NUMBA),
              pytest.param("numba-columns-sequence", marks=NEEDS_NUMBA)]


@pytest.fixture(params=STEP_PATHS)
def step_path(request, monkeypatch):
    """Run the kernels on the NumPy steps, on the compiled ones, or (LSTM) on the compiled
    whole-sequence loops, the compiled gate-major steps or their whole loop compiled (calling
    OpenBLAS), forced at every size and dtype."""
    monkeypatch.setenv("ANNIE_NUMBA", "0" if request.param == "numpy" else "1")
    if request.param == "numba-sequence":
        monkeypatch.setattr(compiled, "sequence_functions", lambda kind, *size:
                            compiled.numba_steps().get(f"{kind}_sequence"))
    if request.param.startswith("numba-columns"):
        monkeypatch.setattr(compiled, "sequence_functions", lambda *args: None)
        monkeypatch.setattr(compiled, "column_functions", lambda kind, dtype, batch:
                            compiled.numba_steps().get(f"{kind}_columns"))
        whole = request.param == "numba-columns-sequence"
        monkeypatch.setattr(compiled, "column_sequence_functions", lambda kind, dtype, batch:
                            compiled.numba_steps().get(f"{kind}_columns_sequence")
                            if whole else None)
    return request.param


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _layer(kind, **options):
    cls, extra = LAYERS[kind]
    return cls(3, 4, dtype=np.float64, **extra, **options)


def _run(layer, kind, x_data, h0_data, lengths):
    """Outputs, final states and gradients (x, h0, parameters) of one forward/backward."""
    x = annie.tensor(x_data, requires_grad=True)
    h0 = annie.tensor(h0_data, requires_grad=True)
    state = (h0, h0 * 0.5) if kind == "lstm" else h0
    output, final = layer(x, state, lengths=lengths)
    finals = final if kind == "lstm" else (final,)
    weights = _random(output.shape, seed=3)
    loss = (output * weights).sum() + sum((f * f).sum() for f in finals)
    layer.zero_grad()
    loss.backward()
    return [output.data, *(f.data for f in finals), x.grad, h0.grad,
            *(p.grad for p in layer.parameters())]


# ----- fused kernels == the unrolled loop over the cell formula ---------------------------
@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("num_layers,bidirectional,with_lengths",
                         [(1, False, False), (2, True, True), (2, False, True)])
def test_fused_kernels_equal_the_unrolled_cell_loop(kind, num_layers, bidirectional,
                                                    with_lengths, step_path):
    layer = _layer(kind, num_layers=num_layers, bidirectional=bidirectional)
    lengths = np.array([7, 3, 5, 1]) if with_lengths else None
    x_data = _random((4, 7, 3), seed=1)
    h0_data = _random((num_layers * (1 + bidirectional), 4, 4), seed=2)
    fused = _run(layer, kind, x_data, h0_data, lengths)
    with layer.stepwise():
        unrolled = _run(layer, kind, x_data, h0_data, lengths)
    assert "_watch" not in vars(layer)  # the block ends: back to the fused kernels
    for a, b in zip(fused, unrolled):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("batch,steps,lengths", [(1, 1, None), (2, 2, None), (1, 4, None),
                                                 (2, 2, [1, 2]), (1, 5, None)])
@pytest.mark.parametrize("bias", [True, False])
def test_few_rows_fused_kernels_equal_the_unrolled_cell_loop(kind, batch, steps, lengths, bias,
                                                             step_path):
    """Where steps * batch is at most input_size + 1 (short sequences of a small batch) the
    input projection adds the biases to the product instead of copying [W_ih | b]; outputs and
    every gradient still equal the unrolled cell loop's (the last size, 5 rows for 3 inputs,
    takes the copy)."""
    layer = _layer(kind, bias=bias, bidirectional=True)
    x_data = _random((batch, steps, 3), seed=4)
    h0_data = _random((2, batch, 4), seed=5)
    lengths = None if lengths is None else np.array(lengths)
    fused = _run(layer, kind, x_data, h0_data, lengths)
    with layer.stepwise():
        unrolled = _run(layer, kind, x_data, h0_data, lengths)
    for a, b in zip(fused, unrolled):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("with_lengths", [False, True])
def test_scaled_products_instead_of_a_halved_copy_equal_the_unrolled_cell_loop(
        kind, with_lengths, step_path, monkeypatch):
    """Over few steps the sigmoid gates' halving is applied to each step's product instead of
    to a copy of W_hh (``recurrent_weight``): forced here at every size, outputs and gradients
    equal the unrolled cell loop's."""
    from annie.functional.recurrent import kernel
    monkeypatch.setattr(kernel, "SCALED_PRODUCT_WEIGHTS", 0)
    layer = _layer(kind, num_layers=2, bidirectional=True)
    lengths = np.array([5, 2, 4]) if with_lengths else None
    x_data = _random((3, 5, 3), seed=6)
    h0_data = _random((4, 3, 4), seed=7)
    fused = _run(layer, kind, x_data, h0_data, lengths)
    with layer.stepwise():
        unrolled = _run(layer, kind, x_data, h0_data, lengths)
    for a, b in zip(fused, unrolled):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_step_is_one_step_of_the_layer_and_checks_its_arguments():
    layer = _layer("lstm", num_layers=2, bidirectional=True)
    x = _random((2, 1, 3))
    output, (h_n, c_n) = layer(annie.tensor(x))
    h, c = layer.step(annie.tensor(x[:, 0]), (np.zeros((2, 4)), np.zeros((2, 4))))
    np.testing.assert_allclose(h.data, h_n.data[0], atol=1e-14)
    np.testing.assert_allclose(c.data, c_n.data[0], atol=1e-14)
    h_reverse, _ = layer.step(annie.tensor(x[:, 0]), (np.zeros((2, 4)), np.zeros((2, 4))),
                              direction=1)
    np.testing.assert_allclose(h_reverse.data, h_n.data[1], atol=1e-14)
    with pytest.raises(ConfigError, match="no layer 2"):
        layer.step(annie.tensor(x[:, 0]), (np.zeros((2, 4)),) * 2, layer=2)
    with pytest.raises(ConfigError, match="direction 2"):
        layer.step(annie.tensor(x[:, 0]), (np.zeros((2, 4)),) * 2, direction=2)


def test_stepwise_watch_sees_every_sequence_and_can_replace_states():
    layer = _layer("gru", num_layers=2, bidirectional=True)
    x = annie.tensor(_random((2, 5, 3)))
    seen = []

    def watch(name, steps):
        times = []
        seen.append((name, steps, times))

        def on_state(t, state):
            times.append(t)
            return (state[0] * 0.0,)  # a state replaced by zeros: the next step starts fresh
        return on_state

    with layer.stepwise(watch):
        output, h_n = layer(x)
    assert [(name, steps) for name, steps, _ in seen] == [
        ("l0", 5), ("l0_reverse", 5), ("l1", 5), ("l1_reverse", 5)]
    assert seen[0][2] == [0, 1, 2, 3, 4] and seen[1][2] == [4, 3, 2, 1, 0]
    assert np.all(output.data == 0) and np.all(h_n.data == 0)
    cell = nn.GRUCell(3, 4)
    with cell.stepwise(watch):
        cell(annie.tensor(_random((2, 3))))
    assert seen[-1][:2] == ("", 1)



@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_stepwise_observer_returning_none_keeps_the_state(kind):
    """An ``on_state`` that only watches (returns None) leaves the recurrence unchanged, in a
    sequence layer and in a cell: the same outputs as one that hands every state back."""
    steps_seen = []

    def observe(name, steps):
        return lambda t, state: steps_seen.append((name, t))

    def hand_back(name, steps):
        return lambda t, state: state

    layer = _layer(kind, num_layers=2)
    x = annie.tensor(_random((2, 5, 3)))
    with layer.stepwise(hand_back):
        expected, _ = layer(x)
    with layer.stepwise(observe):
        output, _ = layer(x)
    np.testing.assert_array_equal(output.data, expected.data)
    assert steps_seen == [(name, t) for name in ("l0", "l1") for t in range(5)]
    cell = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](3, 4, dtype=np.float64)
    x_t = annie.tensor(_random((2, 3)))
    with cell.stepwise(hand_back):
        expected = cell(x_t)
    with cell.stepwise(observe):
        watched = cell(x_t)
    if kind == "gru":
        expected, watched = (expected,), (watched,)
    for a, b in zip(expected, watched):
        np.testing.assert_array_equal(b.data, a.data)
    assert steps_seen[-1] == ("", 0)


def test_stepwise_on_state_returning_a_wrong_value_is_refused():
    layer = _layer("gru")
    with layer.stepwise(lambda name, steps: (lambda t, state: 3.0)):
        with pytest.raises(ConfigError, match=r"on_state.*returned 3\.0"):
            layer(annie.tensor(_random((2, 5, 3))))

# ----- compiled steps == NumPy steps ----------------------------------------------------------
def _kernel_results(kind, dtype, lengths, reverse):
    rng = np.random.default_rng(5)
    steps, batch, inputs, hidden = 6, 3, 2, 5
    gates = {"lstm": 4, "gru": 3}[kind]
    arrays = [rng.standard_normal((steps, batch, inputs)), rng.standard_normal((batch, hidden))]
    if kind == "lstm":
        arrays.append(rng.standard_normal((batch, hidden)))
    arrays += [0.5 * rng.standard_normal((gates * hidden, inputs)),
               0.5 * rng.standard_normal((gates * hidden, hidden)),
               0.5 * rng.standard_normal(gates * hidden), 0.5 * rng.standard_normal(gates * hidden)]
    tensors = [annie.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    kernel = {"lstm": lstm, "gru": gru}[kind]
    outputs = kernel(*tensors, lengths=lengths, reverse=reverse)
    upstream = [rng.standard_normal(o.shape).astype(dtype) for o in outputs]
    sum((o * u).sum() for o, u in zip(outputs, upstream)).backward()
    return [o.data for o in outputs] + [t.grad for t in tensors]


@pytest.mark.parametrize("loops", ["python", pytest.param("numba", marks=NEEDS_NUMBA)])
@pytest.mark.parametrize("kind,path", [("lstm", "steps"), ("lstm", "float32_step"),
                                       ("lstm", "sequence"), ("lstm", "columns"),
                                       ("lstm", "columns_sequence"), ("gru", "steps")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lengths,reverse", [(None, False), (np.array([2, 6, 4]), True)])
def test_compiled_loops_equal_numpy_steps(loops, kind, path, dtype, lengths, reverse,
                                          monkeypatch):
    """Each compiled path (per-step loops, the LSTM's one-call forward step with the rational
    tanh, the whole-sequence loops, the gate-major steps), compiled and as plain Python, equals
    the NumPy steps."""
    monkeypatch.setenv("ANNIE_NUMBA", "0")
    reference = _kernel_results(kind, dtype, lengths, reverse)
    functions = compiled.python_steps() if loops == "python" else compiled.numba_steps()
    pair = functions[kind if path == "steps" else f"{kind}_float32"]
    monkeypatch.setattr(compiled, "step_functions", lambda name, numpy_steps, dtype=None: pair)
    sequence = functions[f"{kind}_sequence"] if path == "sequence" else None
    monkeypatch.setattr(compiled, "sequence_functions", lambda name, *size: sequence)
    columns = functions[f"{kind}_columns"] if path.startswith("columns") else None
    monkeypatch.setattr(compiled, "column_functions", lambda name, dtype, batch: columns)
    whole = functions.get(f"{kind}_columns_sequence") if path == "columns_sequence" else None
    if path == "columns_sequence" and whole is None:
        pytest.skip("NumPy's OpenBLAS (with its cblas gemm) not found: that loop is not built")
    monkeypatch.setattr(compiled, "column_sequence_functions", lambda name, dtype, batch: whole)
    actual = _kernel_results(kind, dtype, lengths, reverse)
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(reference, actual):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("loops", ["python", pytest.param("numba", marks=NEEDS_NUMBA)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1024, 256), (48, 17), (1, 5), (5, 1), (0, 3)])
def test_transpose_equals_numpys(loops, dtype, shape):
    """The weights' transpose (float32: OpenBLAS's somatcopy where NumPy's OpenBLAS is found,
    else 16 x 16 tiles) is exactly NumPy's a.T, at shapes that are and are not multiples of
    the tile; ``compiled.transposed`` hands back a new C-contiguous array."""
    a = _random(shape, seed=3).astype(dtype)
    functions = compiled.python_steps() if loops == "python" else compiled.numba_steps()
    out = np.full(shape[::-1], np.nan, dtype=dtype)
    functions["transpose"](out, a)
    np.testing.assert_array_equal(out, a.T)
    result = compiled.transposed(a)
    assert result.flags.c_contiguous and result.dtype == dtype
    assert not np.shares_memory(result, a)
    np.testing.assert_array_equal(result, a.T)


def test_gate_major_path_reads_the_callers_weights_without_copies(monkeypatch):
    """The gate-major LSTM keeps the caller's gate order and weights: its run never makes the
    permuted kernel-order copies, and asking for the caller's order after a copy was made is
    refused (the loops would read the wrong blocks)."""
    from annie.functional.recurrent.kernel import SequenceRun
    runs = []
    original = SequenceRun.keep_caller_order

    def spy(run):
        original(run)
        runs.append(run)
    monkeypatch.setattr(SequenceRun, "keep_caller_order", spy)
    monkeypatch.setattr(compiled, "sequence_functions", lambda *args: None)
    monkeypatch.setattr(compiled, "column_functions", lambda kind, dtype, batch:
                        compiled.python_steps()[f"{kind}_columns"])
    monkeypatch.setattr(compiled, "column_sequence_functions", lambda *args: None)
    layer = nn.LSTM(3, 4)
    x = annie.tensor(_random((2, 5, 3)).astype(np.float32))
    output, _ = layer(x)
    output.sum().backward()
    assert len(runs) == 1
    run = runs[0]
    assert run.rows is None and run.column_scale() is None
    assert run.w_hh is run.weight_hh and run.w_ih is run.weight_ih
    with pytest.raises(RuntimeError, match="already permuted"):
        run.keep_caller_order()


def test_rational_tanh_is_within_a_few_float32_ulps():
    """The float32 rational tanh (``tanh_scalar``) against float64 tanh over the whole line; a
    NaN stays NaN. (The compiled loops run the same function: the test above.)"""
    x = np.concatenate([np.linspace(-20, 20, 20001), np.geomspace(1e-30, 9.5, 2001),
                        [8.99, 9.01, np.inf, -np.inf, np.nan]]).astype(np.float32)
    row = np.array([loops.tanh_scalar(value) for value in x], dtype=np.float32)
    assert row.dtype == np.float32 and np.isnan(row[-1])
    np.testing.assert_allclose(row[:-1], np.tanh(x[:-1].astype(np.float64)), rtol=4e-7,
                               atol=1e-37)


def test_numpy_steps_are_the_default_without_numba(monkeypatch):
    monkeypatch.setenv("ANNIE_NUMBA", "0")
    assert not compiled.enabled()
    numpy_pair = (lstm_module.forward_step, lstm_module.backward_step)
    assert compiled.step_functions("lstm", numpy_pair) is numpy_pair
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    expected = numpy_pair if not HAS_NUMBA else compiled.numba_steps()["lstm"]
    assert compiled.step_functions("lstm", numpy_pair) == expected


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_kernel_gradcheck_on_each_step_path(kind, step_path):
    layer = _layer(kind, bidirectional=True)
    x = annie.tensor(_random((2, 4, 3), seed=6), requires_grad=True)
    h0 = annie.tensor(_random((2, 2, 4), seed=7), requires_grad=True)
    lengths = np.array([4, 2])

    def run(x, h0, *params):
        state = (h0, h0 * 0.3) if kind == "lstm" else h0
        output, final = layer(x, state, lengths=lengths)
        return (output, *final) if kind == "lstm" else (output, final)

    result = gradcheck(run, [x, h0, *layer.parameters()], raise_exception=False)
    assert result.ok, str(result)


# ----- empty batch, no time steps ----------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("with_lengths", [False, True])
def test_empty_batch_gives_empty_outputs_and_zero_size_gradients(kind, with_lengths, step_path):
    layer = _layer(kind, num_layers=2, bidirectional=True)
    x = annie.tensor(np.zeros((0, 5, 3)), requires_grad=True)
    lengths = np.zeros(0, dtype=np.int64) if with_lengths else None
    output, final = layer(x, lengths=lengths)
    finals = final if kind == "lstm" else (final,)
    assert output.shape == (0, 5, 8)
    assert all(f.shape == (4, 0, 4) for f in finals)
    (output.sum() + sum(f.sum() for f in finals)).backward()
    assert x.grad.shape == (0, 5, 3)
    for param in layer.parameters():  # PyTorch gives zero gradients of the weights' shapes
        assert param.grad.shape == param.shape and not param.grad.any()
    with layer.stepwise():
        unrolled, _ = layer(annie.tensor(np.zeros((0, 5, 3))), lengths=lengths)
    assert unrolled.shape == (0, 5, 8)


@pytest.mark.parametrize("kernel,states,gates", [(rnn, 1, 1), (gru, 1, 3), (lstm, 2, 4)])
def test_empty_batch_in_the_functional_kernels(kernel, states, gates):
    x = annie.tensor(np.zeros((5, 0, 3)), requires_grad=True)
    start = [annie.tensor(np.zeros((0, 4)), requires_grad=True) for _ in range(states)]
    weights = [annie.tensor(_random(shape), requires_grad=True)
               for shape in [(gates * 4, 3), (gates * 4, 4), (gates * 4,), (gates * 4,)]]
    outputs = kernel(x, *start, *weights)
    assert outputs[0].shape == (5, 0, 4) and all(o.shape == (0, 4) for o in outputs[1:])
    sum(o.sum() for o in outputs).backward()
    assert x.grad.shape == (5, 0, 3) and all(s.grad.shape == (0, 4) for s in start)
    assert all(w.grad.shape == w.shape and not w.grad.any() for w in weights)


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.GRUCell, nn.LSTMCell])
def test_empty_batch_in_the_cells(cell_class):
    cell = cell_class(3, 4, dtype=np.float64)
    x = annie.tensor(np.zeros((0, 3)), requires_grad=True)
    state = cell(x)
    h = state[0] if cell_class is nn.LSTMCell else state
    assert h.shape == (0, 4)
    h.sum().backward()
    assert x.grad.shape == (0, 3)
    assert all(p.grad.shape == p.shape and not p.grad.any() for p in cell.parameters())


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install annie[parity])")
@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_empty_batch_shapes_and_zero_time_steps_as_pytorch(name):
    import torch
    ours = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    output, final = ours(np.zeros((0, 5, 3), np.float32))
    expected_output, expected_final = theirs(torch.zeros(0, 5, 3))
    assert output.shape == tuple(expected_output.shape)
    ours_h = final[0] if name == "LSTM" else final
    theirs_h = expected_final[0] if name == "LSTM" else expected_final
    assert ours_h.shape == tuple(theirs_h.shape)
    with pytest.raises(RuntimeError):
        theirs(torch.zeros(2, 0, 3))
    with pytest.raises(ShapeError, match=f"{name}: the input has no time steps"):
        ours(np.zeros((2, 0, 3), np.float32))


@pytest.mark.parametrize("kernel,states,gates", [(rnn, 1, 1), (gru, 1, 3), (lstm, 2, 4)])
def test_zero_time_steps_is_a_clear_error_in_the_kernels(kernel, states, gates):
    with pytest.raises(ShapeError, match="at least one time step"):
        kernel(np.zeros((0, 2, 3)), *[np.zeros((2, 4))] * states, np.zeros((gates * 4, 3)),
               np.zeros((gates * 4, 4)))


# ----- generation through the seam ---------------------------------------------------------
def _char_model(cell):
    annie.manual_seed(3)
    chars = "abcdefgh"
    model = nn.CharLanguageModel(len(chars), hidden_size=6, embedding_dim=5, cell=cell,
                                 num_layers=2, chars=chars).double()
    return model, chars


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_greedy_generation_step_by_step_equals_whole_sequence_passes(cell):
    """Each generated character is one ``rnn.step`` per layer; the same text comes out of
    re-running the fused kernels over the whole text so far and taking the argmax."""
    model, chars = _char_model(cell)
    text = model.generate("abc", 12, temperature=0)
    expected = "abc"
    with annie.no_grad():
        for _ in range(12):
            ids = np.array([[chars.index(c) for c in expected]])
            logits, _ = model(ids)
            expected += chars[int(np.argmax(logits.data[0, -1]))]
    assert text == expected


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install annie[parity])")
def test_greedy_generation_equals_pytorchs_step_loop():
    import torch
    model, chars = _char_model("lstm")
    embedding = torch.nn.Embedding(8, 5).double()
    layer = torch.nn.LSTM(5, 6, num_layers=2, batch_first=True).double()
    head = torch.nn.Linear(6, 8).double()
    state = model.state_dict()
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(state["embedding.weight"]))
        for name, param in layer.named_parameters():
            param.copy_(torch.from_numpy(state[f"rnn.{name}"]))
        head.weight.copy_(torch.from_numpy(state["head.weight"]))
        head.bias.copy_(torch.from_numpy(state["head.bias"]))
        output, hidden = layer(embedding(torch.tensor([[chars.index("h")]])))
        text = "h"
        for _ in range(15):
            token = int(head(output[0, -1]).argmax())
            text += chars[token]
            output, hidden = layer(embedding(torch.tensor([[token]])), hidden)
    assert model.generate("h", 15, temperature=0) == text


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install annie[parity])")
@pytest.mark.parametrize("batch,hidden", [(1, 64), (1, 300), (2, 300), (3, 700), (16, 40),
                                          (260, 8)])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_float32_lstm_equals_pytorch_on_the_path_its_size_takes(batch, hidden, with_lengths):
    """A float32 LSTM as users run it (no path forced: the whole-sequence loops, the gate-major
    steps or the batch-major steps, whichever its batch and hidden size take, all in the
    caller's or the kernel's gate order) against PyTorch's: outputs, final states and every
    gradient, with a random upstream gradient on the output and on both final states."""
    import torch
    rng = np.random.default_rng(batch * 1000 + hidden)
    steps, inputs = 6, 5
    layer = nn.LSTM(inputs, hidden, batch_first=True)
    twin = torch.nn.LSTM(inputs, hidden, batch_first=True)
    with torch.no_grad():
        for name, param in twin.named_parameters():
            param.copy_(torch.from_numpy(getattr(layer, name).data))
    x = rng.standard_normal((batch, steps, inputs)).astype(np.float32)
    lengths = rng.integers(1, steps + 1, batch) if with_lengths else None
    if with_lengths:
        lengths[0] = steps
        for b, n in enumerate(lengths):
            x[b, n:] = 0
    upstream = [rng.standard_normal(shape).astype(np.float32)
                for shape in [(batch, steps, hidden), (1, batch, hidden), (1, batch, hidden)]]
    x_annie = annie.tensor(x, requires_grad=True)
    output, (h_n, c_n) = layer(x_annie, lengths=lengths)
    ((output * annie.tensor(upstream[0])).sum() + (h_n * annie.tensor(upstream[1])).sum()
     + (c_n * annie.tensor(upstream[2])).sum()).backward()
    x_torch = torch.from_numpy(x).requires_grad_(True)
    if with_lengths:
        packed = torch.nn.utils.rnn.pack_padded_sequence(x_torch, torch.from_numpy(lengths),
                                                         batch_first=True, enforce_sorted=False)
        packed_out, (th, tc) = twin(packed)
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True,
                                                          total_length=steps)
    else:
        t_out, (th, tc) = twin(x_torch)
    ((t_out * torch.from_numpy(upstream[0])).sum() + (th * torch.from_numpy(upstream[1])).sum()
     + (tc * torch.from_numpy(upstream[2])).sum()).backward()
    pairs = [(output.data, t_out), (h_n.data, th), (c_n.data, tc), (x_annie.grad, x_torch.grad)]
    pairs += [(getattr(layer, name).grad, param.grad) for name, param in twin.named_parameters()]
    for mine, theirs in pairs:
        theirs = theirs.detach().numpy()
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=2e-5 * max(1, np.abs(theirs).max()))


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (pip install annie[fast])")
def test_each_path_runs_where_it_pays(monkeypatch):
    """float32 up to batch 4 with a small batch * hidden runs the whole-sequence loops over
    sequences of at least hidden / 16 steps, batch 2 to 255 beyond them the gate-major steps;
    float64, batch 1 with a large hidden size or a short sequence, batch >= 256 and
    ANNIE_NUMBA=0 run the batch-major per-step path."""
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    sequence = compiled.numba_steps()["lstm_sequence"]
    for batch, hidden in [(1, 64), (1, 256), (2, 256), (2, 1024), (3, 512), (4, 64), (4, 512)]:
        assert compiled.sequence_functions("lstm", np.float32, batch, hidden, 64) == sequence
    for batch, hidden in [(1, 384), (1, 512), (8, 64), (16, 32), (16, 128), (64, 64), (4, 1024),
                          (3, 1024)]:
        assert compiled.sequence_functions("lstm", np.float32, batch, hidden, 50) is None
    for steps, hidden in [(1, 16), (4, 64), (16, 256)]:  # long enough to pay for W_hh^T
        assert compiled.sequence_functions("lstm", np.float32, 1, hidden, steps) == sequence
    for steps, hidden in [(1, 17), (1, 64), (3, 64), (15, 256)]:  # one step at a time: not
        assert compiled.sequence_functions("lstm", np.float32, 1, hidden, steps) is None
    assert compiled.sequence_functions("lstm", np.float64, 1, 64, 50) is None
    assert compiled.sequence_functions("gru", np.float32, 1, 64, 50) is None
    columns = compiled.numba_steps()["lstm_columns"]
    for batch in (2, 16, 32, 64, 128, 255):
        assert compiled.column_functions("lstm", np.float32, batch) == columns
    for batch in (1, 256, 512):
        assert compiled.column_functions("lstm", np.float32, batch) is None
    assert compiled.column_functions("lstm", np.float64, 16) is None
    assert compiled.column_functions("gru", np.float32, 16) is None
    if compiled.numpy_openblas() is not None:  # NumPy's wheels: OpenBLAS called from the loop
        whole = compiled.numba_steps()["lstm_columns_sequence"]
        assert compiled.column_sequence_functions("lstm", np.float32, 16) == whole
    assert compiled.column_sequence_functions("lstm", np.float32, 1) is None
    assert compiled.column_sequence_functions("lstm", np.float64, 16) is None
    monkeypatch.setenv("ANNIE_NUMBA", "0")
    assert compiled.column_sequence_functions("lstm", np.float32, 16) is None
    assert compiled.sequence_functions("lstm", np.float32, 1, 64, 50) is None
    assert compiled.column_functions("lstm", np.float32, 16) is None


# ----- inputs a user's data can hold ---------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_padding_changes_nothing(kind, bad, step_path):
    """Steps past a sequence's length never count, forward or backward: NaN or inf there (pandas
    fills ragged series with NaN) gives the same outputs and gradients as zeros there."""
    lengths = np.array([7, 3, 5, 1])
    clean = _random((4, 7, 3), seed=1)
    for row, length in enumerate(lengths):
        clean[row, length:] = 0
    dirty = clean.copy()
    for row, length in enumerate(lengths):
        dirty[row, length:] = bad
    layer = _layer(kind, num_layers=2, bidirectional=True)
    h0 = _random((4, 4, 4), seed=2)
    expected = _run(layer, kind, clean, h0, lengths)
    actual = _run(layer, kind, dirty, h0, lengths)
    for e, a in zip(expected, actual):
        assert np.all(np.isfinite(a))
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_saturated_gates_pass_no_gradient_on_any_path(kind, step_path):
    """Inputs of 1e30 saturate every gate: tanh is exactly +-1 there on every path (the compiled
    float32 loops' rational tanh included), so the slopes are 0 and dL/dW_ih stays what the NumPy
    steps give, not 1e30 times a rounding error."""
    cls, extra = LAYERS[kind]
    layer = cls(3, 4, dtype=np.float32, **extra)
    x_data = (1e30 * _random((5, 6, 3), seed=4)).astype(np.float32)
    x = annie.tensor(x_data, requires_grad=True)
    output, _ = layer(x)
    output.sum().backward()
    grads = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANNIE_NUMBA", "0")
        output, _ = layer(annie.tensor(x_data))
        output.sum().backward()
    for name, p in layer.named_parameters():
        assert np.all(np.isfinite(grads[name])), name
        np.testing.assert_allclose(grads[name], p.grad, rtol=1e-4, atol=1e-6, err_msg=name)


def test_initial_state_of_another_dtype_is_named_with_its_fix():
    layer = nn.LSTM(3, 4)  # float32
    x = annie.tensor(np.zeros((2, 5, 3), dtype=np.float32))
    h0 = annie.tensor(np.zeros((1, 2, 4)))  # float64
    c0 = annie.tensor(np.zeros((1, 2, 4), dtype=np.float32))
    with pytest.raises(annie.DTypeError, match=r"h0 has dtype float64 but x has float32; give "
                                               r"the initial states x's dtype"):
        layer(x, (h0, c0))


_CACHE_RUN = """
import sys
import numpy as np
from annie import nn
from annie.functional.recurrent import compiled
if sys.argv[1] == "without":
    compiled.numpy_openblas = lambda: None  # as on a NumPy built without those symbols
a = np.arange(12, dtype=np.float32).reshape(3, 4)
assert np.array_equal(compiled.transposed(a), a.T)
output, _ = nn.LSTM(3, 8)(np.ones((16, 4, 3), np.float32))
assert output.shape == (16, 4, 8)
"""


@NEEDS_NUMBA
def test_loops_cached_with_openblas_calls_are_not_loaded_where_openblas_is_not(tmp_path):
    """numba's disk cache names entries by function name and checks only the source file: the
    loops compiled to call OpenBLAS (found by name) and those compiled without it are cached
    apart, so a cache filled in one setting does not hand the other code that jumps to a
    library never loaded (it crashed the process with a segmentation fault)."""
    import os
    import subprocess
    import sys
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "ANNIE_NUMBA": "1"}
    for setting in ("with", "without", "with"):
        run = subprocess.run([sys.executable, "-c", _CACHE_RUN, setting], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (setting, run.returncode, run.stderr[-2000:])
