"""Forecasting runs read and answer in the series' own units: the saved model keeps the
series' level and unit inside (``nn.SequenceRegressor(loc=..., scale=...)``), so ``annie.load``, ``forecast``, the ONNX export
and ``annie predict`` take the raw series; run folders written while the scale lived in
``run.json`` still evaluate and export in the series' units, and ``annie predict`` refuses
them with one line."""
from __future__ import annotations

import csv
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import annie
from annie import nn
from annie.cli import main
from annie.errors import ConfigError

WINDOW = 20
#: a run folder written by annie before the scale moved into the model (GRU, window 8, on the
#: series.csv beside it): run.json info.scale, held-out windows divided by it
OLD_RUN = pathlib.Path(__file__).parent / "fixtures" / "forecast_run_scale_outside"


def write_series(path, length=500, seed=0) -> np.ndarray:
    """day,temperature: 10 + 5 sin(2 pi t / 50) + noise (std 0.3); returns the values."""
    steps = np.arange(length)
    values = 10 + 5 * np.sin(2 * np.pi * steps / 50) + \
        np.random.default_rng(seed).normal(0, 0.3, length)
    path.write_text("day,temperature\n" + "".join(f"{day},{value:.6f}\n"
                                                  for day, value in zip(steps, values)))
    return np.loadtxt(path, delimiter=",", skiprows=1)[:, 1]


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def command(*args, cwd):
    """``annie ARGS`` in a fresh process: (exit code, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-m", "annie.cli", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    """The newcomer's forecasting run: a GRU over windows of 20 of a temperature series."""
    folder = tmp_path_factory.mktemp("forecast")
    series = write_series(folder / "series.csv")
    (folder / "series.toml").write_text(
        f'[data]\npath = "series.csv"\ntarget = "temperature"\nwindow = {WINDOW}\n'
        f'[model]\ntype = "sequence_regressor"\ncell = "gru"\nhidden_size = 32\n'
        f'[train]\nepochs = 40\nplot = false\n')
    code, out, err = command("train", "series.toml", "--out", "run", "--quiet", cwd=folder)
    assert code == 0, err
    return {"folder": folder, "run": folder / "run", "series": series, "trained": out}


def heldout(series: np.ndarray, window: int, test_size: float = 0.2):
    """The held-out raw windows and their next values, cut here from the series itself."""
    count = len(series) - window
    n_test = round(count * test_size)
    starts = np.arange(count - n_test, count)
    X = np.stack([series[start:start + window] for start in starts]).astype(np.float32)
    return X, series[starts + window]


def test_the_saved_model_takes_the_raw_series_and_answers_in_its_units(series_run):
    model = annie.load(series_run["run"] / "model.annie")
    series = series_run["series"]
    training = series[:len(series) - round(480 * 0.2)]
    assert model.scale == pytest.approx(training.std(), rel=1e-6)  # the training part's
    assert model.loc == pytest.approx(training.mean(), rel=1e-6)   # spread and level, inside
    X, truth = heldout(series, WINDOW)
    predicted = annie.predict(model, X)
    persistence = rmse(X[:, -1], truth)
    error = rmse(predicted, truth)
    assert error < 0.8 * persistence and error < 0.6  # noise 0.3; the series spans 5 to 15
    summary = json.loads((series_run["run"] / "run.json").read_text())
    assert summary["test"]["rmse"] == pytest.approx(error, rel=1e-4)  # scored in raw units
    assert "scale" not in summary["info"]  # nothing a user must apply by hand


def test_onnx_export_of_the_run_equals_annie_on_raw_windows(series_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "series.onnx"
    code, out, err = command("export", series_run["run"], "--onnx", path,
                             cwd=series_run["folder"])
    assert code == 0, err
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert {"Sub", "Div", "Mul", "Add"} <= set(ops)
    X, truth = heldout(series_run["series"], WINDOW)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported, = session.run(None, {"input": X[:, :, None]})
    ours = annie.predict(annie.load(series_run["run"] / "model.annie"), X)
    np.testing.assert_allclose(exported, ours, rtol=1e-5, atol=1e-4)
    assert rmse(exported, truth) < 0.6


def test_annie_predict_forecasts_after_every_window(series_run, tmp_path):
    folder, series = series_run["folder"], series_run["series"]
    recent = tmp_path / "recent.csv"  # the columns in another order, an extra column
    recent.write_text("temperature,day,note\n" + "".join(
        f"{value:.6f},{day},x\n" for day, value in enumerate(series[-60:])))
    out_csv = tmp_path / "forecast.csv"
    code, out, err = command("predict", series_run["run"], recent, "--output", out_csv,
                             cwd=folder)
    assert code == 0, err
    assert "ignored column(s) the model does not read: day, note" in err
    with open(out_csv, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["window_end", "temperature+1"] and len(rows) == 1 + 60 - WINDOW + 1
    ends = [int(row[0]) for row in rows[1:]]
    assert ends == list(range(WINDOW, 61))
    values = np.array([float(row[1]) for row in rows[1:]])
    recent_values = np.loadtxt(recent, delimiter=",", skiprows=1, usecols=0)
    windows = np.stack([recent_values[end - WINDOW:end] for end in ends]).astype(np.float32)
    model = annie.load(series_run["run"] / "model.annie")
    np.testing.assert_allclose(values, annie.predict(model, windows), rtol=1e-6)
    # each forecast (but the last, which is past the file's end) against the next value
    assert rmse(values[:-1], recent_values[WINDOW:]) < 0.6
    # without --output: the first and the last rows, the forecast past the end among them
    code, out, err = command("predict", series_run["run"], recent, cwd=folder)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 12 and lines[6].startswith("... 31 more rows")
    assert lines[-1].split()[:2] == ["40", "60"]
    assert float(lines[-1].split()[2]) == pytest.approx(float(rows[-1][1]), rel=1e-5)


@pytest.mark.parametrize("content, message", [
    ("temperature\n" + "10.0\n" * (WINDOW - 1), "holds 19 values of the series 'temperature'; "
                                                "a forecast reads a window of data.window = 20"),
    ("day,level\n" + "1,10.0\n" * 30, "has no column 'temperature'"),
])
def test_annie_predict_refuses_a_short_file_or_a_missing_column(series_run, tmp_path, content,
                                                                message):
    path = tmp_path / "input.csv"
    path.write_text(content)
    code, out, err = command("predict", series_run["run"], path, cwd=series_run["folder"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("annie: error: ") and message in err


def test_annie_predict_refuses_proba_and_the_adding_problem(series_run, tmp_path, capsys):
    path = tmp_path / "input.csv"
    path.write_text("temperature\n" + "10.0\n" * 30)
    assert main(["predict", str(series_run["run"]), str(path), "--proba"]) == 2
    assert "--proba: a forecaster predicts values" in capsys.readouterr().err
    adding = tmp_path / "adding"
    assert main(["train", "rnn_long_memory_adding", "--out", str(adding), "--quiet",
                 "--set", "data.n_samples=40", "--set", "data.steps=6", "--set",
                 "train.epochs=1", "--set", "model.hidden_size=4", "--set",
                 "train.plot=false"]) == 0
    capsys.readouterr()
    assert main(["predict", str(adding), str(path)]) == 2
    assert "learned the adding problem" in capsys.readouterr().err


# ----- run folders written while the scale lived in run.json ----------------------------------
@pytest.fixture
def old_run(tmp_path):
    folder = tmp_path / "old_run"
    shutil.copytree(OLD_RUN, folder)
    return folder


def old_reference(folder):
    """The old model's raw-unit forecasts as that annie gave them: windows divided by
    info.scale in, outputs times info.scale out; with the raw held-out windows and targets."""
    scale = json.loads((folder / "run.json").read_text())["info"]["scale"]
    model = annie.load(folder / "model.annie")
    assert model.scale == 1.0 and model.loc == 0.0  # saved before either was an argument
    series = np.loadtxt(folder / "series.csv", delimiter=",", skiprows=1)[:, 1]
    X, truth = heldout(series, 8, test_size=0.25)
    return X, truth, annie.predict(model, (X / scale).astype(np.float32)) * scale


def test_an_old_run_folder_evaluates_as_it_did(old_run, capsys):
    summary = json.loads((old_run / "run.json").read_text())
    assert main(["evaluate", str(old_run)]) == 0
    out = capsys.readouterr().out
    assert f"held-out rmse: {summary['test']['rmse']:.4f}" in out
    assert f"rmse: {summary['baseline']['rmse']:.4f}" in out
    X, truth, reference = old_reference(old_run)
    assert rmse(reference, truth) == pytest.approx(summary["test"]["rmse"], rel=1e-4)


def test_an_old_run_folder_exports_a_model_on_raw_windows(old_run, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    assert main(["export", str(old_run), "--onnx", str(tmp_path / "old.onnx")]) == 0
    X, truth, reference = old_reference(old_run)
    session = ort.InferenceSession(str(tmp_path / "old.onnx"),
                                   providers=["CPUExecutionProvider"])
    exported, = session.run(None, {"input": X[:, :, None]})
    np.testing.assert_allclose(exported, reference, rtol=1e-5, atol=1e-4)
    assert rmse(exported, truth) < 0.6


def test_an_old_run_folder_is_refused_by_annie_predict(old_run, capsys):
    assert main(["predict", str(old_run), str(old_run / "series.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not record its series column" in err


# ----- the model ---------------------------------------------------------------------------
def test_loc_and_scale_standardise_the_input_and_map_the_output_back(tmp_path):
    annie.manual_seed(3)
    scaled = nn.SequenceRegressor(input_size=1, hidden_size=5, output_size=2, cell="lstm",
                                  scale=7.5, loc=-480.0)
    plain = nn.SequenceRegressor(input_size=1, hidden_size=5, output_size=2, cell="lstm")
    plain.load_state_dict(scaled.state_dict())
    x = np.random.default_rng(0).normal(-470, 7, size=(4, 6, 1))
    expected = annie.predict(plain, ((x + 480) / 7.5).astype(np.float32)) * 7.5 - 480
    np.testing.assert_allclose(annie.predict(scaled, x.astype(np.float32)), expected,
                               rtol=1e-5)
    annie.save(scaled, tmp_path / "model.annie")
    loaded = annie.load(tmp_path / "model.annie")
    assert (loaded.scale, loaded.loc) == (7.5, -480.0)
    np.testing.assert_array_equal(annie.predict(loaded, x.astype(np.float32)),
                                  annie.predict(scaled, x.astype(np.float32)))


def test_forecast_continues_the_raw_series():
    annie.manual_seed(4)
    scaled = nn.SequenceRegressor(hidden_size=6, cell="gru", scale=40.0, loc=300.0)
    plain = nn.SequenceRegressor(hidden_size=6, cell="gru")
    plain.load_state_dict(scaled.state_dict())
    window = np.linspace(220, 420, 12)
    np.testing.assert_allclose(scaled.forecast(window, 5),
                               plain.forecast((window - 300.0) / 40.0, 5) * 40.0 + 300.0,
                               rtol=1e-5)


@pytest.mark.parametrize("scale", [0, -2.0, float("nan"), float("inf"), True, "3"])
def test_a_scale_that_is_not_a_positive_finite_number_is_refused(scale):
    with pytest.raises(ConfigError, match="SequenceRegressor: scale must be a positive finite"):
        nn.SequenceRegressor(scale=scale)


@pytest.mark.parametrize("loc", [float("nan"), float("-inf"), True, "3", None])
def test_a_loc_that_is_not_a_finite_number_is_refused(loc):
    with pytest.raises(ConfigError, match="SequenceRegressor: loc must be a finite number"):
        nn.SequenceRegressor(loc=loc)


# ----- a series far from zero --------------------------------------------------------------
def write_far_series(path) -> np.ndarray:
    """day,load: 500 + 50 sin(2 pi t / 50) + noise (std 5), 500 steps: a level 14 spreads above
    zero; returns the values."""
    steps = np.arange(500)
    values = 500 + 50 * np.sin(2 * np.pi * steps / 50) + \
        np.random.default_rng(0).normal(0, 5, len(steps))
    path.write_text("day,load\n" + "".join(f"{day},{value:.4f}\n"
                                           for day, value in zip(steps, values)))
    return np.loadtxt(path, delimiter=",", skiprows=1)[:, 1]


def test_a_series_far_from_zero_is_centred_and_beats_persistence(tmp_path, monkeypatch):
    """The run standardises the windows with the training part's mean and spread; reading
    them only divided by the spread (values near 10, the gates saturated) the same short run
    is far worse than next = last."""
    from annie.app.config import load_config
    from annie.app.recipes.sequence import SequenceRegressorRecipe
    from annie.app.run import train_config
    series = write_far_series(tmp_path / "load.csv")
    (tmp_path / "load.toml").write_text(
        '[data]\npath = "load.csv"\ntarget = "load"\nwindow = 20\n'
        '[model]\ntype = "sequence_regressor"\ncell = "gru"\nhidden_size = 16\n'
        '[train]\nepochs = 20\nplot = false\n')
    config = load_config(tmp_path / "load.toml")
    centred = train_config(config, tmp_path / "run", verbose=0)
    persistence = centred.scores.baseline["rmse"]
    assert centred.scores.test["rmse"] < 0.9 * persistence
    model = annie.load(tmp_path / "run" / "model.annie")
    training = series[:len(series) - round(480 * 0.2)]
    assert model.loc == pytest.approx(training.mean(), rel=1e-6)
    assert model.scale == pytest.approx(training.std(), rel=1e-6)

    windows = SequenceRegressorRecipe._windows

    def not_centred(self, values, name):
        split = windows(self, values, name)
        split.info["sizes"]["loc"] = 0.0
        return split
    monkeypatch.setattr(SequenceRegressorRecipe, "_windows", not_centred)
    scaled_only = train_config(load_config(tmp_path / "load.toml"), None, verbose=0)
    assert scaled_only.scores.baseline["rmse"] == persistence
    assert scaled_only.scores.test["rmse"] > 2 * persistence


def test_forecast_of_a_multi_step_model_names_the_call_that_gives_its_values():
    model = nn.SequenceRegressor(input_size=1, hidden_size=4, output_size=3)
    with pytest.raises(ConfigError, match=r"needs output_size == input_size, got 3 and 1; a "
                                          r"model that predicts 3 values at once gives them "
                                          r"with model\(window\)"):
        model.forecast(np.arange(12.0), 2)
    window = np.arange(12.0, dtype=np.float32).reshape(1, 12, 1)
    assert model(annie.Tensor(window)).shape == (1, 3)
