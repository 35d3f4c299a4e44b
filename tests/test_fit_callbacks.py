"""fit's concerns as callbacks: the order of the CallbackList, epochs cut short by a stop,
BackupAndRestore given directly, progress output (terminal bar, log lines, notebook streams),
History.plot returning a Figure and LivePlot writing a PNG each epoch."""
import io

import numpy as np
import pytest

import annie
from annie.errors import ConfigError
from annie.train import (BackupAndRestore, Callback, CallbackList, FitState, History, LivePlot,
                         Progress, TerminateOnNaN)
from annie.train import progress as progress_module
from annie.train.checkpoint import CHECKPOINT_FILE

from train_helpers import PlainSGD, linear_model, regression_data, squared_error

PNG = b"\x89PNG\r\n\x1a\n"


class Recorder(Callback):
    """Records the hooks it sees as (hook, epoch or batch) pairs."""

    def __init__(self, name, calls, sees_stopped=False):
        self.name, self.calls = name, calls
        self.sees_stopped_epochs = sees_stopped

    def on_train_begin(self):
        self.calls.append((self.name, "train_begin"))

    def on_epoch_end(self, epoch, logs):
        self.calls.append((self.name, "epoch_end", epoch, len(self.state.history)))


def test_callbacks_run_after_the_history_and_before_the_checkpoint(tmp_path):
    X, y = regression_data()
    model = linear_model()
    calls = []
    annie.fit(model, squared_error, annie.optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2,
              verbose=0, callbacks=[Recorder("a", calls), Recorder("b", calls)],
              checkpoint_dir=tmp_path)
    # the History has recorded epoch e when the user's callbacks see its end
    assert calls == [("a", "train_begin"), ("b", "train_begin"), ("a", "epoch_end", 0, 1),
                     ("b", "epoch_end", 0, 1), ("a", "epoch_end", 1, 2),
                     ("b", "epoch_end", 1, 2)]
    state, _ = annie.io.load_state(tmp_path / CHECKPOINT_FILE)
    classes = [entry["class"] for entry in state["callbacks"]]
    assert classes == ["History", "TerminateOnNaN", "Recorder", "Recorder"]
    assert state["callbacks"][0]["state"]["epoch"].tolist() == [0, 1]  # an int64 array


def test_an_epoch_cut_short_reaches_only_the_callbacks_that_see_stopped_epochs():
    X, y = regression_data(n=40)
    model = linear_model()
    calls = []

    def nan_after_five(prediction, target, count=[0]):
        count[0] += 1
        loss = squared_error(prediction, target)
        return loss * float("nan") if count[0] >= 6 else loss

    history = annie.fit(model, nan_after_five, PlainSGD(model.parameters(), lr=0.01), X, y,
                        epochs=3, batch_size=10, verbose=0,
                        callbacks=[Recorder("plain", calls), Recorder("sees", calls, True)])
    assert history.stop_reason is not None and len(history) == 2
    assert ("plain", "epoch_end", 1, 2) not in calls
    assert ("sees", "epoch_end", 1, 2) in calls


def test_callback_list_calls_batch_hooks_only_where_defined():
    state = FitState(model=linear_model(), optimizer=None, history=History(), epochs=1)
    nan = TerminateOnNaN()
    callbacks = CallbackList([History(), nan, Recorder("r", [])], state)
    assert callbacks.batch_callbacks == [nan]
    assert state.callbacks == callbacks.callbacks


def test_backup_and_restore_given_as_a_callback_resumes_exactly(tmp_path):
    X, y = regression_data()

    def run(epochs, callbacks):
        annie.manual_seed(0)
        model = linear_model()
        optimizer = annie.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        history = annie.fit(model, squared_error, optimizer, X, y, epochs=epochs, batch_size=8,
                            seed=1, verbose=0, callbacks=callbacks)
        return model, history

    straight, straight_history = run(4, [])
    run(2, [BackupAndRestore(tmp_path, checkpoint_every=3)])
    resumed, history = run(4, [BackupAndRestore(tmp_path, checkpoint_every=3, resume=True)])
    assert history.history == straight_history.history
    assert resumed.weight.data.tobytes() == straight.weight.data.tobytes()
    model = linear_model()
    with pytest.raises(ConfigError, match="checkpoint_dir or a BackupAndRestore"):
        annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=1,
                  verbose=0, checkpoint_dir=tmp_path, callbacks=[BackupAndRestore(tmp_path)])


# ----- progress ------------------------------------------------------------------------------
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def run_with_progress(progress, epochs=2, **options):
    X, y = regression_data()
    model = linear_model()
    return annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=epochs,
                     batch_size=8, callbacks=[progress], **options)  # replaces the default one


def test_progress_bar_on_a_terminal_and_lines_in_a_log():
    terminal = FakeTerminal()
    run_with_progress(Progress(verbose=1, stream=terminal))
    text = terminal.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "5/5" in text and "loss=" in text
    log = io.StringIO()  # not a terminal: one line per epoch
    run_with_progress(Progress(verbose=1, stream=log))
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2") and "loss=" in lines[1]


def test_progress_in_a_notebook_writes_to_stdout(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    run_with_progress(Progress(verbose=2))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("epoch ") == 2
    monkeypatch.setattr(progress_module, "in_notebook", lambda: False)
    run_with_progress(Progress(verbose=2))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("epoch ") == 2


def test_progress_says_why_training_stopped():
    log = io.StringIO()
    X, y = regression_data()
    model = linear_model()
    annie.fit(model, squared_error, PlainSGD(model.parameters(), lr=0.05), X, y, epochs=10,
              verbose=0, callbacks=[Progress(verbose=2, stream=log),
                                    annie.train.EarlyStopping(monitor="loss", mode="max")])
    assert log.getvalue().splitlines()[-1].startswith("stopped: early stopping")


def test_in_notebook_is_false_outside_a_kernel():
    assert progress_module.in_notebook() is False


# ----- figures -------------------------------------------------------------------------------
def test_history_plot_without_a_path_returns_the_figure(tmp_path):
    pytest.importorskip("matplotlib")
    history = History()
    for epoch in range(3):
        history.append(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.2 / (epoch + 1),
                               "lr": 0.1, "accuracy": 0.3 * epoch})
    figure = history.plot()
    loss_axis, metric_axis = figure.axes
    curves = {line.get_label(): list(line.get_ydata()) for line in loss_axis.lines}
    assert curves == {"loss": history["loss"], "val_loss": history["val_loss"]}
    assert [line.get_label() for line in metric_axis.lines] == ["accuracy"]
    assert history.plot(tmp_path / "curves.png") is None
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    with pytest.raises(ConfigError, match="'f1' was not recorded"):
        history.plot(metric="f1")


def test_live_plot_writes_the_png_after_every_epoch(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "live.png"
    images = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs):
            images.append(path.read_bytes())

    run_with_progress(LivePlot(path), epochs=3)
    assert path.read_bytes()[:8] == PNG
    images.clear()
    X, y = regression_data()
    model = linear_model()
    annie.fit(model, squared_error, PlainSGD(model.parameters()), X, y, epochs=3, verbose=0,
              metrics=["mae"], callbacks=[LivePlot(path, metric="mae"), Snapshot()])
    assert len(images) == 3 and all(image[:8] == PNG for image in images)
    assert len(set(images)) == 3  # redrawn with each epoch's values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.png"]  # no temporary files


def test_live_plot_outside_a_notebook_defaults_to_a_file_and_says_where_once(
        tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    run_with_progress(LivePlot(), epochs=2)
    assert (tmp_path / LivePlot.DEFAULT_PATH).read_bytes()[:8] == PNG
    said = [line for line in capsys.readouterr().out.splitlines() if "LivePlot" in line]
    assert said == [f"LivePlot: not in a notebook, so the training curves are drawn in "
                    f"{tmp_path / 'training_curves.png'} after each epoch"]
    run_with_progress(LivePlot(tmp_path / "given.png"), epochs=1)  # a path given: no line
    assert "LivePlot" not in capsys.readouterr().out


def test_plotting_keeps_pyplot_free_of_figures(tmp_path):
    pyplot = pytest.importorskip("matplotlib.pyplot")
    before = pyplot.get_fignums()
    history = History()
    history.append(0, {"loss": 1.0})
    history.plot()
    history.plot(tmp_path / "a.png")
    assert pyplot.get_fignums() == before
