"""Exports of the playground: the model loads with annie.load and predicts as the page's model,
the TOML configuration trains with ``annie train`` and the code panel's script runs, each
checked by running it in a fresh process."""
from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

import annie
from annie.playground import export, toy_data
from annie.playground.mlp_lab import MlpLab
from annie.playground.rnn_lab import RnnLab

from playground_support import Client, running_server


def architecture(model) -> list:
    """Layer classes and parameter names and shapes: what must come back the same."""
    return [type(module).__name__ for _, module in model.named_modules()] + \
        [(name, tuple(param.shape)) for name, param in model.named_parameters()]


def run(command: list, folder) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def three_classes() -> toy_data.PlaneData:
    generator = np.random.default_rng(5)
    X = (generator.normal(size=(90, 2)) * [30, 0.5] + [200, 3]).astype(np.float32)
    y = np.arange(90) % 3
    X[:, 0] += 40 * y
    return toy_data.PlaneData(X, y.astype(np.int64), "classification", ["a", "b", "c"],
                              ("length", "width"), "three.csv")


def regression() -> toy_data.PlaneData:
    generator = np.random.default_rng(6)
    X = generator.uniform(-3, 3, (80, 2)).astype(np.float32)
    y = (np.sin(X[:, 0]) + 0.5 * X[:, 1]).astype(np.float32)
    return toy_data.PlaneData(X, y, "regression", [], ("u", "v"), "wave.csv")


MLP_RUNS = {
    "xor": (None, {"dataset": "xor", "hidden": [5, 3], "activation": "relu", "l2": 0.001}),
    "upload": (three_classes, {"dataset": "upload", "dropout": 0.1, "optimizer": "rmsprop",
                               "loss": "kl_divergence"}),
    "regression": (regression, {"dataset": "upload", "loss": "huber", "hidden": [6]}),
    "neuron": (None, {"dataset": "gaussians", "single_neuron": True, "loss": "hinge"}),
}


def mlp_lab(kind: str) -> MlpLab:
    make_upload, settings = MLP_RUNS[kind]
    lab = MlpLab(settings, upload=make_upload() if make_upload else None)
    lab.train_epoch()
    return lab


def heldout_rows(path) -> list:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_the_downloaded_model_predicts_as_the_pages(tmp_path):
    with running_server() as server:
        client = Client(server)
        session, _ = client.new_session()
        client.settings(session, "mlp", {"dataset": "xor", "hidden": [6, 4]})
        client.step_epoch(session, "mlp")
        status, body, headers = client.get(f"/api/sessions/{session}/mlp/export/model",
                                           raw=True)
        assert status == 200
        assert headers["Content-Disposition"] == 'attachment; filename="model.annie"'
        (tmp_path / "model.annie").write_bytes(body)
        lab = server.store.get(session).labs["mlp"]
        loaded = annie.load(tmp_path / "model.annie")
        assert architecture(loaded) == architecture(lab.model)
        assert np.array_equal(annie.predict(loaded, lab.X_test), lab.predict(lab.X_test))
        for what, name in (("config", "config.toml"), ("data", "data.csv"),
                           ("code", "train.py")):
            status, body, headers = client.get(f"/api/sessions/{session}/mlp/export/{what}",
                                               raw=True)
            assert status == 200 and name in headers["Content-Disposition"]
        # what cannot be exported is refused with the reason, as JSON
        client.settings(session, "rnn", {"init": "identity"})  # the IRNN on the adding problem
        status, body, _ = client.get(f"/api/sessions/{session}/rnn/export/data")
        assert status == 400 and body["error"].startswith("data")  # annie makes the sequences
        status, body, _ = client.get(f"/api/sessions/{session}/rnn/export/model", raw=True)
        assert status == 200
        (tmp_path / "irnn.annie").write_bytes(body)
        assert annie.load(tmp_path / "irnn.annie").encoder.rnn.nonlinearity == "relu"
        status, body, _ = client.get(f"/api/sessions/{session}/rnn/export/config", raw=True)
        assert status == 200 and b'dataset = "adding_problem"' in body


@pytest.mark.parametrize("kind", MLP_RUNS)
def test_the_exported_config_trains_the_same_model_on_the_same_split(tmp_path, kind):
    lab = mlp_lab(kind)
    (tmp_path / "config.toml").write_text(export.config_toml(lab))
    (tmp_path / "data.csv").write_text(export.data_csv(lab))
    run([sys.executable, "-m", "annie.cli", "train", "config.toml", "--set", "train.epochs=1",
         "--set", "train.plot=false", "--quiet", "--out", "run"], tmp_path)
    trained = annie.load(tmp_path / "run" / "model.annie")
    assert architecture(trained) == architecture(lab.model)
    # annie train held out exactly the playground's test points
    rows = heldout_rows(tmp_path / "run" / "heldout.csv")
    assert rows[0] == [*lab.data.feature_names, "label"]
    points = np.array([[float(x), float(y)] for x, y, _ in rows[1:]], dtype=np.float32)
    assert np.array_equal(points, lab.X_test)
    labels = [label for _, _, label in rows[1:]]
    if lab.task == "classification":
        assert labels == [str(name) for name in np.asarray(lab.data.classes)[lab.labels_test]]
    else:
        assert np.array_equal(np.array(labels, dtype=np.float32), lab.labels_test)
    text = (tmp_path / "config.toml").read_text()
    assert f"epochs = {max(1, int(np.ceil(lab.epoch)))}" in text


@pytest.mark.parametrize("kind", ["xor", "neuron", "upload"])
def test_the_python_code_runs(tmp_path, kind):
    lab = mlp_lab(kind)
    (tmp_path / "data.csv").write_text(export.data_csv(lab))
    (tmp_path / "train.py").write_text(export.python_code(lab, epochs=1))
    run([sys.executable, "train.py"], tmp_path)
    assert architecture(annie.load(tmp_path / "model.annie")) == architecture(lab.model)


@pytest.mark.parametrize("task", ["digits", "sine", "adding"])
def test_rnn_config_trains_with_annie_train(tmp_path, task):
    lab = RnnLab({"task": task, "cell": "gru", "hidden_size": 8, "clip_norm": 2.0, "steps": 12,
                  "init": "orthogonal"})
    lab.train_for(10.0, max_steps=3)
    (tmp_path / "config.toml").write_text(export.config_toml(lab))
    if task == "sine":
        (tmp_path / "data.csv").write_text(export.data_csv(lab))
    run([sys.executable, "-m", "annie.cli", "train", "config.toml", "--quiet", "--out", "run",
         "--set", "train.plot=false"], tmp_path)
    trained = annie.load(tmp_path / "run" / "model.annie")
    assert architecture(trained) == architecture(lab.model)
    assert "clip_grad_norm = 2.0" in (tmp_path / "config.toml").read_text()
    (tmp_path / "train.py").write_text(export.python_code(lab, epochs=1))
    run([sys.executable, "train.py"], tmp_path)
    coded = annie.load(tmp_path / "model.annie")
    assert architecture(coded) == architecture(lab.model)
    if task == "sine":  # the series' level and spread travel inside all three models
        series = np.loadtxt(tmp_path / "data.csv", skiprows=1)
        cut = len(lab.X_train)
        assert lab.model.scale == pytest.approx(series[:cut + 12].std(), rel=1e-12)
        assert lab.model.loc == pytest.approx(series[:cut + 12].mean(), abs=1e-12)
        assert (trained.scale, trained.loc) == (lab.model.scale, lab.model.loc)
        assert coded.scale == pytest.approx(lab.model.scale)
        assert coded.loc == pytest.approx(lab.model.loc, abs=1e-9)


def test_the_irnn_exports_as_an_irnn(tmp_path):
    """The IRNN (ReLU RNN, identity init) downloads, retrains from its config and its code as
    an IRNN: each saved model loads back with the ReLU and, fresh, with W_hh = I."""
    irnn = RnnLab({"task": "adding", "steps": 6, "hidden_size": 4, "init": "identity"})
    irnn.train_for(10.0, max_steps=2)
    (tmp_path / "model.annie").write_bytes(export.model_bytes(irnn, str(tmp_path)))
    downloaded = annie.load(tmp_path / "model.annie")
    assert downloaded.encoder.rnn.nonlinearity == "relu"
    assert np.array_equal(annie.predict(downloaded, irnn.X_test), irnn.predict(irnn.X_test))
    (tmp_path / "config.toml").write_text(export.config_toml(irnn))
    assert 'nonlinearity = "relu"' in (tmp_path / "config.toml").read_text()
    run([sys.executable, "-m", "annie.cli", "train", "config.toml", "--quiet", "--out", "run",
         "--set", "train.plot=false", "--set", "train.epochs=1", "--set", "data.n_samples=200"],
        tmp_path)
    (tmp_path / "train.py").write_text(export.python_code(irnn, epochs=1))
    result = run([sys.executable, "train.py"], tmp_path)
    assert "||dL/dh_t|| over 6 steps" in result.stdout
    for path in ("run/model.annie", "model.annie"):
        layer = annie.load(tmp_path / path).encoder.rnn
        assert (layer.nonlinearity, layer.recurrent_init) == ("relu", "identity"), path
        fresh = type(annie.load(tmp_path / path))(**annie.load(tmp_path / path)._init_args[
            "kwargs"]).encoder.rnn
        assert np.array_equal(fresh.weight_hh_l0.data, np.eye(4)), path
