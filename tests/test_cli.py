"""The ``annie`` command: demo, train/evaluate/predict on a run folder, list, and bad input
ending with exit code 2 and one message (never a traceback)."""
import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import annie.app
from annie import cli
from annie.app import config as run_config
from annie.errors import ConfigError

CONFIGS = pathlib.Path(annie.app.__file__).parent / "configs"  # installed with the package


def run_main(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_writes_a_run_folder_and_prints_accuracy(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, err = run_main(capsys, "demo", "--epochs", "2", "--out", str(out), "--quiet")
    assert code == 0, err
    line = next(line for line in stdout.splitlines() if "accuracy" in line)
    accuracy = float(line.split()[-1])
    assert 0.5 < accuracy <= 1.0   # 2 epochs: far better than chance (0.1)
    assert "confusion matrix" in stdout
    for name in ("model.annie", "config.toml", "history.csv", "run.json"):
        assert (out / name).is_file(), name
    listed = [line.strip() for line in stdout.splitlines() if line.startswith(f"  {out}")]
    assert sorted(listed) == sorted(str(path) for path in out.iterdir())  # every file, once
    assert str(out / "checkpoint.ckpt") in listed
    summary = json.loads((out / "run.json").read_text())
    assert summary["test"]["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert np.asarray(summary["confusion_matrix"]).sum() == 360   # 20 % of 1,797
    resolved = run_config.load_config(out / "config.toml")
    assert resolved["train"]["epochs"] == 2 and resolved["data"]["dataset"] == "digits"


def test_an_out_that_is_a_file_is_refused_before_the_banner(tmp_path, capsys):
    somefile = tmp_path / "somefile"
    somefile.write_text("keep me\n")
    for command, words in ((["demo"], "is a file, not a run folder"),
                           (["compare", "--quick"], "is a file, not a folder")):
        code, stdout, err = run_main(capsys, *command, "--out", str(somefile))
        assert code == 2 and stdout == "", (command, stdout)
        assert err.startswith("annie: error: --out ") and words in err, err
    assert somefile.read_text() == "keep me\n"


def test_train_evaluate_predict_in_subprocesses(tmp_path):
    out = tmp_path / "iris"
    command = [sys.executable, "-m", "annie.cli"]
    trained = subprocess.run(command + ["train", str(CONFIGS / "iris.toml"), "--set",
                                        "train.epochs=3", "--out", str(out), "--quiet"],
                             capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    assert "accuracy" in trained.stdout
    if importlib.util.find_spec("matplotlib"):
        assert (out / "history.png").read_bytes()[:4] == b"\x89PNG"
    evaluated = subprocess.run(command + ["evaluate", str(out)], capture_output=True, text=True,
                               timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    # evaluate re-creates the held-out split: the same accuracy as after training
    first = [line for line in trained.stdout.splitlines() if "accuracy" in line][0]
    assert first in evaluated.stdout
    from annie.data import IRIS_CLASS_NAMES, IRIS_FEATURE_NAMES, load_iris
    X, y = load_iris()
    csv_path = tmp_path / "flowers.csv"
    rows = [",".join(IRIS_FEATURE_NAMES)] + [",".join(f"{v:.1f}" for v in row)
                                             for row in X[[0, 60, 120]]]
    csv_path.write_text("\n".join(rows) + "\n")
    predicted = subprocess.run(command + ["predict", str(out), str(csv_path), "--output",
                                          str(tmp_path / "out.csv")],
                               capture_output=True, text=True, timeout=120)
    assert predicted.returncode == 0, predicted.stderr
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "target" and len(lines) == 4
    assert set(lines[1:]) <= set(IRIS_CLASS_NAMES)


def test_list_names_every_kind(capsys):
    code, stdout, _ = run_main(capsys, "list")
    assert code == 0
    for word in ("datasets:", "losses:", "optimizers:", "activations:", "digits", "adam",
                 "cross_entropy", "relu", "sequence datasets:", "date_pairs", "models:",
                 "char_lm"):
        assert word in stdout


def test_list_names_every_preset_file_with_one_line(capsys):
    _, stdout, _ = run_main(capsys, "list")
    lines = stdout.split("presets (annie train <name>):\n", 1)[1].split("\ndatasets:", 1)[0]
    listed = [line.split()[0] for line in lines.splitlines()]
    assert listed == sorted(path.stem for path in CONFIGS.glob("*.toml"))


def test_compare_quick_prints_the_table_and_writes_it(tmp_path):
    out = tmp_path / "compare"
    done = subprocess.run([sys.executable, "-m", "annie", "compare", "--quick", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "task" in done.stdout and "parameters" in done.stdout and "s / epoch" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.count(" | ") == 4]
    assert [row.split(" | ")[1].strip() for row in rows[1:]] == [
        "MLP", "LSTM", "baseline (persistence)", "MLP", "LSTM", "baseline (majority class)"]
    assert (out / "mlp_vs_rnn.txt").read_text().strip() in done.stdout
    pytest.importorskip("matplotlib")
    assert (out / "mlp_vs_rnn.png").stat().st_size > 0


def test_compare_refuses_a_bad_cell(capsys):
    code, _, err = run_main(capsys, "compare", "--cell", "lstn")
    assert code == 2 and "invalid choice: 'lstn'" in err


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


BASE = '[data]\ndataset = "iris"\n'


@pytest.mark.parametrize("text, overrides, words", [
    (BASE + "[train]\nepoch = 5\n", [], "unknown key 'train.epoch'; did you mean 'train.epochs'"),
    (BASE + "[train]\nseed = 3\n", [], "unknown key 'train.seed'; did you mean 'seed'? (a "
                                         "top-level key: write it before the first [section])"),
    (BASE + "[train]\nwindow = 3\n", [], "unknown key 'train.window'; did you mean 'data.window'"),
    (BASE + "[train]\nepochs = \"ten\"\n", [], "train.epochs must be an integer"),
    (BASE + "[trian]\nepochs = 5\n", [], "did you mean 'train'"),
    ('[data]\ndataset = "irs"\n', [], "did you mean 'iris'"),
    (BASE + "[optimizer]\nname = \"adam\"\nweight_decy = 0.1\n", [], "did you mean 'optimizer.weight_decay'"),
    (BASE + "[optimizer]\nname = \"adan\"\n", [], "did you mean 'adam'"),
    (BASE + "[loss]\nname = \"crossentropy\"\n", [], "unknown loss"),
    (BASE + "[model]\nhidden = [0]\n", [], "model.hidden"),
    (BASE + "[train\n", [], "invalid TOML"),
    ('[data]\npath = "missing.csv"\n', [], "does not exist"),
    (BASE + "[scheduler]\nname = \"stepp\"\n", [], "did you mean 'step'"),
    (BASE + "[scheduler]\nname = \"step\"\nstep_sise = 3\n", [], "did you mean 'scheduler.step_size'"),
    (BASE + "[scheduler]\nstep_size = 3\n", [], "scheduler.step_size needs scheduler.name"),
    (BASE + "task = \"classification\"\n[loss]\nname = \"huber\"\n", [],
     "loss.name 'huber' does not fit model.type 'mlp' (classification)"),
    (BASE + "[loss]\nname = \"huber\"\ndelta = 2.0\n[train]\nmetrics = [\"f1\"]\n", [],
     "train.metrics: 'f1' does not fit model.type 'mlp' (regression); valid: mae, rmse, r2"),
    (BASE + "[loss]\nname = \"mbe\"\n", [], "mean bias error mean(y - f(x)) has no minimum"),
    (BASE + "[train]\nmetrics = [\"rmse\"]\n", [], "train.metrics: 'rmse' does not fit"),
    (BASE + "[train]\nmetrics = [\"acc_score\"]\n", [], "unknown metric 'acc_score'"),
    (BASE, ["train.epochs"], "expected key=value"),
    (BASE, ["train.epochs=-1"], "train.epochs must be positive"),
    (BASE, ["model.activation=relux"], "unknown activation"),
])
def test_bad_configs_exit_2_with_one_message(tmp_path, capsys, text, overrides, words):
    arguments = ["train", write(tmp_path, text), "--out", str(tmp_path / "run"), "--quiet"]
    for override in overrides:
        arguments += ["--set", override]
    code, stdout, err = run_main(capsys, *arguments)
    assert code == 2
    assert err.startswith("annie: error:") and err.count("\n") == 1, err
    assert words in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, words", [
    (["train", "does-not-exist.toml"], "not found"),
    (["evaluate", "no-such-run"], "not found"),
    (["demo", "--epochs", "0"], "positive integer"),
    (["fly"], "invalid choice"),
    (["predict", "only-one-argument"], "required"),
])
def test_bad_arguments_exit_2(capsys, argv, words):
    code, _, err = run_main(capsys, *argv)
    assert code == 2 and words in err and "Traceback" not in err



def test_a_path_of_the_wrong_kind_is_named_as_such(tmp_path, capsys):
    """A folder where a file belongs, or a file where a run folder belongs, is refused saying
    so (not "not found"), for every path the commands read."""
    folder = tmp_path / "a folder"
    folder.mkdir()
    a_file = tmp_path / "a file.csv"
    a_file.write_text("a,b\n1,2\n")
    run = str(tmp_path / "run")
    assert run_main(capsys, "train", "iris", "--set", "train.epochs=1", "--out", run,
                    "--quiet")[0] == 0
    table = tmp_path / "table.toml"
    table.write_text('[data]\npath = "a folder"\n')
    text = tmp_path / "text.toml"
    text.write_text('[data]\npath = "a folder"\n[model]\ntype = "char_lm"\n')
    cases = [
        (["predict", run, str(folder)], f"{str(folder)!r} is a folder, not a file"),
        (["evaluate", run, str(folder)], f"{str(folder)!r} is a folder, not a file"),
        (["train", str(folder)], f"{str(folder)!r} is a folder, not a file"),
        (["tune", str(folder)], f"{str(folder)!r} is a folder, not a file"),
        (["train", str(table), "--out", str(tmp_path / "t")], "is a folder, not a file"),
        (["train", str(text), "--out", str(tmp_path / "t")], "is a folder, not a file"),
        (["train", "iris", "--resume", str(a_file)], f"{str(a_file)!r} is a file, not a run "
                                                     "folder"),
    ]
    for argv, words in cases:
        code, _, err = run_main(capsys, *argv)
        assert code == 2 and words in err and err.count("\n") == 1, (argv, err)
        assert "not found" not in err, (argv, err)

def test_every_argument_of_every_command_has_help_text():
    parser = cli.build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    for name, command in commands.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"annie {name}: argument {action.dest!r} has no help text"


def test_bad_arguments_in_a_subprocess_print_no_traceback():
    result = subprocess.run([sys.executable, "-m", "annie.cli", "train", "nope.toml"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("annie: error: config file 'nope.toml' not found (and no "
                                    "preset of that name; presets: diabetes_regression, ")
    assert result.stderr.count("\n") == 1


def test_resolved_config_round_trips_through_toml(tmp_path):
    config = run_config.load_config(CONFIGS / "diabetes_regression.toml", ["train.epochs=7"])
    path = tmp_path / "resolved.toml"
    path.write_text(run_config.to_toml(config))
    assert run_config.load_config(path) == config
    assert config["optimizer"]["weight_decay"] == 0.0001


@pytest.mark.parametrize("name", ["digits_mlp.toml", "iris.toml", "diabetes_regression.toml"])
def test_example_configs_are_valid(name):
    config = run_config.load_config(CONFIGS / name)  # raises ConfigError when invalid
    assert config["model"]["type"] == "mlp" and config["train"]["epochs"] > 0


def test_set_parses_values_as_toml():
    assert run_config.parse_override("train.metrics=[\"accuracy\", \"f1\"]") == {
        "train": {"metrics": ["accuracy", "f1"]}}
    assert run_config.parse_override("optimizer.name=sgd") == {"optimizer": {"name": "sgd"}}
    assert run_config.parse_override("seed=3") == {"seed": 3}
    with pytest.raises(ConfigError):
        run_config.parse_override("a.b.c=1")
