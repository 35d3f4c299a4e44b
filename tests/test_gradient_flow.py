"""gradient_flow (through the layers' per-step seam, tested equal to the fused kernels in
test_rnn_seam.py): dL/dh_t per step
against independent references (a separate graph per step with h_t as a leaf, and PyTorch with
retain_grad); vanishing in a tanh RNN but much less in an LSTM with forget bias 1; the MLP
statistics against closed forms; plots; the example script."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import annie
from annie import losses, nn
from annie.diagnostics import activation_statistics, gradient_flow
from annie.errors import ConfigError, ShapeError

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYER_KINDS = {"rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
               "lstm": (nn.LSTM, {}), "gru": (nn.GRU, {})}
CELLS = {nn.RNN: nn.RNNCell, nn.LSTM: nn.LSTMCell, nn.GRU: nn.GRUCell}


class SequenceModel(nn.Module):
    """A recurrent layer and a linear read-out of every step (a many-to-many regression)."""

    def __init__(self, layer, out_features=1):
        super().__init__()
        self.rnn = layer
        directions = 2 if layer.bidirectional else 1
        self.head = nn.Linear(layer.hidden_size * directions, out_features,
                              dtype=layer.weight_hh_l0.dtype)

    def forward(self, x, lengths=None):
        output, _ = self.rnn(x, lengths=lengths)
        return self.head(output)


def make_layer(kind, input_size=3, hidden_size=5, **options):
    cls, extra = LAYER_KINDS[kind]
    return cls(input_size, hidden_size, dtype=np.float64, **extra, **options)


def random_data(batch=4, steps=7, features=3, out_features=1):
    generator = np.random.default_rng(1)
    X = generator.standard_normal((batch, steps, features))
    y = generator.standard_normal((batch, steps, out_features))
    return X, y


def test_prediction_and_mode_unchanged():
    X, y = random_data()
    model = SequenceModel(make_layer("lstm", num_layers=2, bidirectional=True))
    expected = model(annie.tensor(X)).data
    seen = {}

    def loss(prediction, target):
        seen["prediction"] = prediction.data
        return losses.mse(prediction, target)

    marker = np.full(model.head.weight.shape, 7.0)
    model.head.weight.grad = marker
    result = gradient_flow(model, loss, X, y)
    np.testing.assert_allclose(seen["prediction"], expected, rtol=1e-12, atol=1e-14)
    assert result.loss == pytest.approx(float(losses.mse(annie.tensor(expected),
                                                         annie.tensor(y)).data))
    assert model.head.weight.grad is marker  # existing grads are left as they were
    assert "_watch" not in vars(model.rnn) and "forward" not in vars(model.head)
    assert set(result.hidden_grad_norm) == {"rnn.l0", "rnn.l0_reverse", "rnn.l1", "rnn.l1_reverse"}


# ----- dL/dh_t against independent references ------------------------------------------------
def cell_from_layer(layer):
    """A cell holding copies of layer 0's forward-direction weights."""
    cls = CELLS[type(layer)]
    extra = {"nonlinearity": layer.nonlinearity} if isinstance(layer, nn.RNN) else {}
    cell = cls(layer.input_size, layer.hidden_size, dtype=np.float64, **extra)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data = getattr(layer, f"{name}_l0").data.copy()
    return cell


def leaf_reference(model, X, y):
    """dL/dh_t for each t from its own graph: h_t (from a no-grad run) is a leaf, the later
    steps run from it, earlier outputs are constants; returns per-step (mean per-sample norm,
    total norm)."""
    cell = cell_from_layer(model.rnn)
    is_lstm = isinstance(cell, nn.LSTMCell)
    steps = X.shape[1]
    with annie.no_grad():
        states, state = [], None
        for t in range(steps):
            state = cell(annie.tensor(X[:, t]), state)
            states.append(state)
    mean_norms, total_norms = [], []
    for t in range(steps):
        h_t = annie.tensor((states[t][0] if is_lstm else states[t]).data, requires_grad=True)
        state = (h_t, states[t][1]) if is_lstm else h_t
        hs = [annie.tensor(s[0].data if is_lstm else s.data) for s in states[:t]] + [h_t]
        for u in range(t + 1, steps):
            state = cell(annie.tensor(X[:, u]), state)
            hs.append(state[0] if is_lstm else state)
        output = annie.ops.stack(hs, axis=1)
        losses.mse(model.head(output), annie.tensor(y)).backward()
        mean_norms.append(np.linalg.norm(h_t.grad, axis=1).mean())
        total_norms.append(np.linalg.norm(h_t.grad))
    return np.array(mean_norms), np.array(total_norms)


@pytest.mark.parametrize("kind", sorted(LAYER_KINDS))
def test_step_norms_equal_leaf_reference(kind):
    X, y = random_data()
    model = SequenceModel(make_layer(kind))
    result = gradient_flow(model, losses.mse, X, y)
    mean_norms, total_norms = leaf_reference(model, X, y)
    np.testing.assert_allclose(result.hidden_grad_norm["rnn.l0"], mean_norms, rtol=1e-10)
    np.testing.assert_allclose(result.hidden_grad_norm_total["rnn.l0"], total_norms, rtol=1e-10)


def torch_step_grads(torch, layer, head, X, y):
    """dL/dh_t of every layer and direction from a PyTorch loop over cells with retain_grad."""
    kind = type(layer).__name__
    cell_cls = {"RNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}[kind]
    extra = {"nonlinearity": layer.nonlinearity} if kind == "RNN" else {}
    steps, batch = X.shape[1], X.shape[0]
    layer_input = [torch.tensor(X[:, t]) for t in range(steps)]
    probes = {}
    for k in range(layer.num_layers):
        outputs_per_direction = []
        for suffix in layer._suffixes():
            size = layer_input[0].shape[1]
            cell = cell_cls(size, layer.hidden_size, dtype=torch.float64, **extra)
            with torch.no_grad():
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(torch.tensor(
                        getattr(layer, f"{name}_l{k}{suffix}").data))
            h = torch.zeros(batch, layer.hidden_size, dtype=torch.float64)
            c = torch.zeros_like(h)
            hs = [None] * steps
            order = range(steps - 1, -1, -1) if suffix else range(steps)
            for t in order:
                if kind == "LSTM":
                    h, c = cell(layer_input[t], (h, c))
                else:
                    h = cell(layer_input[t], h)
                h.retain_grad()
                hs[t] = h
            probes[f"rnn.l{k}{suffix}"] = hs
            outputs_per_direction.append(hs)
        layer_input = [torch.cat([d[t] for d in outputs_per_direction], dim=1)
                       for t in range(steps)]
    weight = torch.tensor(head.weight.data)
    bias = torch.tensor(head.bias.data)
    output = torch.stack(layer_input, dim=1)
    loss = torch.mean((output @ weight.T + bias - torch.tensor(y)) ** 2)
    loss.backward()
    return {key: [h.grad.numpy() for h in hs] for key, hs in probes.items()}


@pytest.mark.parametrize("kind", sorted(LAYER_KINDS))
def test_step_norms_equal_pytorch_stacked_bidirectional(kind):
    torch = pytest.importorskip("torch")
    X, y = random_data(out_features=2)
    model = SequenceModel(make_layer(kind, num_layers=2, bidirectional=True), out_features=2)
    result = gradient_flow(model, losses.mse, X, y)
    reference = torch_step_grads(torch, model.rnn, model.head, X, y)
    assert set(result.hidden_grad_norm) == set(reference)
    for key, grads in reference.items():
        expected_mean = [np.linalg.norm(g, axis=1).mean() for g in grads]
        expected_total = [np.linalg.norm(g) for g in grads]
        np.testing.assert_allclose(result.hidden_grad_norm[key], expected_mean, rtol=1e-9)
        np.testing.assert_allclose(result.hidden_grad_norm_total[key], expected_total, rtol=1e-9)


class CellLoop(nn.Module):
    """The same network as SequenceModel(RNN) written as a loop over an RNNCell."""

    def __init__(self, cell, head):
        super().__init__()
        self.cell = cell
        self.head = head

    def forward(self, x):
        h, outputs = None, []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            outputs.append(h)
        return self.head(annie.ops.stack(outputs, axis=1))


def test_cell_loop_records_one_step_per_call():
    X, y = random_data()
    model = SequenceModel(make_layer("rnn_tanh"))
    layer_result = gradient_flow(model, losses.mse, X, y)
    loop_result = gradient_flow(CellLoop(cell_from_layer(model.rnn), model.head), losses.mse, X, y)
    np.testing.assert_allclose(loop_result.hidden_grad_norm["cell"],
                               layer_result.hidden_grad_norm["rnn.l0"], rtol=1e-10)


# ----- vanishing gradients ---------------------------------------------------------------------
class LastStepModel(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.rnn = layer
        self.head = nn.Linear(layer.hidden_size, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def adding_problem(batch, steps):
    generator = annie.backend.rng()
    values = generator.random((batch, steps))
    markers = np.zeros((batch, steps))
    for row in range(batch):
        markers[row, generator.choice(steps, 2, replace=False)] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)
    return X, (values * markers).sum(axis=1, keepdims=True).astype(np.float32)


def test_vanishing_in_tanh_rnn_not_in_lstm_with_forget_bias():
    X, y = adding_problem(32, 60)
    rnn_ratio = gradient_flow(LastStepModel(nn.RNN(2, 16)), losses.mse, X, y).vanishing_ratio()
    lstm = LastStepModel(nn.LSTM(2, 16, forget_bias=1.0))
    lstm_ratio = gradient_flow(lstm, losses.mse, X, y).vanishing_ratio()
    assert rnn_ratio < 1e-8          # ||dL/dh_1|| << ||dL/dh_T||
    assert lstm_ratio > 1e4 * rnn_ratio


# ----- MLP statistics ----------------------------------------------------------------------------
def test_mlp_statistics_against_closed_forms():
    generator = np.random.default_rng(4)
    X = generator.standard_normal((16, 6))
    y = generator.standard_normal((16, 2))
    model = nn.Sequential(nn.Linear(6, 8, dtype=np.float64), nn.ReLU(),
                          nn.Linear(8, 2, dtype=np.float64))
    model[0].bias.data[:3] = -100.0  # three units that are 0 for every sample after the ReLU
    result = gradient_flow(model, losses.mse, X, y)
    assert result.layer_names == ["0", "1", "2"]
    assert result.layer_types == ["Linear", "ReLU", "Linear"]

    hidden = X @ model[0].weight.data.T + model[0].bias.data
    relu = np.maximum(hidden, 0)
    prediction = relu @ model[2].weight.data.T + model[2].bias.data
    grad_prediction = 2 * (prediction - y) / prediction.size
    grad_relu = grad_prediction @ model[2].weight.data
    grad_hidden = grad_relu * (hidden > 0)
    np.testing.assert_allclose(result.output_grad_norm,
                               [np.linalg.norm(grad_hidden), np.linalg.norm(grad_relu),
                                np.linalg.norm(grad_prediction)], rtol=1e-12)
    assert np.isnan(result.weight_grad_norm[1])
    np.testing.assert_allclose(result.weight_grad_norm[[0, 2]],
                               [np.linalg.norm(grad_hidden.T @ X),
                                np.linalg.norm(grad_prediction.T @ relu)], rtol=1e-12)
    np.testing.assert_allclose(result.activation_mean, [hidden.mean(), relu.mean(),
                                                        prediction.mean()], rtol=1e-12)
    np.testing.assert_allclose(result.activation_std, [hidden.std(), relu.std(),
                                                       prediction.std()], rtol=1e-12)
    assert result.dead_fraction[1] == pytest.approx(np.mean(np.all(relu == 0, axis=0)))
    assert result.dead_fraction[1] >= 3 / 8
    stats = activation_statistics(model, X)
    assert stats["1"]["dead"] == result.dead_fraction[1]
    assert stats["2"]["mean"] == pytest.approx(prediction.mean(), rel=1e-12)
    text = result.summary()
    assert "ReLU" in text and "dead" in text and str(result) == text


# ----- plots and errors -----------------------------------------------------------------------
def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = random_data()
    result = gradient_flow(SequenceModel(make_layer("gru")), losses.mse, X, y)
    result.plot(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    X, y = random_data()
    result = gradient_flow(SequenceModel(make_layer("rnn_tanh")), losses.mse, X, y)
    with pytest.raises(ConfigError, match="matplotlib"):
        result.plot(tmp_path / "flow.png")


def test_bad_arguments():
    X, y = random_data()
    with pytest.raises(ConfigError, match="nn.Module"):
        gradient_flow(lambda x: x, losses.mse, X, y)
    model = SequenceModel(make_layer("rnn_tanh"))
    with pytest.raises(ShapeError, match="one-element"):
        gradient_flow(model, lambda p, t: p - t, X, y)
    assert "forward" not in vars(model.head)  # restored after the error
    result = gradient_flow(model, "mse", X, y)
    with pytest.raises(ConfigError, match="no recurrent layer 'lstm'"):
        result.vanishing_ratio("lstm")


# ----- the example ------------------------------------------------------------------------------
def test_example_quick_run_writes_figures(tmp_path):
    pytest.importorskip("matplotlib")
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "rnn_gradient_problems.py"), "--quick",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    rows = {line[:34].strip(): line[34:].split() for line in completed.stdout.splitlines()
            if line.startswith("    ") and len(line[34:].split()) == 4}
    rnn_ratio = float(rows["RNN tanh (PyTorch init)"][2])
    lstm_ratio = float(rows["LSTM (forget bias 2)"][2])
    assert rnn_ratio < 1e-8 and lstm_ratio > 1e4 * rnn_ratio
    assert float(rows["RNN tanh orthogonal x1.5"][2]) > 1  # grows toward early steps
    losses_by_run = {}
    run = None
    for line in completed.stdout.splitlines():
        if line.strip().endswith(":") and not line.strip().startswith("epoch"):
            run = line.strip()[:-1]
        elif "epoch" in line and "loss" in line and run is not None:
            losses_by_run.setdefault(run, []).append(float(line.split("loss ")[1].split(",")[0]))
    assert losses_by_run["no clipping"][-1] > 100 * losses_by_run["clip_grad_norm=1.0"][-1]
    for name in ("vanishing.png", "exploding.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
        assert f"figure: {tmp_path / name}" in completed.stdout
