"""Checkpoints and exact resume: a run killed with SIGKILL and resumed in a new process ends
bit for bit where an uninterrupted run ends; wrong checkpoints are refused clearly."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.errors import ConfigError
from annie.train import EarlyStopping
from annie.train.checkpoint import CHECKPOINT_FILE

WORKER = os.path.join(os.path.dirname(__file__), "resume_worker.py")
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_worker(*args):
    environment = {**os.environ, **SINGLE_THREAD}
    return subprocess.run([sys.executable, WORKER, *map(str, args)], env=environment,
                          capture_output=True, text=True, timeout=120)


def same_result(path_a, path_b):
    """Weights, optimizer arrays and history equal byte for byte."""
    a, _ = annie.io.load_state(path_a)
    b, _ = annie.io.load_state(path_b)
    assert a["weights"].keys() == b["weights"].keys()
    for name in a["weights"]:
        assert a["weights"][name].tobytes() == b["weights"][name].tobytes(), name
    for index, state in a["optimizer"]["state"].items():
        for key, value in state.items():
            other = b["optimizer"]["state"][index][key]
            if isinstance(value, np.ndarray):
                assert value.tobytes() == other.tobytes(), (index, key)
            else:
                assert value == other, (index, key)
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    history, other = a["history"], b["history"]  # History.state_dict(): arrays
    assert history["epoch"].tolist() == other["epoch"].tolist()
    assert history["stop_reason"] == other["stop_reason"]
    assert history["history"].keys() == other["history"].keys()
    for key, values in history["history"].items():
        assert values.tobytes() == other["history"][key].tobytes(), key


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight")
    results = {}
    for model in ("mlp", "lstm"):
        results[model] = folder / f"{model}.state"
        done = run_worker(model, folder / f"checkpoints_{model}", results[model], "epoch")
        assert done.returncode == 0, done.stderr
    return results


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("model, every, kill_at", [
    ("mlp", 4, 10),        # killed mid-epoch 2; the checkpoint is from batch 8, mid-epoch too
    ("mlp", "epoch", 9),   # killed mid-epoch 2; the checkpoint is from the end of epoch 1
    ("lstm", 2, 5),        # stateful LSTM with tbptt: the carried state is in the checkpoint
])
def test_killed_then_resumed_equals_straight_run(tmp_path, straight_runs, model, every, kill_at):
    checkpoints = tmp_path / "checkpoints"
    killed = run_worker(model, checkpoints, tmp_path / "killed.state", every, "--kill-at", kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "killed.state").exists()
    assert (checkpoints / CHECKPOINT_FILE).is_file()
    resumed = run_worker(model, checkpoints, tmp_path / "resumed.state", every, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    same_result(straight_runs[model], tmp_path / "resumed.state")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killed_between_spaced_checkpoints_resumes_from_the_older_one(tmp_path, straight_runs):
    checkpoints = tmp_path / "checkpoints"
    spaced = ("--seconds", 2.5)  # a clock reading 0, 1, 2, ...: a write at batch 6, then 12
    killed = run_worker("mlp", checkpoints, tmp_path / "killed.state", 2, "--kill-at", 10,
                        *spaced)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    tree, _ = annie.io.load_state(checkpoints / CHECKPOINT_FILE)
    assert tree["position"]["batches_done"] == 6  # without the wait: batch 8
    resumed = run_worker("mlp", checkpoints, tmp_path / "resumed.state", 2, "--resume", *spaced)
    assert resumed.returncode == 0, resumed.stderr
    same_result(straight_runs["mlp"], tmp_path / "resumed.state")


# ----- in one process ---------------------------------------------------------------------
def data(n=40, seed=0):
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def new_run():
    annie.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def test_extending_a_finished_run_equals_a_longer_run(tmp_path):
    X, y = data()
    model, optimizer = new_run()
    long = annie.fit(model, "cross_entropy", optimizer, X, y, epochs=5, batch_size=8, verbose=0,
                     seed=1)
    first, first_optimizer = new_run()
    annie.fit(first, "cross_entropy", first_optimizer, X, y, epochs=2, batch_size=8, verbose=0,
              seed=1, checkpoint_dir=tmp_path)
    second, second_optimizer = new_run()
    history = annie.fit(second, "cross_entropy", second_optimizer, X, y, epochs=5, batch_size=8,
                        verbose=0, seed=1, checkpoint_dir=tmp_path, resume=True)
    assert history.history == long.history and history.epoch == [0, 1, 2, 3, 4]
    for a, b in zip(model.parameters(), second.parameters()):
        assert a.data.tobytes() == b.data.tobytes()


def test_resuming_a_finished_run_trains_no_more(tmp_path):
    X, y = data()
    model, optimizer = new_run()
    history = annie.fit(model, "cross_entropy", optimizer, X, y, epochs=2, batch_size=8,
                        verbose=0, checkpoint_dir=tmp_path)
    again, again_optimizer = new_run()
    resumed = annie.fit(again, "cross_entropy", again_optimizer, X, y, epochs=2, batch_size=8,
                        verbose=0, checkpoint_dir=tmp_path, resume=True)
    assert resumed.history == history.history
    for a, b in zip(model.parameters(), again.parameters()):
        assert a.data.tobytes() == b.data.tobytes()


def test_early_stopping_state_and_best_weights_survive_a_resume(tmp_path):
    X, y = data()
    callbacks = lambda: [EarlyStopping(monitor="loss", mode="max", patience=2,  # noqa: E731
                                       restore_best_weights=True)]
    model, optimizer = new_run()
    straight = annie.fit(model, "cross_entropy", optimizer, X, y, epochs=10, batch_size=8,
                         verbose=0, seed=2, callbacks=callbacks())
    first, first_optimizer = new_run()
    annie.fit(first, "cross_entropy", first_optimizer, X, y, epochs=2, batch_size=8, verbose=0,
              seed=2, callbacks=callbacks(), checkpoint_dir=tmp_path)
    second, second_optimizer = new_run()
    resumed = annie.fit(second, "cross_entropy", second_optimizer, X, y, epochs=10,
                        batch_size=8, verbose=0, seed=2, callbacks=callbacks(),
                        checkpoint_dir=tmp_path, resume=True)
    assert resumed.stop_reason == straight.stop_reason is not None
    assert resumed.history == straight.history
    for a, b in zip(model.parameters(), second.parameters()):  # the best (first) epoch's weights
        assert a.data.tobytes() == b.data.tobytes()


def test_checkpoint_file_is_written_atomically_and_loads(tmp_path):
    X, y = data()
    model, optimizer = new_run()
    annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, batch_size=8, verbose=0,
              checkpoint_dir=tmp_path, checkpoint_every=2)
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT_FILE]  # no temporary files left
    state, meta = annie.io.load_state(tmp_path / CHECKPOINT_FILE)
    assert meta["kind"] == "annie-fit-checkpoint"
    assert state["position"]["epoch"] == 1 and state["position"]["batches_done"] == 5
    assert np.array_equal(state["model"]["0.weight"], model[0].weight.data)


def test_resume_errors_are_clear(tmp_path):
    X, y = data()
    model, optimizer = new_run()
    with pytest.raises(ConfigError, match="resume=True needs checkpoint_dir"):
        annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, verbose=0, resume=True)
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, verbose=0,
                  checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ConfigError, match="checkpoint_every must be 'epoch' or a positive"):
        annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, verbose=0,
                  checkpoint_dir=tmp_path, checkpoint_every=0)
    annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, verbose=0,
              checkpoint_dir=tmp_path)
    wider = nn.Sequential(nn.Linear(4, 9), nn.Tanh(), nn.Linear(9, 2))
    with pytest.raises(ConfigError, match=r"parameter '0.weight' has shape \(8, 4\).*\(9, 4\)"):
        annie.fit(wider, "cross_entropy", optim.SGD(wider.parameters(), lr=0.1), X, y,
                  epochs=2, verbose=0, checkpoint_dir=tmp_path, resume=True)
    other, _ = new_run()
    with pytest.raises(ConfigError, match="written with a SGD optimizer, this run uses Adam"):
        annie.fit(other, "cross_entropy", optim.Adam(other.parameters()), X, y, epochs=2,
                  verbose=0, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ConfigError, match="a Sequential model, this model is a Linear"):
        linear = nn.Linear(4, 2)
        annie.fit(linear, "cross_entropy", optim.SGD(linear.parameters(), lr=0.1), X, y,
                  epochs=2, verbose=0, checkpoint_dir=tmp_path, resume=True)
    stopping = EarlyStopping(monitor="loss")
    annie.fit(model, "cross_entropy", optimizer, X, y, epochs=1, verbose=0,
              checkpoint_dir=tmp_path, callbacks=[stopping])
    with pytest.raises(ConfigError, match="state of callback EarlyStopping"):
        annie.fit(model, "cross_entropy", optimizer, X, y, epochs=2, verbose=0,
                  checkpoint_dir=tmp_path, resume=True)


# ----- the command line ---------------------------------------------------------------------
CLI_CONFIG = """seed = 4
[data]
dataset = "digits"
[model]
hidden = [16]
dropout = 0.1
[train]
batch_size = 128
checkpoint_every = 5
"""


def test_cli_resume_continues_a_run_exactly(tmp_path, capsys):
    from annie import cli
    config = tmp_path / "small.toml"
    config.write_text(CLI_CONFIG)
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli.main(["train", str(config), "--out", str(straight), "--quiet",
                     "--set", "train.epochs=3"]) == 0
    assert cli.main(["train", str(config), "--out", str(split), "--quiet",
                     "--set", "train.epochs=1"]) == 0
    assert (split / CHECKPOINT_FILE).is_file()
    assert cli.main(["train", str(config), "--resume", str(split), "--quiet",
                     "--set", "train.epochs=3"]) == 0
    assert (split / "history.csv").read_text() == (straight / "history.csv").read_text()
    a = annie.load(straight / "model.annie").state_dict()
    b = annie.load(split / "model.annie").state_dict()
    assert all(a[name].tobytes() == b[name].tobytes() for name in a)
    capsys.readouterr()
    assert cli.main(["train", str(config), "--resume", str(split), "--quiet",
                     "--set", "model.hidden=[8]"]) == 2
    message = capsys.readouterr().err
    assert "differs from the one the run" in message and "['model.hidden']" in message
    assert cli.main(["train", str(config), "--resume", str(tmp_path / "missing")]) == 2
    assert "run folder" in capsys.readouterr().err
    assert cli.main(["train", str(config), "--resume", str(split), "--out", str(straight)]) == 2
    assert "leave out --out" in capsys.readouterr().err
