"""The [tune] table: ranges, choices and settings parsed into Optuna parameters, and every bad
table refused with exit code 2 and one message naming the key (and the closest valid one)
before anything is trained or written."""
import json

import pytest

from tune_helpers import BASE, write_config

import annie
from annie import cli
from annie.errors import ConfigError
from annie.tune import bridge, space, spec


def parse(table: dict, **config_changes):
    config = bridge.load({"data": {"dataset": "iris"},
                          "train": {"validation_split": 0.2, "epochs": 2}}, "test")
    for key, value in config_changes.items():
        config = bridge.apply(config, {key: value}, "test")
    return spec.parse(table, config, "test.toml")


def test_ranges_and_choices_become_the_right_parameters():
    search = parse({"optimizer.lr": {"low": 1e-4, "high": 0.1, "log": True},
                    "train.batch_size": {"low": 8, "high": 32, "step": 8},
                    "model.dropout": {"low": 0, "high": 0.5},       # integers for a float key
                    "optimizer.momentum": {"low": 0.5, "high": 0.9},  # an optimizer's own key
                    "model.hidden": [[16], [32], [16, 16]],
                    "model.activation": ["relu", "tanh"]},
                   **{"optimizer.name": "sgd"})
    by_key = {parameter.key: parameter for parameter in search.parameters}
    assert by_key["optimizer.lr"] == space.FloatRange("optimizer.lr", 1e-4, 0.1, log=True)
    assert by_key["train.batch_size"] == space.IntRange("train.batch_size", 8, 32, step=8)
    assert by_key["train.batch_size"].grid_values() == [8, 16, 24, 32]
    assert by_key["model.dropout"] == space.FloatRange("model.dropout", 0.0, 0.5)
    assert isinstance(by_key["optimizer.momentum"], space.FloatRange)
    hidden = by_key["model.hidden"]
    assert hidden.labels == ("[16]", "[32]", "[16, 16]")   # JSON text for Optuna
    assert [hidden.decode(label) for label in hidden.labels] == [[16], [32], [16, 16]]
    assert by_key["model.activation"].labels == ("relu", "tanh")   # plain values as they are
    assert search.settings["sampler"] == "tpe" and search.settings["pruner"] == "median"
    assert search.metric == "val_loss" and search.direction == "minimize"


def test_direction_follows_the_metric_unless_given():
    assert parse({"metric": "val_accuracy", "optimizer.lr": [0.01, 0.1]}).direction == \
        "maximize"
    assert parse({"metric": "val_accuracy", "direction": "minimize",
                  "optimizer.lr": [0.01, 0.1]}).direction == "minimize"


def test_nested_tables_name_the_same_keys():
    search = parse({"optimizer": {"lr": {"low": 0.001, "high": 0.1}},
                    "model": {"hidden": [[4], [8]]}})
    assert [parameter.key for parameter in search.parameters] == ["optimizer.lr",
                                                                   "model.hidden"]


def test_a_float_step_grid_and_the_description_round_trip():
    search = parse({"sampler": "grid", "model.dropout": {"low": 0.0, "high": 0.3, "step": 0.1},
                    "model.hidden": [[4], [4, 4]]})
    assert search.parameters[0].grid_values() == [0.0, 0.1, 0.2, 0.3]
    again = spec.from_description(json.loads(json.dumps(search.describe())))
    assert again.parameters == search.parameters and again.settings == search.settings


BAD_TABLES = [
    ('"optimizer.lrr" = [0.1, 0.2]', ["unknown key 'optimizer.lrr'",
                                       "did you mean 'optimizer.lr'"]),
    ('metrc = "val_loss"\n"optimizer.lr" = [0.1]', ["unknown key 'metrc'",
                                                    "did you mean 'metric'"]),
    ('[tune.optimizer]\nlrr = [0.1]', ["unknown key 'optimizer.lrr'",
                                       "did you mean 'optimizer.lr'"]),
    ('"optimizer.lr" = { low = 0.1, high = 0.01 }', ["'optimizer.lr'",
                                                     "low must be below high"]),
    ('"optimizer.lr" = { low = 0.0, high = 0.1, log = true }', ["'optimizer.lr'",
                                                                "log range needs low > 0"]),
    ('"train.epochs" = { low = 1.5, high = 4 }', ["'train.epochs' takes integers"]),
    ('"train.epochs" = { low = 1, hihg = 4 }', ["unknown range field 'hihg'",
                                                "did you mean 'high'"]),
    ('"train.batch_size" = { low = 8, high = 30, step = 8 }', ["'train.batch_size'",
                                                               "not a multiple of step"]),
    ('"optimizer.lr" = { low = 0.01, high = 0.1, log = true, step = 0.01 }',
     ["either log = true or a step"]),
    ('sampler = "tpee"\n"optimizer.lr" = [0.1]', ["unknown sampler 'tpee'",
                                                  "did you mean 'tpe'"]),
    ('pruner = "medain"\n"optimizer.lr" = [0.1]', ["did you mean 'median'"]),
    ('direction = "minimise"\n"optimizer.lr" = [0.1]', ["did you mean 'minimize'"]),
    ('sampler = "grid"\n"optimizer.lr" = { low = 0.001, high = 0.1, log = true }',
     ["'optimizer.lr'", "grid"]),
    ('metric = "val_acc"\n"optimizer.lr" = [0.1]', ["unknown metric 'val_acc'",
                                                    "did you mean 'val_accuracy'"]),
    ('"model.activation" = ["relu", "relux"]', ["model.activation = 'relux'",
                                                "unknown activation 'relux'"]),
    ('"model.dropout" = { low = 0.0, high = 1.5 }', ["model.dropout = 1.5",
                                                     "model.dropout must be in [0, 1)"]),
    ('"model.activation" = { low = 1, high = 2 }', ["'model.activation' takes a string"]),
    ('"train.validation_split" = [0.1, 0.2]', ["'train.validation_split' cannot be searched"]),
    ('"model.hidden" = []', ["'model.hidden' = []", "at least one value"]),
    ('"model.hidden" = [[8], [8]]', ["'model.hidden'", "appears twice"]),
    ('"optimizer.lr" = 0.1', ["'optimizer.lr' = 0.1", "a list of choices"]),
    ('sampler = "random"', ["nothing to search"]),
    ('sampler_seed = -1\n"optimizer.lr" = [0.1]', ["sampler_seed must be >= 0"]),
    # keys that change the data the metric is measured on: the seed draws the splits
    ('"seed" = [0, 1, 2]', ["'seed' cannot be searched", "luckiest split"]),
    # the loss's own keys change the scale of the loss the metric is
    ('"loss.name" = ["cross_entropy", "nll_loss"]', ["'loss.name' cannot be searched with "
                                                     "metric 'val_loss'", "val_accuracy"]),
    ('metric = "loss"\n"loss.label_smoothing" = { low = 0.0, high = 0.2 }',
     ["'loss.label_smoothing' cannot be searched with metric 'loss'"]),
    # a choice under which training would not report the metric, found before any trial
    ('metric = "val_accuracy"\n"train.metrics" = [["accuracy"], ["f1"]]',
     ["metric 'val_accuracy' is not reported by a trial with train.metrics = ['f1']"]),
]


@pytest.mark.parametrize("table, fragments", BAD_TABLES, ids=[t for t, _ in BAD_TABLES])
def test_bad_tune_tables_exit_2_naming_the_key(tmp_path, capsys, table, fragments):
    path = write_config(tmp_path, tune="\n[tune]\n" + table + "\n")
    out = tmp_path / "out"
    code = cli.main(["tune", str(path), "--trials", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("annie: error: ") and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()   # refused before anything was trained or written


def test_the_loss_may_be_searched_when_the_metric_is_not_the_loss():
    search = parse({"metric": "val_accuracy", "loss.name": ["cross_entropy", "nll_loss"],
                    "train.metrics": [["accuracy"], ["accuracy", "f1"]]})
    assert [parameter.key for parameter in search.parameters] == ["loss.name",
                                                                   "train.metrics"]


def test_a_validation_metric_needs_a_validation_split(tmp_path, capsys):
    path = write_config(tmp_path, tune='\n[tune]\n"optimizer.lr" = [0.01, 0.1]\n')
    code = cli.main(["tune", str(path), "--set", "train.validation_split=0.0",
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "'val_loss' is measured on validation data" in err, err


def test_a_tune_table_that_is_not_a_table_and_bad_arguments(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('tune = "yes"\n' + BASE.format(epochs=2))
    assert cli.main(["tune", str(path)]) == 2
    assert "must be a table [tune]" in capsys.readouterr().err
    good = write_config(tmp_path)
    for arguments, fragment in ((["--trials", "0"], "--trials"),
                                (["--workers", "two"], "--workers"),
                                (["--timeout", "-5"], "--timeout"),
                                (["--storage", "study.db"], "sqlite:///study.db"),
                                (["--study", ""], "--study '': give the study a name"),
                                (["--out", str(good)], "is a file: give a folder")):
        code = cli.main(["tune", str(good), "--out", str(tmp_path / "o"), *arguments,
                         "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and fragment in err, (arguments, err)


def test_the_python_api_raises_config_errors():
    with pytest.raises(ConfigError, match="n_trials must be a positive integer"):
        annie.tune({"tune": {}}, n_trials=0)
    with pytest.raises(ConfigError, match="several workers need a storage"):
        annie.tune({"data": {"dataset": "iris"}, "train": {"validation_split": 0.2},
                    "tune": {"optimizer.lr": [0.01, 0.1]}}, n_trials=2, workers=2)


def test_an_installed_preset_is_tuned_by_its_name(tmp_path):
    out = tmp_path / "out"
    code = cli.main(["tune", "iris", "--trials", "2", "--out", str(out), "--no-figures",
                     "--quiet", "--set", "train.epochs=2",
                     "--set", "tune.optimizer.lr=[0.01, 0.1]"])
    assert code == 0
    best = (out / "best.toml").read_text()
    assert 'dataset = "iris"' in best and "epochs = 2" in best
