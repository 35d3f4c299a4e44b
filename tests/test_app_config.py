"""Configurations: data.path relative to the configuration file, TOML written by tomli-w (a
newline in a string survives), the [scheduler] section against closed forms, loss options,
train.top_k against scikit-learn, keys that do not apply, presets by name, and the one name
registry behind every lookup."""
import csv
import os
import pathlib

import numpy as np
import pytest

import annie
from annie import cli, losses, optim
from annie.app import config as run_config, presets, recipes
from annie.errors import ConfigError
from annie.registry import Registry, normalize_name, summary_line


def write(path, text):
    path.write_text(text)
    return path


def test_data_path_is_read_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    config_file = write(folder / "run.toml", '[data]\npath = "data/table.csv"\n')
    monkeypatch.chdir(tmp_path)
    config = run_config.load_config(config_file)
    assert config["data"]["path"] == str(folder / "data" / "table.csv")
    config = run_config.load_config(config_file, ["data.path=other.csv"])  # --set: the cwd
    assert config["data"]["path"] == str(tmp_path / "other.csv")


def test_a_string_with_a_newline_survives_the_written_config(tmp_path, capsys):
    text = tmp_path / "poem.txt"
    text.write_text('the "quick" brown\tfox said: jumps over the lazy dog.\n' * 40)
    config_file = write(tmp_path / "lm.toml", '[data]\npath = "poem.txt"\nseq_len = 16\n'
                        '[model]\ntype = "char_lm"\nhidden_size = 8\n'
                        '[train]\nepochs = 1\nplot = false\n'
                        '[generate]\nprompt = "the \\"fox\\"\\tsaid:\\n"\nlength = 5\n')
    config = run_config.load_config(config_file)
    assert config["generate"]["prompt"] == 'the "fox"\tsaid:\n'
    out = tmp_path / "run"
    assert cli.main(["train", str(config_file), "--out", str(out), "--quiet", "--set",
                     "generate.prompt='\u00e9t\u00e9'"]) == 2
    assert "generate.prompt: character '\u00e9' does not occur" in capsys.readouterr().err
    assert cli.main(["train", str(config_file), "--out", str(out), "--quiet"]) == 0
    assert run_config.load_config(out / "config.toml") == config
    assert cli.main(["evaluate", str(out)]) == 0
    assert cli.main(["train", str(config_file), "--resume", str(out), "--quiet",
                     "--set", "train.epochs=2"]) == 0
    assert "bits_per_char" in capsys.readouterr().out


def learning_rates(history_csv) -> list[float]:
    with open(history_csv, newline="") as handle:
        return [float(row["lr"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("settings, closed_form", [
    (["name='step'", "step_size=2", "gamma=0.5"], lambda e: 0.01 * 0.5 ** (e // 2)),
    (["name='exponential'", "gamma=0.9"], lambda e: 0.01 * 0.9 ** e),
    (["name='cosine'"], lambda e: 0.01 * (1 + np.cos(np.pi * e / 6)) / 2),  # T_max = epochs
    (["name='linear'", "start_factor=0.25", "total_iters=4"],
     lambda e: 0.01 * (0.25 + 0.75 * min(e, 4) / 4)),  # linear warm-up
])
def test_scheduler_section_follows_the_closed_form(tmp_path, settings, closed_form):
    out = tmp_path / "run"
    argv = ["train", "iris", "--out", str(out), "--quiet", "--set", "train.epochs=6",
            "--set", "train.plot=false",
            "--set", "optimizer.lr=0.01", "--set", "train.early_stopping_patience=0"]
    for setting in settings:
        argv += ["--set", f"scheduler.{setting}"]
    assert cli.main(argv) == 0
    np.testing.assert_allclose(learning_rates(out / "history.csv"),
                               [closed_form(epoch) for epoch in range(6)], rtol=1e-6)


def test_plateau_scheduler_reduces_the_rate_when_the_loss_stalls(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "iris", "--out", str(out), "--quiet", "--set", "train.epochs=8",
                     "--set", "train.plot=false",
                     "--set", "optimizer.lr=1e-6", "--set", "scheduler.name=plateau",
                     "--set", "scheduler.patience=1", "--set", "scheduler.factor=0.5"]) == 0
    rates = learning_rates(out / "history.csv")
    assert rates[0] == 1e-6 and rates[-1] < rates[0]
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))


def test_loss_options_reach_the_loss():
    config = run_config.load_config(None, ["data.dataset='diabetes'", "loss.name='huber'",
                                           "loss.delta=2.5"])
    loss = recipes.resolve(config).loss_function()
    assert isinstance(loss, losses.Huber) and loss.options == {"delta": 2.5}
    with pytest.raises(ConfigError, match=r"loss 'huber' has no argument 'dleta'; did you mean "
                                          r"'loss.delta'"):
        run_config.load_config(None, ["data.dataset='diabetes'", "loss.name='huber'",
                                      "loss.dleta=2.5"])


def test_top_k_accuracy_uses_train_top_k_as_scikit_learn_does(tmp_path):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    out = tmp_path / "run"
    assert cli.main(["train", "digits_mlp", "--out", str(out), "--quiet", "--set",
                     "train.epochs=1", "--set", "train.plot=false", "--set",
                     "model.hidden=[8]", "--set",
                     "train.metrics=['accuracy', 'top_k_accuracy']", "--set",
                     "train.top_k=3"]) == 0
    run = annie.app.run.open_run(out)
    split = run.recipe.load_heldout(run.folder, run.summary["info"])
    scores = annie.predict(run.model, split.X_test)
    expected = sklearn_metrics.top_k_accuracy_score(split.y_test, scores, k=3,
                                                    labels=np.arange(10))
    assert run.summary["test"]["top_k_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert run.summary["test"]["top_k_accuracy"] > run.summary["test"]["accuracy"]


@pytest.mark.parametrize("overrides, message", [
    (["data.dataset='iris'", "model.hidden_size=8"],
     "model.hidden_size does not apply to model.type 'mlp'"),
    (["data.dataset='digits_rows'", "model.type='sequence_classifier'", "model.hidden=[4]"],
     "model.hidden does not apply to model.type 'sequence_classifier'"),
    (["data.dataset='iris'", "model.type='perceptron'"], "unknown model.type 'perceptron'"),
    (["data.dataset='iris'", "data.task='clasification'"],
     "data.task must be 'auto', 'classification' or 'regression', got 'clasification'"),
    (["data.dataset='digits_rows'", "model.type='sequence_classifier'",
      "model.nonlinearity='relu'"],
     "model.nonlinearity 'relu' is the plain RNN's: set model.cell = 'rnn' .model.cell is "
     "'lstm'"),
    (["data.dataset='digits_rows'", "model.type='sequence_classifier'",
      "model.recurrent_init='eye'"],
     "model.recurrent_init must be 'uniform', 'orthogonal' or 'identity', got 'eye'"),
])
def test_configuration_refusals_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run_config.load_config(None, overrides)


def test_presets_are_installed_and_trainable_by_name_from_anywhere(tmp_path, monkeypatch):
    names = presets.presets()
    assert {"iris", "digits_mlp", "diabetes_regression", "rnn_many_to_one_sunspots"} <= set(names)
    for name in names:
        path = pathlib.Path(presets.preset_path(name))
        assert path.is_file() and "annie/app/configs" in path.as_posix()
        run_config.load_config(path)  # every preset is valid
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "iris", "--quiet", "--set", "train.epochs=2"]) == 0
    assert (tmp_path / "runs" / "iris" / "run.json").is_file()
    examples = pathlib.Path(__file__).resolve().parents[1] / "examples" / "configs"
    assert sorted(os.listdir(examples)) == sorted(f"{name}.toml" for name in names)


def test_one_registry_lookup_for_every_kind_of_name():
    for registry, spelled, canonical in ((losses.LOSSES, "Cross-Entropy", "cross_entropy"),
                                         (optim.OPTIMIZERS, "NAdam", "nadam"),
                                         (optim.SCHEDULERS, "StepLR", "step"),
                                         (annie.nn.activation.ACTIVATIONS, "LeakyReLU",
                                          "leaky_relu"),
                                         (annie.train.metrics.METRICS, "F1_score", "f1"),
                                         (recipes.MODEL_TYPES, " Seq2Seq ", "seq2seq")):
        assert registry.canonical(spelled) == canonical
        assert registry.describe(spelled) == summary_line(registry.lookup(spelled))
    with pytest.raises(ConfigError, match=r"unknown scheduler 'cosin' \(did you mean 'cosine'\?"
                                          r"\); valid names: cosine, exponential, linear, "
                                          r"plateau, step"):
        optim.get_scheduler("cosin")
    assert normalize_name(" Leaky-ReLU ") == "leaky_relu"


def test_registry_descriptions_are_first_docstring_sentences():
    def documented():
        """First sentence here. Second sentence."""
    registry = Registry("thing", {"one": documented})
    assert registry.descriptions() == {"one": "First sentence here."}
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("ONE", len)
    assert "One" in registry and "two" not in registry and list(registry) == ["one"]


def test_the_irnn_from_a_configuration_is_saved_as_one(tmp_path):
    """model.cell = 'rnn', model.nonlinearity = 'relu', model.recurrent_init = 'identity':
    annie train builds the IRNN, and its run folder's model loads as the IRNN."""
    out = tmp_path / "run"
    (tmp_path / "irnn.toml").write_text(
        '[data]\ndataset = "adding_problem"\nn_samples = 60\nsteps = 5\n'
        '[model]\ntype = "sequence_regressor"\ncell = "rnn"\nnonlinearity = "relu"\n'
        'recurrent_init = "identity"\nhidden_size = 6\n[train]\nepochs = 1\nplot = false\n')
    assert cli.main(["train", str(tmp_path / "irnn.toml"), "--out", str(out), "--quiet"]) == 0
    layer = annie.load(out / "model.annie").encoder.rnn
    assert (layer.nonlinearity, layer.recurrent_init) == ("relu", "identity")
    config = run_config.load_config(None, ["data.dataset='adding_problem'",
                                           "model.type='sequence_regressor'", "data.n_samples=60",
                                           "data.steps=5", "model.cell='rnn'",
                                           "model.nonlinearity='relu'",
                                           "model.recurrent_init='identity'"])
    recipe = run_config.validate(config)
    fresh = recipe.build_model(recipe.prepare()).encoder.rnn
    assert fresh.nonlinearity == "relu"
    np.testing.assert_array_equal(fresh.weight_hh_l0.data, np.eye(fresh.hidden_size))


def test_a_tune_table_is_left_to_annie_tune(tmp_path):
    # one file serves `annie tune` and `annie train`: train reads its own tables and the
    # values they set, and passes over [tune]; a misspelt table is still refused
    config_file = write(tmp_path / "iris.toml",
                        '[data]\ndataset = "iris"\n[train]\nepochs = 3\n'
                        '[tune]\n"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }\n')
    config = run_config.load_config(config_file)
    assert "tune" not in config and config["train"]["epochs"] == 3
    with pytest.raises(ConfigError, match="tunes"):
        run_config.load_config(write(tmp_path / "bad.toml", '[tunes]\nx = 1\n'))
