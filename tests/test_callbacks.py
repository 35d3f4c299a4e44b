"""Callbacks: early stopping (and restoring the best weights), NaN termination keeping finite
weights, learning-rate schedules, CSV logging, checkpoints."""
import csv
import math

import numpy as np
import pytest

import annie
from annie.errors import ConfigError
from annie.train import (Callback, CSVLogger, EarlyStopping, FitState, History,
                         LearningRateScheduler, ModelCheckpoint, TerminateOnNaN)

from train_helpers import PlainSGD, linear_model, regression_data, squared_error


def drive(callback, model, values, monitor="val_loss", change_weights=True):
    """Run a callback through epochs whose logs hold the given monitored values; the model's
    bias is set to the epoch number so tests can see which epoch's weights are kept."""
    state = FitState(model=model, optimizer=None, history=History(), epochs=len(values))
    callback.set_state(state)
    callback.on_train_begin()
    stopped_at = None
    for epoch, value in enumerate(values):
        state.epoch = epoch
        callback.on_epoch_begin(epoch)
        if change_weights:
            model.bias.data[...] = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        if state.stop_training:
            stopped_at = epoch
            break
    callback.on_train_end()
    return stopped_at, state


def test_early_stopping_patience_and_min_delta():
    model = linear_model()
    stopped, _ = drive(EarlyStopping(patience=2), model, [1.0, 0.9, 0.95, 0.91, 0.92, 0.5])
    assert stopped == 3   # no improvement on epochs 2 and 3 (patience 2)
    # improvements smaller than min_delta do not count
    stopped, _ = drive(EarlyStopping(patience=2, min_delta=0.1), model, [1.0, 0.95, 0.93, 0.5])
    assert stopped == 2
    stopped, _ = drive(EarlyStopping(patience=0), model, [3.0, 2.0, 1.0])
    assert stopped is None
    stopped, _ = drive(EarlyStopping(patience=0), model, [3.0, 2.0, 2.5])
    assert stopped == 2


def test_early_stopping_mode_auto_is_max_for_accuracy():
    model = linear_model()
    stopped, state = drive(EarlyStopping(monitor="val_accuracy", patience=0), model,
                           [0.5, 0.6, 0.55, 0.9], monitor="val_accuracy")
    assert stopped == 2
    assert "val_accuracy" in state.stop_reason


def test_early_stopping_restores_the_best_weights():
    model = linear_model()
    callback = EarlyStopping(patience=2, restore_best_weights=True)
    stopped, _ = drive(callback, model, [1.0, 0.4, 0.6, 0.7, 0.8])
    assert stopped == 3   # epochs 2 and 3 without improvement
    assert callback.best_epoch == 1
    np.testing.assert_array_equal(model.bias.data, [1.0])   # the weights after epoch 1


def test_early_stopping_unknown_monitor_names_the_logged_keys():
    with pytest.raises(ConfigError, match="val_los.*validation"):
        drive(EarlyStopping(monitor="val_los"), linear_model(), [1.0])
    with pytest.raises(ConfigError, match="mode"):
        EarlyStopping(mode="largest")


def test_early_stopping_inside_fit():
    X, y = regression_data()
    model = linear_model()
    # in "max" mode a falling loss never improves after the first epoch
    history = annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.05), X, y,
                        epochs=10, verbose=0,
                        callbacks=[EarlyStopping(monitor="loss", mode="max", patience=2)])
    assert len(history) == 3
    assert history.stop_reason.startswith("early stopping")


def test_early_stopping_state_round_trip():
    model = linear_model()
    callback = EarlyStopping(patience=3)
    drive(callback, model, [1.0, 0.5, 0.7])
    restored = EarlyStopping(patience=3)
    restored.load_state_dict(callback.state_dict())
    assert restored.state_dict() == callback.state_dict() == {
        "best": 0.5, "wait": 1, "best_epoch": 1, "stopped_epoch": None, "best_weights": None}


class NaNAfter:
    """A loss that becomes NaN from the given call on."""

    def __init__(self, calls):
        self.calls, self.count = calls, 0

    def __call__(self, prediction, target):
        self.count += 1
        loss = squared_error(prediction, target)
        return loss * float("nan") if self.count >= self.calls else loss


def test_terminate_on_nan_is_on_by_default_and_keeps_the_last_weights():
    X, y = regression_data(n=40)
    model = linear_model()
    snapshots = []

    class Record(Callback):
        def on_batch_end(self, batch, loss):
            snapshots.append(model.weight.data.copy())

    history = annie.fit(model, NaNAfter(7), PlainSGD(model.parameters(), lr=0.05), X, y,
                        epochs=5, batch_size=10, verbose=0, callbacks=[Record()])
    assert "nan" in history.stop_reason and "epoch 2, batch 3" in history.stop_reason
    assert len(history) == 2  # the interrupted epoch is recorded with its good batches
    # the NaN batch made no update: the weights are those after the 6th (last good) step
    np.testing.assert_array_equal(model.weight.data, snapshots[5])
    assert np.all(np.isfinite(model.weight.data))


class PoisonSGD(PlainSGD):
    """Writes inf into the weights at one step (an update that blew up)."""

    def __init__(self, params, lr, poison_step):
        super().__init__(params, lr)
        self.poison_step = poison_step

    def step(self):
        super().step()
        if self.steps == self.poison_step:
            self.params[0].data[...] = np.inf


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN weights on purpose
def test_terminate_on_nan_restores_epoch_start_weights_when_weights_are_not_finite():
    X, y = regression_data(n=40)
    model = linear_model()
    starts = []

    class Record(Callback):
        def on_epoch_begin(self, epoch):
            starts.append(model.weight.data.copy())

    history = annie.fit(model, squared_error, PoisonSGD(model.parameters(), 0.05, 6), X, y,
                        epochs=5, batch_size=10, shuffle=False, verbose=0,
                        callbacks=[Record(), TerminateOnNaN()])
    assert history.stop_reason is not None and "restored" in history.stop_reason
    np.testing.assert_array_equal(model.weight.data, starts[1])


def test_learning_rate_scheduler_with_a_function():
    X, y = regression_data()
    model = linear_model()
    optimizer = PlainSGD(model.parameters(), lr=0.08)
    history = annie.fit(model, squared_error, optimizer, X, y, epochs=4, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch, lr: lr / 2)])
    assert history.history["lr"] == [0.08, 0.04, 0.02, 0.01]
    assert optimizer.param_groups[0]["lr"] == 0.005


def test_learning_rate_scheduler_with_an_optim_scheduler():
    optim = pytest.importorskip("annie.optim")
    if not hasattr(optim, "StepLR"):
        pytest.skip("annie.optim.StepLR not available yet")
    X, y = regression_data()
    model = linear_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    history = annie.fit(model, squared_error, optimizer, X, y, epochs=5, verbose=0,
                        callbacks=[LearningRateScheduler(scheduler)])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])


def test_csv_logger_writes_every_epoch(tmp_path):
    X, y = regression_data()
    model = linear_model()
    path = tmp_path / "log.csv"
    history = annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=3,
                        batch_size=10, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 3
    assert [float(row["val_loss"]) for row in rows] == history.history["val_loss"]


def read_rows(path):
    return list(csv.DictReader(path.open(newline="")))


def test_csv_logger_appends_one_line_per_epoch(tmp_path, monkeypatch):
    rewrites = []
    original = annie.io.atomic_write_bytes
    monkeypatch.setattr(annie.io, "atomic_write_bytes",
                        lambda path, data: (rewrites.append(path), original(path, data)))
    path = tmp_path / "log.csv"
    files = []

    class Snapshot(Callback):  # runs after the logger
        def on_epoch_end(self, epoch, logs):
            files.append(path.read_text())

    X, y = regression_data()
    model = linear_model()
    history = annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=5,
                        batch_size=10, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path), Snapshot()])
    assert len(rewrites) == 1  # the first epoch wrote the file; the others appended
    for epoch, text in enumerate(files):
        assert epoch == 0 or text.startswith(files[epoch - 1])
        assert text.count("\n") == epoch + 2
    rows = read_rows(path)
    assert [int(row["epoch"]) for row in rows] == list(range(5))
    for key in ("loss", "val_loss", "lr"):
        assert [float(row[key]) for row in rows] == history.history[key]


def test_csv_logger_writes_the_whole_file_where_appending_would_be_wrong(tmp_path):
    path = tmp_path / "log.csv"
    history = History()
    state = FitState(model=linear_model(), optimizer=None, history=history, epochs=4)
    logger = CSVLogger(path)
    logger.set_state(state)
    logger.on_train_begin()

    def epoch(number, logs):
        history.append(number, logs)
        logger.on_epoch_end(number, logs)
        return read_rows(path)

    epoch(0, {"loss": 1.0})
    rows = epoch(1, {"loss": 0.5, "val_loss": 0.75})  # a new column
    assert [row["val_loss"] for row in rows] == ["nan", "0.75"]
    path.unlink()  # removed meanwhile
    assert [row["loss"] for row in epoch(2, {"loss": 0.25, "val_loss": 0.5})] == \
        ["1.0", "0.5", "0.25"]
    with path.open("a") as handle:  # changed meanwhile
        handle.write("9,9,9\n")
    assert [row["epoch"] for row in epoch(3, {"loss": 0.125, "val_loss": 0.25})] == \
        ["0", "1", "2", "3"]


def test_csv_logger_of_a_resumed_run_drops_the_lines_past_its_checkpoint(tmp_path):
    X, y = regression_data()

    def run(epochs, path, **options):
        annie.manual_seed(0)
        model = linear_model()
        optimizer = annie.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return annie.fit(model, squared_error, optimizer, X, y, epochs=epochs, batch_size=8,
                         seed=1, verbose=0, callbacks=[CSVLogger(path)], **options)

    run(4, tmp_path / "straight.csv")
    cut = tmp_path / "cut.csv"
    run(2, cut, checkpoint_dir=tmp_path / "checkpoint")
    with cut.open("a") as handle:  # a line logged after the checkpoint, before a kill
        handle.write("2,0.5,0.05\n")
    run(4, cut, checkpoint_dir=tmp_path / "checkpoint", resume=True)
    assert cut.read_text() == (tmp_path / "straight.csv").read_text()
    assert len(read_rows(cut)) == 4


def test_model_checkpoint_saves_the_best_epochs(tmp_path):
    io = pytest.importorskip("annie.io")
    if not hasattr(io, "save"):
        pytest.skip("annie.io.save not available yet")
    model = linear_model()
    callback = ModelCheckpoint(tmp_path / "model-{epoch}.annie", save_best_only=True)
    drive(callback, model, [1.0, 0.5, 0.7, 0.2])
    assert [p.rsplit("-", 1)[1] for p in callback.saved] == ["1.annie", "2.annie", "4.annie"]
    loaded = annie.load(callback.saved[-1])
    np.testing.assert_array_equal(loaded.bias.data, [3.0])
