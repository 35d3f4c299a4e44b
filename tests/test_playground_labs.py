"""The playground's labs without the server: data sets, what the page draws (checked against a
NumPy forward pass), every loss and optimizer, initialisations, clipping, and ||dL/dh_t||
checked against backpropagation through time written out in NumPy (and PyTorch for the LSTM)."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from annie.errors import DataError
import annie
from annie.playground import controls, toy_data
from annie.playground.lab import MAX_HISTORY, History
from annie.playground.controls import ControlError
from annie.playground.mlp_lab import BOUNDARY_GRID, NEURON_GRID, MlpLab, plane_grid
from annie.playground.rnn_lab import RnnLab


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8) / 127.5 - 1.0


# ----- data -----------------------------------------------------------------------------------
def test_generated_sets_follow_their_definitions():
    xor = toy_data.generate("xor", 400, 0.0, seed=1)
    assert np.array_equal(xor.y, (xor.X[:, 0] * xor.X[:, 1] > 0).astype(np.int64))
    assert np.all(np.abs(xor.X) >= 0.05 - 1e-7)
    circle = toy_data.generate("circle", 400, 0.0, seed=1)
    radius = np.hypot(*circle.X.T)
    assert np.all(radius[circle.y == 1] <= 0.5 + 1e-6) and np.all(radius[circle.y == 0] >= 0.7 - 1e-6)
    gaussians = toy_data.generate("gaussians", 4000, 0.0, seed=1)
    assert np.allclose(gaussians.X[gaussians.y == 1].mean(axis=0), 0.5, atol=0.02)
    assert np.allclose(gaussians.X[gaussians.y == 0].std(axis=0), 0.2, atol=0.02)
    spiral = toy_data.generate("spiral", 400, 0.0, seed=1)
    assert np.hypot(*spiral.X.T).max() <= 1.0 + 1e-6
    for name in toy_data.GENERATORS:
        data = toy_data.generate(name, 101, 0.2, seed=3)
        assert data.X.shape == (101, 2) and data.X.dtype == np.float32
        assert abs(int(data.y.sum()) - 50) <= 1  # balanced classes
        again = toy_data.generate(name, 101, 0.2, seed=3)
        assert np.array_equal(data.X, again.X)  # the seed decides everything


def test_the_adding_task_is_annies_adding_problem_split_as_annie_train_splits_it():
    lab = RnnLab({"task": "adding", "steps": 20, "seed": 3})
    annie.manual_seed(3)
    X, y = annie.data.make_adding_problem(2200, 20)
    assert np.array_equal(lab.X_train, X[:2000]) and np.array_equal(lab.y_test, y[2000:])
    baseline = lab.snapshot()["metrics"]["baseline"]  # predicting the mean sum: about 1/6
    assert abs(baseline - annie.data.ADDING_BASELINE_MSE) < 0.03


def test_upload_reader_classes_and_regression(tmp_path):
    path = tmp_path / "upload.csv"
    path.write_text("u,v,kind\n" + "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(30)))
    data = toy_data.read_upload(str(path), "mine.csv")
    assert data.task == "classification" and data.classes == ["a", "b"]
    assert data.feature_names == ("u", "v") and np.array_equal(data.y, np.arange(30) % 2)
    path.write_text("u,v,k\n" + "".join(f"{i},{i % 3},{i * 10}\n" for i in range(30)))
    data = toy_data.read_upload(str(path), "mine.csv")
    assert data.task == "regression" and data.y.dtype == np.float32  # 30 distinct numbers
    path.write_text("u,v,k\n" + "".join(f"{i},{i % 3},{(i % 3) * 5 + 10}\n" for i in range(30)))
    data = toy_data.read_upload(str(path), "mine.csv")
    assert data.classes == ["10", "15", "20"] and set(data.y) == {0, 1, 2}
    path.write_text("u,v,k\n1,2,3,4\n")
    with pytest.raises(DataError, match="'mine.csv' line 2"):
        toy_data.read_upload(str(path), "mine.csv")


# ----- the MLP tab ------------------------------------------------------------------------------
def numpy_forward(lab: MlpLab, points: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for ``points``, from the weights, in float64 NumPy (tanh layers)."""
    x = points.astype(np.float64)
    outputs = []
    linears = [layer for layer in lab.model.layers if hasattr(layer, "weight")]
    for index, layer in enumerate(linears):
        x = x @ layer.weight.data.astype(np.float64).T + layer.bias.data
        if index < len(linears) - 1:
            x = np.tanh(x)
        outputs.append(x)
    return outputs


def test_xor_is_learned():
    lab = MlpLab({"dataset": "xor", "optimizer": "adam", "lr": 0.03, "hidden": [8, 8]})
    for _ in range(60):
        lab.train_epoch()
        state = lab.snapshot()
        if state["metrics"]["test_accuracy"] > 0.95:
            break
    assert state["metrics"]["test_accuracy"] > 0.95
    assert state["metrics"]["test_loss"] < 0.2


def test_drawn_maps_equal_a_numpy_forward_pass():
    lab = MlpLab({"dataset": "spiral", "hidden": [5, 3], "optimizer": "adam"})
    lab.train_for(10.0, max_steps=50)
    state = lab.snapshot()
    hidden_one, hidden_two, logits = numpy_forward(lab, plane_grid(lab.extent, BOUNDARY_GRID))
    probability = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))  # softmax, class 1
    assert np.abs(decode(state["boundary"]["values"]) - (2 * probability - 1)).max() <= 1 / 127
    maps = state["network"]["neurons"]
    assert [len(layer) for layer in maps] == [5, 3]
    reference = numpy_forward(lab, plane_grid(lab.extent, NEURON_GRID))
    for layer in (0, 1):
        for unit, encoded in enumerate(maps[layer]):
            assert np.abs(decode(encoded) - reference[layer][:, unit]).max() <= 1 / 127
    weights = state["network"]["layers"]
    assert np.allclose(weights[0]["weight"], lab.model.layers[0].weight.data, atol=1e-4)


def test_single_neuron_shows_the_lectures_neuron():
    lab = MlpLab({"dataset": "gaussians", "single_neuron": True,
                  "loss": "binary_cross_entropy", "hidden": [4, 4]})
    lab.train_epoch()
    neuron = lab.snapshot()["neuron"]
    assert lab.snapshot()["network"]["sizes"] == [2, 1]  # hidden layers are not used
    (w1, w2), b, example = neuron["weight"], neuron["bias"], neuron["example"]
    weighted_sum = w1 * example["x"][0] + w2 * example["x"][1] + b
    assert example["sum"] == pytest.approx(weighted_sum, abs=1e-5)
    assert neuron["activation"] == "sigmoid"
    assert example["output"] == pytest.approx(1 / (1 + np.exp(-weighted_sum)), abs=1e-5)


@pytest.mark.parametrize("loss", controls.CLASSIFICATION_LOSSES)
def test_every_classification_loss_trains(loss):
    lab = MlpLab({"dataset": "gaussians", "loss": loss, "optimizer": "adam", "lr": 0.01})
    before = lab.snapshot()["metrics"]["train_loss"]
    for _ in range(5):
        lab.train_epoch()
    metrics = lab.snapshot()["metrics"]
    assert metrics["train_loss"] < before and metrics["test_accuracy"] > 0.9


@pytest.mark.parametrize("loss", controls.REGRESSION_LOSSES)
def test_every_regression_loss_trains(loss):
    generator = np.random.default_rng(0)
    X = generator.uniform(-1, 1, (200, 2)).astype(np.float32)
    y = (X[:, 0] - 2 * X[:, 1] + 3).astype(np.float32)
    upload = toy_data.PlaneData(X, y, "regression", [], ("a", "b"), "plane.csv")
    lab = MlpLab({"dataset": "upload", "loss": loss, "optimizer": "adam", "lr": 0.1},
                 upload=upload)
    before = lab.snapshot()["metrics"]["train_loss"]
    for _ in range(5):
        lab.train_epoch()
    assert lab.snapshot()["metrics"]["train_loss"] < 0.5 * before


@pytest.mark.parametrize("lab,name,value,wanted", [
    ("mlp", "seed", -5, "expected a whole number from 0 to 2147483647"),
    ("mlp", "samples", 1, "expected a whole number from 40 to 1000"),
    ("mlp", "batch_size", 0, "expected a whole number from 1 to 1000"),
    ("rnn", "steps", 2.5, "expected a whole number from 2 to 200"),
    ("mlp", "lr", 1e6, "expected a number from 1e-05 to 10"),
    ("rnn", "clip_norm", "x", "expected a number from 0.001 to 100"),
])
def test_a_refused_number_names_its_range_as_typed(lab, name, value, wanted):
    with pytest.raises(ControlError) as refused:
        controls.CONTROLS[lab][name].check(value)
    assert str(refused.value).endswith(wanted) and refused.value.control == name


def test_the_mean_bias_error_is_refused_with_the_reason():
    lab = MlpLab()
    with pytest.raises(ControlError, match="has no minimum"):
        lab.configure({"loss": "mean_bias_error"})


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("adam", 0.01), ("rmsprop", 0.01),
                                          ("adagrad", 0.1), ("adadelta", 1.0),
                                          ("nadam", 0.01), ("adamw", 0.01)])
def test_every_optimizer_trains(optimizer, lr):
    lab = MlpLab({"dataset": "circle", "optimizer": optimizer, "lr": lr, "hidden": [6]})
    before = lab.snapshot()["metrics"]["train_loss"]
    for _ in range(8):
        lab.train_epoch()
    assert lab.snapshot()["metrics"]["train_loss"] < before
    assert type(lab.optimizer).__name__.lower() == optimizer


@pytest.mark.parametrize("activation", controls.ACTIVATIONS)
def test_every_activation_builds_and_trains(activation):
    lab = MlpLab({"activation": activation, "hidden": [3, 2], "dropout": 0.1})
    lab.train_epoch()
    state = lab.snapshot()
    assert state["network"]["activation"] == activation
    assert [len(layer) for layer in state["network"]["neurons"]] == [3, 2]
    assert np.isfinite(state["metrics"]["train_loss"])


def test_a_failed_change_keeps_the_model_and_settings(monkeypatch):
    lab = MlpLab()
    model, settings = lab.model, dict(lab.settings)
    with pytest.raises(ControlError, match="upload a CSV"):
        lab.configure({"dataset": "upload"})

    def broken(*args):
        raise DataError("no data today")
    monkeypatch.setattr(toy_data, "generate", broken)
    with pytest.raises(DataError):
        lab.configure({"dataset": "spiral"})
    assert lab.model is model and lab.settings == settings


def test_a_loss_that_is_not_finite_pauses_with_a_message():
    lab = MlpLab()
    lab.running = True
    lab.model.layers[0].weight.data[0, 0] = np.nan
    assert lab.train_for(10.0) == 0
    assert not lab.running and "lower the learning rate" in lab.message


@pytest.mark.parametrize("count", [MAX_HISTORY, MAX_HISTORY + 1, 1000, 12_345])
def test_the_thinned_history_keeps_the_whole_run_evenly(count):
    history = History("train_loss")
    for i in range(count):  # a recorded point per epoch, the loss a known function of it
        history.add(epoch=float(i), train_loss=1.0 / (1.0 + i))
    kept = history.to_json()
    epochs = np.array(kept["epoch"])
    assert len(epochs) <= MAX_HISTORY + 1
    assert epochs[0] == 0 and epochs[-1] == count - 1  # the start and the latest point
    assert np.allclose(kept["train_loss"], np.round(1.0 / (1.0 + epochs), 6))
    gaps = np.diff(epochs[:-1])  # the last point is the latest, whatever the spacing
    assert len(set(gaps.tolist())) <= 1, gaps  # evenly spaced: no stretch of the run dropped
    assert len(epochs) >= min(count, MAX_HISTORY // 2)


# ----- the RNN tab ------------------------------------------------------------------------------
def numpy_rnn_step_gradients(lab: RnnLab, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """||dL/dh_t|| (mean over the batch) of a tanh RNN regressor with MSE, by BPTT in NumPy."""
    layer, head = lab.model.encoder.rnn, lab.model.head
    w_ih, w_hh = (layer.weight_ih_l0.data.astype(np.float64),
                  layer.weight_hh_l0.data.astype(np.float64))
    bias = (layer.bias_ih_l0.data + layer.bias_hh_l0.data).astype(np.float64)
    batch, steps, _ = X.shape
    h = np.zeros((batch, layer.hidden_size))
    states = []
    for t in range(steps):
        h = np.tanh(X[:, t] @ w_ih.T + h @ w_hh.T + bias)
        states.append(h)
    prediction = h @ head.weight.data[0].astype(np.float64) + head.bias.data[0]
    grad = (2.0 / batch * (prediction - y))[:, None] * head.weight.data[0].astype(np.float64)
    norms = [None] * steps
    for t in range(steps - 1, -1, -1):
        norms[t] = np.linalg.norm(grad, axis=1).mean()
        grad = (grad * (1.0 - states[t] ** 2)) @ w_hh
    return np.array(norms)


def test_step_gradients_of_a_tanh_rnn_equal_numpy_bptt():
    lab = RnnLab({"cell": "rnn", "steps": 25, "hidden_size": 12})
    lab.train_for(10.0, max_steps=5)
    lab.snapshot()
    count = len(lab.step_norms)
    assert count == 25
    reference = numpy_rnn_step_gradients(lab, lab.X_test[:32].astype(np.float64),
                                         lab.y_test[:32].astype(np.float64))
    assert np.allclose(lab.step_norms, reference, rtol=2e-3, atol=1e-12)
    # the tanh RNN's gradient vanishes toward the first steps
    assert reference[0] < 1e-2 * reference[-1]


def test_step_gradients_of_an_lstm_equal_pytorch():
    torch = pytest.importorskip("torch")
    lab = RnnLab({"cell": "lstm", "steps": 15, "hidden_size": 8, "task": "sine"})
    lab.train_for(10.0, max_steps=3)
    lab.snapshot()
    layer, head = lab.model.encoder.rnn, lab.model.head
    cell = torch.nn.LSTMCell(layer.input_size, layer.hidden_size).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(getattr(layer, f"{name}_l0").data.astype(np.float64)))
    loc, scale = lab.model.loc, lab.model.scale  # the model reads (x - loc) / scale
    assert scale != 1.0 and loc != 0.0
    X = (torch.from_numpy(lab.X_test[:32].reshape(32, 15, -1).astype(np.float64)) - loc) / scale
    y = torch.from_numpy(lab.y_test[:32].astype(np.float64))
    h = c = torch.zeros(32, layer.hidden_size, dtype=torch.float64)
    states = []
    for t in range(X.shape[1]):
        h, c = cell(X[:, t], (h, c))
        h.retain_grad()
        states.append(h)
    w = torch.from_numpy(head.weight.data.astype(np.float64))
    b = torch.from_numpy(head.bias.data.astype(np.float64))
    loss = ((loc + scale * (h @ w.T + b)[:, 0] - y) ** 2).mean()
    loss.backward()
    reference = [state.grad.norm(dim=1).mean().item() for state in states]
    assert np.allclose(lab.step_norms, reference, rtol=2e-3)


def test_identity_and_orthogonal_initialisations():
    irnn = RnnLab({"cell": "rnn", "init": "identity", "hidden_size": 6})
    layer = irnn.model.encoder.rnn
    assert layer.nonlinearity == "relu"  # the IRNN
    assert np.array_equal(layer.weight_hh_l0.data, np.eye(6))
    assert not layer.bias_ih_l0.data.any() and not layer.bias_hh_l0.data.any()
    for cell, gates in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        for recurrent_init in ("orthogonal", "identity"):
            lab = RnnLab({"cell": cell, "init": recurrent_init, "hidden_size": 5})
            weight = lab.model.encoder.rnn.weight_hh_l0.data.astype(np.float64)
            for gate in range(gates):
                block = weight[gate * 5:(gate + 1) * 5]
                if recurrent_init == "identity":
                    assert np.array_equal(block, np.eye(5))
                else:
                    assert np.allclose(block @ block.T, np.eye(5), atol=1e-5)


def test_clipping_bounds_the_update_and_counts_clipped_steps():
    lab = RnnLab({"optimizer": "sgd", "lr": 1.0, "clip": True, "clip_norm": 0.01,
                  "hidden_size": 8, "steps": 10})
    before = [param.data.copy() for param in lab.model.parameters()]
    lab.train_for(10.0, max_steps=1)
    update = np.sqrt(sum(float(np.sum((param.data - old) ** 2))
                         for param, old in zip(lab.model.parameters(), before)))
    assert update <= 0.01 * (1 + 1e-4)  # SGD with lr 1 moves by the clipped gradient
    lab.train_for(10.0, max_steps=4)
    clipping = lab.snapshot()["clipping"]
    assert clipping["fraction"] == 1.0 and clipping["clipped_steps"] == 5
    lab.configure({"clip": False})
    lab.train_for(10.0, max_steps=5)
    state = lab.snapshot()
    assert state["clipping"]["clipped_steps"] == 5 and state["clipping"]["fraction"] == 0.5
    assert all(value > 0.01 for value in state["history"]["grad_norm"][1:])


def test_digits_task_is_a_ten_class_sequence_classifier():
    lab = RnnLab({"task": "digits", "cell": "gru", "hidden_size": 16, "lr": 0.01})
    assert lab.X_train.shape[1:] == (8, 8) and lab.sequence_length == 8
    for _ in range(2):
        lab.train_epoch()
    state = lab.snapshot()
    assert state["metrics"]["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
    assert len(state["step_gradients"]["norms"]) == 8
