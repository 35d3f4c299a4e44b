"""The recurrent presets of ``annie train`` (the sequence recipes): each RNN type trains from its
TOML file, prints its held-out metric beside a trivial baseline, writes a run folder that
``annie evaluate`` scores the same; their data splits, models and configuration checks."""
import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import annie
import annie.app
from annie import cli
from annie.app import config as run_config, recipes
from annie.errors import ConfigError
from annie.nn.sequence_models import PairedSeq2Seq, Seq2Seq

CONFIGS = pathlib.Path(annie.app.__file__).parent / "configs"


def prepare(config):
    """The split of a configuration's data, as its recipe makes it."""
    return recipes.resolve(config).prepare()
NUMBER = r"([0-9.]+)"

# preset file, small settings for the test, its metric, whether lower is better
PRESETS = [
    ("rnn_many_to_one_digits", ["train.epochs=2"], "accuracy", False),
    ("rnn_many_to_one_sunspots", ["train.epochs=10"], "rmse", True),
    ("rnn_many_to_many_tagging", ["data.n_samples=300", "train.epochs=3"], "accuracy", False),
    ("rnn_many_to_many_dates", ["data.n_samples=1000", "train.epochs=5",
                                "model.hidden_size=32"], "char_accuracy", False),
    ("rnn_one_to_many_text", ["train.epochs=1", "model.hidden_size=32", "data.seq_len=32",
                              "generate.length=30"], "bits_per_char", True),
]


def metric_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("held-out", "baseline"))]


@pytest.mark.parametrize("name, overrides, metric, lower_is_better", PRESETS,
                         ids=[preset[0] for preset in PRESETS])
def test_preset_trains_prints_metric_and_baseline_and_evaluate_agrees(
        tmp_path, capsys, name, overrides, metric, lower_is_better):
    out = tmp_path / name
    command = [sys.executable, "-m", "annie", "train", str(CONFIGS / f"{name}.toml"), "--out",
               str(out), "--quiet", "--set", "train.plot=false"]
    for override in overrides:
        command += ["--set", override]
    trained = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    held_out = float(re.search(rf"^held-out {metric}: {NUMBER}$", trained.stdout, re.M)[1])
    baseline = float(re.search(rf"^baseline \(.+\) {metric}: {NUMBER}$", trained.stdout,
                               re.M)[1])
    assert held_out < baseline if lower_is_better else held_out > baseline
    for file_name in ("model.annie", "config.toml", "history.csv", "run.json"):
        assert (out / file_name).is_file(), file_name
    summary = json.loads((out / "run.json").read_text())
    expected = run_config.load_config(CONFIGS / f"{name}.toml")["model"]["type"]
    assert summary["model_type"] == expected
    assert summary["test"][metric] == pytest.approx(held_out, abs=1e-4)
    assert summary["baseline"][metric] == pytest.approx(baseline, abs=1e-4)
    if name == "rnn_one_to_many_text":
        sample = trained.stdout.split("sample (temperature 0.8):\n", 1)[1]
        assert sample.startswith("ROSALIND. ") and len(sample) >= 40
    # the run folder is scored again on the same re-created held-out data
    assert cli.main(["evaluate", str(out)]) == 0
    assert metric_lines(capsys.readouterr().out) == metric_lines(trained.stdout)


def test_sunspot_split_holds_out_the_last_years_without_their_targets_in_training():
    config = run_config.load_config(CONFIGS / "rnn_many_to_one_sunspots.toml",
                                    ["data.horizon=3", "data.window=5"])
    split = prepare(config)
    series = annie.data.load_sunspots()
    scale = split.info["sizes"]["scale"]  # the model's: the windows stay in sunspot numbers
    count = len(series) - 5 - 3 + 1
    n_test = round(count * 0.2)
    assert split.X_test.shape == (n_test, 5) and split.y_test.shape == (n_test, 3)
    np.testing.assert_array_equal(split.y_test[-1], series[-3:])
    # the last training target is the year before the first held-out target
    first_test_target = len(series) - n_test - 2
    last_train_target = len(split.X_train) - 1 + 5 + 2
    assert last_train_target == first_test_target - 1
    assert scale == pytest.approx(float(series[:last_train_target + 1].std()), rel=1e-6)


def test_text_windows_are_shifted_by_one_character():
    config = run_config.load_config(CONFIGS / "rnn_one_to_many_text.toml", ["data.seq_len=16"])
    split = prepare(config)
    assert split.X_train.shape[1] == 16 and split.X_train.dtype == np.int64
    np.testing.assert_array_equal(split.X_train[:, 1:], split.y_train[:, :-1])
    np.testing.assert_array_equal(split.X_train[1:, 0], split.y_train[:-1, -1])
    text = annie.data.load_shakespeare()
    assert "".join(split.info["sizes"]["chars"][i] for i in split.X_train[0]) == text[:16]
    assert sum(split.info["unigram"]) == pytest.approx(1.0)


def test_generated_data_come_back_the_same_from_the_seed():
    config = run_config.load_config(CONFIGS / "rnn_many_to_many_dates.toml",
                                    ["data.n_samples=50"])
    first, second = prepare(config), prepare(config)
    np.testing.assert_array_equal(first.X_test, second.X_test)
    other = prepare(run_config.load_config(
        CONFIGS / "rnn_many_to_many_dates.toml", ["data.n_samples=50", "seed=1"]))
    assert not np.array_equal(first.X_train, other.X_train)


def test_paired_seq2seq_equals_seq2seq_on_the_split_pair():
    annie.manual_seed(0)
    paired = PairedSeq2Seq(4, 7, 5, hidden_size=6, embedding_dim=3, source_padding_idx=0)
    plain = Seq2Seq(7, 5, hidden_size=6, embedding_dim=3, source_padding_idx=0)
    plain.load_state_dict(paired.state_dict())
    generator = np.random.default_rng(0)
    source = generator.integers(1, 7, size=(3, 4))
    source[0, 3] = 0
    target = generator.integers(0, 5, size=(3, 6))
    np.testing.assert_array_equal(paired(np.concatenate([source, target], axis=1)).data,
                                  plain(source, target).data)
    with pytest.raises(annie.errors.ShapeError, match=r"\(batch, 4 \+ target length\)"):
        paired(source)


@pytest.mark.parametrize("overrides, message", [
    (["data.windw=3"], "unknown key 'data.windw'; did you mean 'data.window'"),
    (["model.bidirectional=true"], "model.bidirectional does not apply to model.type "
                                   "'seq2seq'"),
    (["data.dataset='sunspots'"], "model.type 'seq2seq' trains on data.dataset 'date_pairs', "
                                  "got 'sunspots'"),
    (["loss.name=mse"], "model.type 'seq2seq' trains with cross_entropy"),
    (["model.cell=lstn"], "model.cell must be 'lstm', 'gru' or 'rnn', got 'lstn'"),
    (["data.n_samples=0"], "data.n_samples must be positive, got 0"),
    (["model.type=sequence_clasifier"], "did you mean 'sequence_classifier'"),
])
def test_bad_sequence_configurations_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        run_config.load_config(CONFIGS / "rnn_many_to_many_dates.toml", overrides)


def test_a_regressor_needs_a_regression_loss_and_an_mlp_no_sequence_dataset(capsys):
    with pytest.raises(ConfigError, match="needs a regression loss.name"):
        run_config.load_config(CONFIGS / "rnn_many_to_one_sunspots.toml",
                               ["loss.name=cross_entropy"])
    code = cli.main(["train", str(CONFIGS / "digits_mlp.toml"), "--set",
                     "data.dataset=bracket_depth"])
    assert code == 2
    assert "data.dataset 'bracket_depth' is a sequence dataset: set model.type = " \
           "'sequence_tagger'" in capsys.readouterr().err


def test_mlp_run_configs_gain_no_sequence_keys():
    text = run_config.to_toml(run_config.load_config(CONFIGS / "digits_mlp.toml"))
    assert "[generate]" not in text and "hidden_size" not in text and "window" not in text


def test_a_resumed_sequence_run_equals_a_straight_one_and_predict_refuses_it(tmp_path, capsys):
    config = str(CONFIGS / "rnn_many_to_many_tagging.toml")
    small = ["--set", "data.n_samples=120", "--set", "model.hidden_size=8", "--quiet",
             "--set", "train.plot=false"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert cli.main(["train", config, "--out", str(straight), "--set", "train.epochs=2",
                     *small]) == 0
    expected = metric_lines(capsys.readouterr().out)
    assert cli.main(["train", config, "--out", str(resumed), "--set", "train.epochs=1",
                     *small]) == 0
    capsys.readouterr()
    assert cli.main(["train", config, "--resume", str(resumed), "--set", "train.epochs=2",
                     *small]) == 0
    assert metric_lines(capsys.readouterr().out) == expected
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("a,b\n1,2\n")
    assert cli.main(["predict", str(resumed), str(csv_path)]) == 2
    assert "is a sequence model (sequence_tagger)" in capsys.readouterr().err


def test_sequence_kinds_train_on_files_of_your_own(tmp_path, capsys):
    steps = np.arange(300)
    series = 20 + 10 * np.sin(steps / 6.0)
    (tmp_path / "series.csv").write_text("day,level\n" + "".join(
        f"{day},{value:.4f}\n" for day, value in zip(steps, series)))
    (tmp_path / "forecast.toml").write_text(
        '[data]\npath = "series.csv"\ntarget = "level"\nwindow = 8\n[model]\n'
        'type = "sequence_regressor"\nhidden_size = 16\n[optimizer]\nlr = 0.02\n'
        '[train]\nepochs = 30\nplot = false\n')
    generator = np.random.default_rng(0)
    X = generator.normal(size=(200, 5, 2)).astype(np.float32)
    np.savez(tmp_path / "sequences.npz", X=X, y=np.where(X[:, :, 0].sum(axis=1) > 0, 7, 3))
    (tmp_path / "classify.toml").write_text(
        '[data]\npath = "sequences.npz"\n[model]\ntype = "sequence_classifier"\n'
        'hidden_size = 16\n[optimizer]\nlr = 0.02\n[train]\nepochs = 20\nplot = false\n')
    for name, metric, better in (("forecast", "rmse", np.less), ("classify", "accuracy",
                                                                 np.greater)):
        out = tmp_path / name
        assert cli.main(["train", str(tmp_path / f"{name}.toml"), "--out", str(out),
                         "--quiet"]) == 0
        trained = capsys.readouterr().out
        held_out = float(re.search(rf"^held-out {metric}: {NUMBER}$", trained, re.M)[1])
        baseline = float(re.search(rf"^baseline \(.+\) {metric}: {NUMBER}$", trained, re.M)[1])
        assert better(held_out, baseline), (name, trained)
        (tmp_path / f"{name}.toml").unlink()  # the run folder keeps its held-out data
        (tmp_path / ("series.csv" if name == "forecast" else "sequences.npz")).unlink()
        assert cli.main(["evaluate", str(out)]) == 0
        assert metric_lines(capsys.readouterr().out) == metric_lines(trained)
    assert "majority class 3" in trained  # the labels 3 and 7, not output indices
