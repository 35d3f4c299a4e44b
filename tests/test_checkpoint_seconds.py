"""Checkpoints spaced in time (``checkpoint_seconds``): how many are written and where, for
``fit`` and ``annie train``; the last one always; a run cut between two of them resumes from the
older one to exactly the end of an uninterrupted run. The clock is a counter (each reading one
second later), so the positions are fixed whatever the machine's speed."""
import numpy as np
import pytest

import annie
from annie import cli, nn, optim
from annie.errors import ConfigError
from annie.train import Callback, EarlyStopping
from annie.train import checkpoint as checkpoint_module
from annie.train.checkpoint import CHECKPOINT_FILE

from resume_worker import CountingClock
from train_helpers import regression_data, squared_error


class FrozenClock:
    """A ``time`` stand-in whose ``monotonic()`` never moves: no wait ever ends."""

    @staticmethod
    def monotonic():
        return 0.0


@pytest.fixture
def written(monkeypatch):
    """The positions (epoch, batches done) of the checkpoints written, in order."""
    positions = []
    original = checkpoint_module.write_checkpoint

    def recording(folder, state, position):
        positions.append((position["epoch"], position["batches_done"]))
        original(folder, state, position)

    monkeypatch.setattr(checkpoint_module, "write_checkpoint", recording)
    return positions


def train(folder, epochs, every="epoch", seconds=0.0, resume=False, callbacks=()):
    annie.manual_seed(0)
    X, y = regression_data(n=40)
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(),
                          nn.Linear(8, 1, dtype=np.float64))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = annie.fit(model, squared_error, optimizer, X, y, epochs=epochs, batch_size=10,
                        seed=1, verbose=0, callbacks=list(callbacks), checkpoint_dir=folder,
                        checkpoint_every=every, checkpoint_seconds=seconds, resume=resume)
    return model, history


def test_without_a_wait_every_epoch_end_writes_one(tmp_path, written):
    train(tmp_path, epochs=6)
    assert written == [(epoch, 4 * epoch) for epoch in range(1, 7)]  # 4 batches an epoch


def test_a_wait_spaces_the_writes_and_the_last_is_always_written(tmp_path, written,
                                                                 monkeypatch):
    monkeypatch.setattr(checkpoint_module, "time", CountingClock())
    # readings: start 0; epoch ends 1, 2, 3 (>= 2.5 s: write, then 4); 5, 6, 7 (write); ...
    train(tmp_path / "epochs", epochs=8, seconds=2.5)
    assert [epoch for epoch, _ in written] == [3, 6, 8]
    written.clear()
    monkeypatch.setattr(checkpoint_module, "time", CountingClock())
    train(tmp_path / "batches", epochs=3, every=2, seconds=2.5)  # looked at every 2 batches
    assert [batches for _, batches in written] == [6, 12, 12]  # (the end: 12 batches, epoch 3)
    written.clear()
    monkeypatch.setattr(checkpoint_module, "time", FrozenClock())
    train(tmp_path / "never", epochs=5, seconds=10.0)
    assert written == [(5, 20)]


def test_an_early_stop_writes_its_checkpoint_whatever_the_wait(tmp_path, written, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "time", FrozenClock())
    stop = EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # stops after epoch 2
    _, history = train(tmp_path, epochs=10, seconds=10.0, callbacks=[stop])
    assert len(history) == 2 and written == [(2, 8)]


class Crash(Callback):
    """Raises at the start of an epoch: the run ends there without any further write."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch):
        if epoch == self.epoch:
            raise RuntimeError("crash")


def test_a_run_cut_between_spaced_checkpoints_resumes_exactly(tmp_path, written, monkeypatch):
    straight, straight_history = train(tmp_path / "straight", epochs=9)
    monkeypatch.setattr(checkpoint_module, "time", CountingClock())
    with pytest.raises(RuntimeError, match="crash"):
        train(tmp_path / "cut", epochs=9, seconds=2.5, callbacks=[Crash(5)])
    tree, _ = annie.io.load_state(tmp_path / "cut" / CHECKPOINT_FILE)
    assert tree["position"]["epoch"] == 3  # the write at epoch 3; none at epochs 4 and 5
    monkeypatch.setattr(checkpoint_module, "time", CountingClock())
    resumed, history = train(tmp_path / "cut", epochs=9, seconds=2.5, resume=True,
                             callbacks=[Crash(None)])
    assert history.history == straight_history.history and history.epoch == list(range(9))
    for mine, theirs in zip(resumed.parameters(), straight.parameters()):
        assert mine.data.tobytes() == theirs.data.tobytes()


def test_checkpoint_seconds_is_checked(tmp_path):
    for bad in (-1, float("nan"), float("inf"), "10", True):
        with pytest.raises(ConfigError, match="checkpoint_seconds must be a finite number"):
            train(tmp_path, epochs=1, seconds=bad)


# ----- annie train ----------------------------------------------------------------------------
CONFIG = """seed = 0
[data]
dataset = "iris"
[model]
hidden = [4]
[train]
epochs = 6
batch_size = 64
plot = false
"""


def test_annie_train_writes_the_checkpoint_once_a_wait_and_at_the_end(tmp_path, written,
                                                                      monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setattr(checkpoint_module, "time", FrozenClock())
    assert cli.main(["train", str(config), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert written == [(6, 12)]  # the default wait (10 s) never ended: only the last one
    written.clear()
    assert cli.main(["train", str(config), "--out", str(tmp_path / "b"), "--quiet",
                     "--set", "train.checkpoint_seconds=0"]) == 0
    assert [epoch for epoch, _ in written] == [1, 2, 3, 4, 5, 6]
    # when checkpoints are written may change on --resume (it changes no result)
    written.clear()
    assert cli.main(["train", str(config), "--resume", str(tmp_path / "a"), "--quiet",
                     "--set", "train.epochs=8", "--set", "train.checkpoint_seconds=0"]) == 0
    assert [epoch for epoch, _ in written] == [7, 8]
    capsys.readouterr()
    assert cli.main(["train", str(config), "--out", str(tmp_path / "c"), "--quiet",
                     "--set", "train.checkpoint_seconds=-1"]) == 2
    assert "train.checkpoint_seconds" in capsys.readouterr().err
