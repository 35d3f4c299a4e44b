"""A tiny search end to end (SQLite storage, reports, a rerun that continues), pruning on a
deliberately bad learning-rate range checked against the median rule and against the same
trials run without a pruner, and diverged trials."""
import csv
import json
import math
import statistics

import numpy as np
import pytest

from tune_helpers import finished_count, load_study, states, write_config

import annie
from annie import cli
from annie.app import config as run_config, run
from annie.tune import bridge, space, spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _decoded(trial, parameters):
    return space.decode(parameters, trial.params)


def test_a_tiny_search_writes_its_reports_and_a_rerun_continues(tmp_path, capsys):
    path = write_config(tmp_path)
    out = tmp_path / "out"
    code = cli.main(["tune", str(path), "--trials", "6", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    url = "sqlite:///" + str(out / "study.db")
    study = load_study(url, "iris_tune")
    assert finished_count(study) == 6 and set(states(study)) <= {"COMPLETE", "PRUNED"}
    first_values = [trial.value for trial in study.trials]
    document, table = bridge.split_document(bridge.read_document(path))
    base = bridge.load(document, str(path))
    search = spec.parse(table, base, str(path))

    # trials.csv: one row per trial, the study's values and the decoded parameters
    with open(out / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["number"]) for row in rows] == [t.number for t in study.trials]
    for row, trial in zip(rows, study.trials):
        assert row["state"] == trial.state.name
        assert float(row["val_loss"]) == pytest.approx(trial.value, rel=1e-12)
        assert float(row["optimizer.lr"]) == pytest.approx(trial.params["optimizer.lr"])
        assert row["model.hidden"] == trial.params["model.hidden"]  # JSON text, e.g. [8, 8]
        assert int(row["train.batch_size"]) == trial.params["train.batch_size"]
        assert float(row["duration_s"]) > 0
        assert (row["note"] != "") == (trial.state.name == "PRUNED")
    complete = [row for row in rows if row["state"] == "COMPLETE"]
    best_row = min(complete, key=lambda row: float(row["val_loss"]))

    # best.toml: the base configuration with the best trial's values, ready for annie train
    best = run_config.load_config(out / "best.toml")
    expected = bridge.apply(base, _decoded(study.best_trial, search.parameters), "expected")
    assert best == expected
    assert best["model"]["hidden"] == json.loads(best_row["model.hidden"])
    assert f"best: trial {best_row['number']}, val_loss" in stdout
    retrained = run.train_config(best, None, verbose=0)   # same seed: the same numbers
    assert retrained.history["val_loss"][-1] == pytest.approx(float(best_row["val_loss"]),
                                                              rel=1e-5)
    for name in ("history.png", "importances.png", "intermediate.png", "contour.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name

    # the same command with a larger total continues the study; earlier trials are unchanged
    code = cli.main(["tune", str(path), "--trials", "8", "--out", str(out), "--quiet",
                     "--no-figures"])
    assert code == 0 and capsys.readouterr().out == ""
    again = load_study(url, "iris_tune")
    assert finished_count(again) == 8
    assert [t.number for t in again.trials] == list(range(8))
    assert [t.value for t in again.trials[:6]] == first_values
    # another configuration under the same study name is refused, naming what differs
    code = cli.main(["tune", str(path), "--trials", "9", "--out", str(out),
                     "--set", "train.epochs=4"])
    err = capsys.readouterr().err
    assert code == 2 and "started with another configuration" in err
    assert "config.train.epochs" in err
    assert finished_count(load_study(url, "iris_tune")) == 8


BAD_RANGE = """
[tune]
sampler = "random"
sampler_seed = 3
pruner_startup_trials = 2
"optimizer.lr" = { low = 1e-7, high = 0.1, log = true }
"""


def _search(tmp_path, pruner: str):
    config = write_config(tmp_path, tune=BAD_RANGE + f'pruner = "{pruner}"\n', epochs=4,
                          name=f"bad_range_{pruner}.toml")
    return annie.tune(config, n_trials=10, verbose=0)


def test_pruning_stops_trials_from_a_deliberately_bad_range(tmp_path):
    pruned_study = _search(tmp_path, "median")
    full_study = _search(tmp_path, "none")
    pruned = [t for t in pruned_study.trials if t.state.name == "PRUNED"]
    assert pruned, "no trial was pruned"
    assert all(t.state.name == "COMPLETE" for t in full_study.trials)
    for trial in pruned:
        last_step = max(trial.intermediate_values)
        assert trial.user_attrs["epochs"] == last_step + 1 < 4     # stopped early
        assert trial.user_attrs["note"].startswith(f"pruned after epoch {last_step + 1}")
        # the median rule: worse than the median of the trials completed before it
        earlier = [t.intermediate_values[last_step] for t in pruned_study.trials
                   if t.number < trial.number and t.state.name == "COMPLETE"]
        assert len(earlier) >= 2
        assert trial.intermediate_values[last_step] > statistics.median(earlier)
        # the same trial run to the end without a pruner: same parameters, same curve, and
        # it stays worse than the best finished trial
        twin = full_study.trials[trial.number]
        assert twin.params == trial.params
        for step, value in trial.intermediate_values.items():
            assert twin.intermediate_values[step] == pytest.approx(value, rel=1e-6)
        assert twin.value > full_study.best_value
    # pruned trials come from the bad (small) end of the range
    best_lr = full_study.best_trial.params["optimizer.lr"]
    assert np.median([t.params["optimizer.lr"] for t in pruned]) < best_lr


def test_a_diverged_trial_is_pruned_with_a_note():
    config = {"data": {"dataset": "iris"}, "model": {"activation": "relu"},
              "optimizer": {"name": "sgd"},
              "train": {"validation_split": 0.2, "epochs": 3},
              "tune": {"optimizer.lr": [1e6], "pruner": "none"}}
    with np.errstate(all="ignore"):
        study = annie.tune(config, n_trials=1, verbose=0)
    trial = study.trials[0]
    assert trial.state.name == "PRUNED"
    assert trial.user_attrs["note"].startswith("diverged")
    assert all(math.isfinite(value) for value in trial.intermediate_values.values())


def test_a_trial_never_scores_the_test_split(monkeypatch):
    from annie.app.recipes import classifier

    def refuse(self, model, split):
        raise AssertionError("a trial scored the held-out (test) data")

    monkeypatch.setattr(classifier.TabularClassifier, "score", refuse)   # iris's recipe
    config = {"data": {"dataset": "iris"}, "train": {"validation_split": 0.2, "epochs": 2},
              "tune": {"optimizer.lr": [0.01, 0.1], "sampler": "grid"}}
    study = annie.tune(config, n_trials=2, verbose=0)
    assert [trial.state.name for trial in study.trials] == ["COMPLETE", "COMPLETE"]


def test_annie_tune_is_a_package_and_a_function():
    import annie.tune.space   # importing a submodule keeps annie.tune callable
    assert callable(annie.tune) and annie.tune.space is space
    assert annie.tune.tune.__name__ == "tune"
    study = annie.tune({"data": {"dataset": "iris"},
                        "train": {"validation_split": 0.2, "epochs": 1},
                        "tune": {"model.hidden": [[4], [8]], "sampler": "grid"}},
                       n_trials=5, verbose=0)
    # the grid sampler stops the study when its two points are done
    assert sorted(t.params["model.hidden"] for t in study.trials) == ["[4]", "[8]"]
