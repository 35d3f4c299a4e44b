"""What a search writes: figures that show what the study holds now (none drawn from no
complete trial, none of an earlier run or another study left beside a best.toml and
trials.csv it disagrees with), and values written as the [tune] table gives them."""
import csv

import numpy as np

from tune_helpers import write_config

import annie
from annie import cli
from annie.app import config as run_config

FIGURES = ("history.png", "importances.png", "intermediate.png", "contour.png")


def _figures(folder) -> list[str]:
    return sorted(name for name in FIGURES if (folder / name).exists())


def test_no_figure_is_drawn_from_a_study_without_a_complete_trial(tmp_path, capsys):
    config = {"data": {"dataset": "iris"}, "optimizer": {"name": "sgd"},
              "train": {"validation_split": 0.2, "epochs": 2},
              "tune": {"optimizer.lr": {"low": 1e6, "high": 1e7}, "pruner": "none",
                       "optimizer.momentum": {"low": 0.5, "high": 0.9}}}
    with np.errstate(all="ignore"):   # every trial diverges: all pruned
        study = annie.tune(config, n_trials=2, out_dir=tmp_path)
    assert {trial.state.name for trial in study.trials} == {"PRUNED"}
    assert "history.png" not in _figures(tmp_path)
    assert "importances.png" not in _figures(tmp_path)
    output = capsys.readouterr().out
    assert "history.png not drawn: no trial has completed yet" in output
    assert "importances.png not drawn: it needs two complete trials" in output


def test_figures_of_an_earlier_run_are_not_left_behind(tmp_path, capsys):
    path, out = write_config(tmp_path), tmp_path / "out"
    assert cli.main(["tune", str(path), "--trials", "4", "--out", str(out),
                     "--set", "tune.pruner=none"]) == 0
    assert _figures(out) == sorted(FIGURES)
    capsys.readouterr()
    # the same folder, another search with one choice only: no contour, and no stale one
    assert cli.main(["tune", str(write_config(tmp_path, name="other.toml", tune="""
[tune]
pruner = "none"
sampler = "grid"
"model.hidden" = [[4], [8]]
""")), "--trials", "2", "--out", str(out)]) == 0
    output = capsys.readouterr().out
    assert _figures(out) == ["history.png", "importances.png", "intermediate.png"]
    assert "removed contour.png of an earlier run" in output
    # --no-figures: none of the earlier ones stays beside the new trials.csv
    assert cli.main(["tune", str(path), "--trials", "5", "--out", str(out), "--no-figures",
                     "--set", "tune.pruner=none"]) == 0
    assert _figures(out) == []


def test_values_on_a_float_grid_are_written_as_the_grid_has_them(tmp_path, capsys):
    path, out = write_config(tmp_path, tune="""
[tune]
sampler = "random"
sampler_seed = 0
pruner = "none"
"model.dropout" = { low = 0.0, high = 0.9, step = 0.1 }
"""), tmp_path / "out"
    assert cli.main(["tune", str(path), "--trials", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    with open(out / "trials.csv", newline="") as handle:
        written = sorted(row["model.dropout"] for row in csv.DictReader(handle))
    grid = [f"0.{digit}" for digit in range(10)]
    assert set(written) <= set(grid), written   # 0.3, not 0.30000000000000004
    assert "0000000" not in printed
    best = run_config.load_config(out / "best.toml")
    assert str(best["model"]["dropout"]) in written
