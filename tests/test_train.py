"""fit / evaluate / predict: exact agreement with hand-written gradient descent, bookkeeping,
progress output and errors. Uses a plain SGD and MSE written in the test (train_helpers)."""
import csv
import math

import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import ConfigError, DataError, ShapeError
from annie.train import History

from train_helpers import PlainSGD, linear_model, regression_data, squared_error


def numpy_gradient_descent(X, y, weight, bias, lr, epochs, batch_size):
    """Mini-batch gradient descent on MSE in float64, samples in order."""
    weight, bias = weight.copy(), bias.copy()
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            residual = xb @ weight.T + bias - yb          # (b, 1)
            grad_out = 2.0 * residual / residual.size
            weight -= lr * grad_out.T @ xb
            bias -= lr * grad_out.sum(axis=0)
    return weight, bias


@pytest.mark.parametrize("batch_size", [40, 7])
def test_fit_equals_hand_written_gradient_descent(batch_size):
    X, y = regression_data()
    model = linear_model()
    weight0, bias0 = model.weight.data.copy(), model.bias.data.copy()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.05), X, y,
                        epochs=3, batch_size=batch_size, shuffle=False, verbose=0)
    weight, bias = numpy_gradient_descent(X, y, weight0, bias0, 0.05, 3, batch_size)
    np.testing.assert_allclose(model.weight.data, weight, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.bias.data, bias, rtol=1e-12, atol=1e-12)
    assert len(history) == 3 and history.epoch == [0, 1, 2]


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    X, y = regression_data(n=10)
    model = linear_model()
    weight0, bias0 = model.weight.data.copy(), model.bias.data.copy()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.01), X, y,
                        epochs=1, batch_size=4, shuffle=False, verbose=0)
    weight, bias, losses = weight0.copy(), bias0.copy(), []
    for start in (0, 4, 8):
        xb, yb = X[start:start + 4], y[start:start + 4]
        residual = xb @ weight.T + bias - yb
        losses.append(np.mean(residual ** 2) * len(xb))
        grad_out = 2.0 * residual / residual.size
        weight -= 0.01 * grad_out.T @ xb
        bias -= 0.01 * grad_out.sum(axis=0)
    assert history.history["loss"][0] == pytest.approx(sum(losses) / 10, rel=1e-12)


def test_shuffle_is_repeatable_with_a_seed_and_changes_the_order():
    X, y = regression_data()

    def run(seed, shuffle=True):
        annie.manual_seed(123)
        model = linear_model()
        annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.05), X, y, epochs=2,
                  batch_size=8, shuffle=shuffle, seed=seed, verbose=0)
        return model.weight.data.copy()

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    assert not np.array_equal(run(1), run(None, shuffle=False))


def test_history_keys_validation_split_and_lr():
    X, y = regression_data(n=50)
    model = linear_model()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.05), X, y,
                        epochs=4, batch_size=10, validation_split=0.2, metrics=["mae", "r2"],
                        verbose=0)
    assert set(history.history) == {"loss", "mae", "r2", "val_loss", "val_mae", "val_r2", "lr"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.history["lr"] == [0.05] * 4
    assert history.params["samples"] == 40 and history.params["validation_samples"] == 10
    # the held-out part is the last 20 % of the samples, scored after the last epoch
    results = annie.evaluate(model, squared_error, X[40:], y[40:], metrics=["mae"])
    assert history.history["val_loss"][-1] == pytest.approx(results["loss"], rel=1e-12)
    assert history.history["val_mae"][-1] == pytest.approx(results["mae"], rel=1e-12)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_evaluate_averages_over_samples_not_batches():
    X, y = regression_data(n=23)
    model = linear_model()
    full = annie.evaluate(model, squared_error, X, y, batch_size=100)["loss"]
    batched = annie.evaluate(model, squared_error, X, y, batch_size=5)["loss"]
    expected = np.mean((X @ model.weight.data.T + model.bias.data - y) ** 2)
    assert full == pytest.approx(expected, rel=1e-12)
    assert batched == pytest.approx(expected, rel=1e-12)


def test_predict_uses_eval_mode_no_graph_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Dropout(0.5),
                          nn.Linear(8, 2, dtype=np.float64))
    X = np.random.default_rng(0).normal(size=(11, 3))
    model.train()
    output = annie.predict(model, X, batch_size=4)
    assert model.training
    model.eval()
    with annie.no_grad():
        expected = model(annie.tensor(X)).data
    np.testing.assert_allclose(output, expected, rtol=1e-12)
    assert output.shape == (11, 2)
    assert all(param.grad is None for param in model.parameters())


def test_inputs_are_cast_to_the_model_dtype():
    X, y = regression_data()
    model = linear_model(dtype=np.float32)
    annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=1, verbose=0)
    assert model.weight.data.dtype == np.float32
    assert annie.predict(model, X).dtype == np.float32


class MeanOverTime(nn.Module):
    """A sequence model stand-in: average the time steps, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1, dtype=np.float64)

    def forward(self, x):
        return self.linear(x.mean(axis=1)), None   # (output, state), as recurrent layers return


def test_three_dimensional_inputs_and_models_returning_a_state():
    generator = np.random.default_rng(0)
    X = generator.normal(size=(30, 6, 4))
    y = X.mean(axis=1) @ np.ones((4, 1))
    model = MeanOverTime()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.2), X, y,
                        epochs=20, batch_size=10, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert annie.predict(model, X).shape == (30, 1)


def test_clip_grad_value_clips_each_element_and_records_the_fraction():
    X, y = regression_data(n=8)
    y = y * 100.0   # large gradients
    model = linear_model()
    weight0, bias0 = model.weight.data.copy(), model.bias.data.copy()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.1), X, y,
                        epochs=1, batch_size=8, shuffle=False, clip_grad_value=0.01, verbose=0)
    residual = X @ weight0.T + bias0 - y
    gradient = np.clip(2.0 * residual.T @ X / len(X), -0.01, 0.01)
    np.testing.assert_allclose(model.weight.data, weight0 - 0.1 * gradient, rtol=1e-12)
    assert history.history["clipped_fraction"] == [1.0]


def test_clip_grad_norm_records_the_norm_before_clipping():
    pytest.importorskip("annie.nn.utils")
    X, y = regression_data(n=8)
    model = linear_model()
    weight0, bias0 = model.weight.data.copy(), model.bias.data.copy()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.1), X, y,
                        epochs=1, batch_size=8, shuffle=False, clip_grad_norm=1e-3, verbose=0)
    residual = X @ weight0.T + bias0 - y
    grad_weight = 2.0 * residual.T @ X / len(X)
    grad_bias = 2.0 * residual.sum(axis=0) / len(X)
    norm = np.sqrt(np.sum(grad_weight ** 2) + np.sum(grad_bias ** 2))
    assert history.history["grad_norm"][0] == pytest.approx(norm, rel=1e-9)
    assert history.history["clipped_fraction"] == [1.0]
    scale = 1e-3 / (norm + 1e-6)
    np.testing.assert_allclose(model.weight.data, weight0 - 0.1 * scale * grad_weight, rtol=1e-6)


def test_verbose_modes(capsys):
    X, y = regression_data()
    for verbose, lines in ((0, 0), (2, 3), (1, 3)):   # captured output is not a terminal
        model = linear_model()
        annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=3,
                  verbose=verbose)
        captured = capsys.readouterr()
        epoch_lines = [line for line in captured.err.splitlines() if line.startswith("epoch")]
        assert len(epoch_lines) == lines, (verbose, captured.err)
        assert captured.out == ""
        if lines:
            assert "loss=" in epoch_lines[0] and "3/3" in epoch_lines[-1]


def test_history_to_csv_and_state_dict(tmp_path):
    history = History()
    history.append(0, {"loss": 1.5, "accuracy": 0.5})
    history.append(1, {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25})
    path = tmp_path / "history.csv"
    history.to_csv(path)
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert float(rows[1]["accuracy"]) == 0.75
    assert rows[0]["val_loss"] == "nan" and float(rows[1]["val_loss"]) == 0.25
    restored = History()
    restored.load_state_dict(history.state_dict())
    assert restored.to_csv_text() == history.to_csv_text()


def test_history_state_is_arrays_that_round_trip_bit_for_bit(tmp_path):
    history = History()
    quiet_nan = np.frombuffer(np.uint64(0x7FF8000000000123).tobytes(), np.float64)[0]
    values = [0.1, -0.0, float(quiet_nan), math.inf, 1e-310]
    for epoch, value in enumerate(values):
        history.append(epoch, {"loss": value})
    state = history.state_dict()
    assert state["epoch"].dtype == np.int64 and state["history"]["loss"].dtype == np.float64
    annie.io.save_state(tmp_path / "h.state", state)
    restored = History()
    restored.load_state_dict(annie.io.load_state(tmp_path / "h.state")[0])
    assert restored.epoch == list(range(5))
    assert np.array(restored["loss"]).tobytes() == np.array(values).tobytes()
    restored.load_state_dict({"epoch": [0, 1], "history": {"loss": [1.5, 0.5]}})  # older form
    assert restored.epoch == [0, 1] and restored["loss"] == [1.5, 0.5]


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    history = History()
    for epoch in range(3):
        history.append(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.2 / (epoch + 1),
                               "accuracy": 0.3 * epoch, "val_accuracy": 0.25 * epoch})
    path = tmp_path / "history.png"
    history.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("change, error, words", [
    ({"y": np.zeros((39, 1))}, ShapeError, "40 samples"),
    ({"X": np.full((40, 3), np.nan)}, DataError, "NaN"),
    ({"X": np.zeros((0, 3)), "y": np.zeros((0, 1))}, DataError, "empty"),
    ({"epochs": 0}, ConfigError, "epochs"),
    ({"validation_split": 1.0}, ConfigError, "validation_split"),
    ({"verbose": 3}, ConfigError, "verbose"),
    ({"clip_grad_norm": -1.0}, ConfigError, "clip_grad_norm"),
    ({"loss": 3}, ConfigError, "loss"),
    ({"optimizer": object()}, ConfigError, "optimizer"),
])
def test_bad_arguments_raise_clear_errors(change, error, words):
    X, y = regression_data()
    model = linear_model()
    arguments = {"model": model, "loss": squared_error,
                 "optimizer": PlainSGD(model.parameters()), "X": X, "y": y, "epochs": 1,
                 "verbose": 0}
    arguments.update(change)
    with pytest.raises(error, match=words):
        annie.fit(**arguments)
