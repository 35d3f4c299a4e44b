"""Files a user hands ``annie train``, ``predict`` and ``evaluate`` that once gave a wrong answer
with exit code 0 or a traceback: class labels that must come back as written (01/02/10, 1.0/2.0,
integers past 2**53), duplicated column names, numbers beyond float32, a file that is not UTF-8,
tab-separated files, a file separated otherwise than the run expects, and the outputs of a model
pushed past float32. All commands run in one subprocess (tests/cli_batch.py)."""
import csv
import json

import numpy as np
import pytest

from test_cli_csv import run_batch, write_csv

ROWS = 60
SMALL = ('[model]\nhidden = [4]\n[optimizer]\nlr = 0.05\n'
         '[train]\nepochs = 4\nplot = false\ncheckpoint_every = 100000\n')


def config(folder, name, path, data="", extra=""):
    text = f'seed = 0\n[data]\npath = "{path}"\n{data}\n' + SMALL + extra
    (folder / f"{name}.toml").write_text(text)
    return folder / f"{name}.toml"


def read_column(path, name, delimiter=","):
    with open(path, newline="") as handle:
        return [row[name] for row in csv.DictReader(handle, delimiter=delimiter)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    X = np.round(np.random.default_rng(0).normal(size=(ROWS, 2)), 3)
    side = (X[:, 0] > 0).astype(int)
    names, commands = [], []

    def command(name, *argv):
        names.append(name)
        commands.append([str(arg) for arg in argv])

    def train(name, toml, *extra):
        command(f"train {name}", "train", toml, "--out", root / "runs" / name, "--quiet", *extra)

    for label_set, labels in {"codes": ["01", "10"], "floats": ["1.0", "2.0"],
                              "big": ["10000000000000001", "10000000000000002"]}.items():
        write_csv(root / f"{label_set}.csv", ["a", "b", "label"],
                  [[*row, labels[k]] for row, k in zip(X, side)])
        train(label_set, config(root, label_set, f"{label_set}.csv"))
        command(f"predict {label_set}", "predict", root / "runs" / label_set,
                root / f"{label_set}.csv", "--output", root / f"out_{label_set}.csv")
        command(f"evaluate {label_set}", "evaluate", root / "runs" / label_set,
                root / f"{label_set}.csv")
    # duplicated column names: in the training file, among the needed and the ignored columns
    write_csv(root / "twice.csv", ["a", "a", "label"], [[*row, k] for row, k in zip(X, side)])
    train("twice", config(root, "twice", "twice.csv"))
    write_csv(root / "rows_twice.csv", ["a", "b", "a"], [[*row, row[0]] for row in X])
    write_csv(root / "rows_extra_twice.csv", ["a", "b", "x", "x"], [[*row, 0, 1] for row in X])
    command("predict needed twice", "predict", root / "runs" / "codes", root / "rows_twice.csv")
    command("predict extra twice", "predict", root / "runs" / "codes",
            root / "rows_extra_twice.csv", "--output", root / "out_extra_twice.csv")
    # numbers beyond float32 (1e300 is inf there) in a training, a new and a labelled file
    huge = [[*row, k] for row, k in zip(X, side)]
    huge[4][1] = 1e300
    write_csv(root / "huge.csv", ["a", "b", "label"], huge)
    train("huge", config(root, "huge", "huge.csv"))
    write_csv(root / "rows_huge.csv", ["a", "b"], [row[:2] for row in huge])
    command("predict huge", "predict", root / "runs" / "codes", root / "rows_huge.csv")
    command("evaluate huge", "evaluate", root / "runs" / "big", root / "huge.csv")
    # inside float32 but far beyond the training data (of spread 0.001): scaled, it is inf
    write_csv(root / "tiny.csv", ["a", "b", "label"],
              [[*(row / 1000), k] for row, k in zip(X, side)])
    train("tiny", config(root, "tiny", "tiny.csv"))
    write_csv(root / "rows_far.csv", ["a", "b"], [[3e38, -3e38]] + (X[1:] / 1000).tolist())
    command("predict far", "predict", root / "runs" / "tiny", root / "rows_far.csv")
    # a file that is not UTF-8 (Latin-1, as some spreadsheets save)
    (root / "latin1.csv").write_bytes("länge,b,label\n".encode("latin-1") +
                                      b"".join(f"{a},{b},{k}\n".encode()
                                               for (a, b), k in zip(X, side)))
    train("latin1", config(root, "latin1", "latin1.csv"))
    command("predict latin1", "predict", root / "runs" / "codes", root / "latin1.csv")
    # tab-separated, with spaces in the column names
    write_tab = [["width (cm)", "height (cm)", "kind"]] + \
        [[*row, ("tall", "wide")[k]] for row, k in zip(X, side)]
    (root / "tab.csv").write_text("".join("\t".join(map(str, row)) + "\n" for row in write_tab))
    train("tab", config(root, "tab", "tab.csv", 'delimiter = "\\t"'))
    command("evaluate tab", "evaluate", root / "runs" / "tab")
    (root / "empty_label.csv").write_text("width (cm)\theight (cm)\tkind\n1\t2\ttall\n3\t4\t\n")
    command("evaluate empty label", "evaluate", root / "runs" / "tab", root / "empty_label.csv")
    command("predict tab", "predict", root / "runs" / "tab", root / "tab.csv", "--output",
            root / "out_tab.csv")
    # separated by ';' while the configuration (or the run) expects ','
    write_csv(root / "semi.csv", ["a;b;label"], [[f"{a};{b};{k}"] for (a, b), k in zip(X, side)])
    train("semi", config(root, "semi", "semi.csv"))
    command("predict semi", "predict", root / "runs" / "codes", root / "semi.csv")
    # lists naming a column twice; values given by --set; a scheduler missing its argument
    train("features twice", config(root, "features_twice", "codes.csv",
                                   'features = ["a", "a"]'))
    train("targets twice", config(root, "targets_twice", "codes.csv",
                                  'target = ["a", "a"]\ntask = "regression"'))
    train("set lr", config(root, "set_lr", "codes.csv"), "--set", "optimizer.lr=-1")
    train("step without step_size", config(root, "step", "codes.csv"), "--set",
          "scheduler.name=step")
    results = dict(zip(names, run_batch(commands, cwd=root)))
    return {"root": root, "results": results, "side": side}


def ok(world, name):
    result = world["results"][name]
    assert result["code"] == 0, (name, result["err"])
    return result


def refused(world, name, *words):
    result = world["results"][name]
    assert result["code"] == 2, (name, result)
    message = result["err"]
    assert message.startswith("annie: error: ") and message.count("\n") == 1, message
    assert "Traceback" not in message and "Warning" not in message
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize("label_set, classes", [
    ("codes", ["01", "10"]),
    ("floats", [1.0, 2.0]),
    ("big", [10000000000000001, 10000000000000002]),
])
def test_class_labels_come_back_as_written(world, label_set, classes):
    root = world["root"]
    ok(world, f"train {label_set}")
    summary = json.loads((root / "runs" / label_set / "run.json").read_text())
    assert summary["info"]["classes"] == classes
    written = read_column(root / f"{label_set}.csv", "label")
    ok(world, f"predict {label_set}")
    predicted = read_column(root / f"out_{label_set}.csv", "label")
    assert set(predicted) == set(written)  # the texts of the file, not 1, 10, 1, 2, 1e16
    assert np.mean(np.array(predicted) == np.array(written)) > 0.8
    line = next(line for line in ok(world, f"evaluate {label_set}")["out"].splitlines()
                if line.startswith(f"{label_set}.csv accuracy:"))
    assert float(line.split()[-1]) > 0.8


def test_an_empty_label_is_named_as_such(world):
    refused(world, "evaluate empty label", "evaluate: ", "line 3, target column 'kind': an "
                                                        "empty cell")


def test_a_column_name_heading_two_columns_is_refused(world):
    refused(world, "train twice", "has two columns named 'a' (columns 1 and 2)")
    refused(world, "predict needed twice", "rows_twice.csv", "two columns named 'a'")
    ok(world, "predict extra twice")  # a repeated name the model does not read is ignored
    assert len(read_column(world["root"] / "out_extra_twice.csv", "label")) == ROWS


def test_numbers_beyond_float32_are_refused_naming_the_cell(world):
    for name in ("train huge", "predict huge", "evaluate huge"):
        refused(world, name, "line 6, column 'b': 1e+300 is beyond the float32 range")


def test_outputs_that_overflow_are_refused_not_labelled(world):
    refused(world, "predict far", "NaN or inf for 1 of the 60 rows", "data row 1")


def test_a_file_that_is_not_utf8_is_one_message(world):
    refused(world, "train latin1", "latin1.csv' line 1 is not UTF-8 text (byte 0xe4)")
    refused(world, "predict latin1", "is not UTF-8 text")


def test_a_tab_separated_file_with_spaces_in_its_names(world):
    root = world["root"]
    ok(world, "train tab")
    summary = json.loads((root / "runs" / "tab" / "run.json").read_text())
    assert summary["info"]["features"] == ["width (cm)", "height (cm)"]
    assert ok(world, "evaluate tab")["out"].splitlines()[0].startswith("held-out loss:")
    ok(world, "predict tab")
    truth = np.array(["tall", "wide"])[world["side"]]
    assert np.mean(np.array(read_column(root / "out_tab.csv", "kind")) == truth) > 0.8


def test_another_delimiter_is_named(world):
    refused(world, "train semi", "looks ';'-separated", "set data.delimiter = ';'")
    refused(world, "predict semi", "looks ';'-separated", "the delimiter the run was trained on")


def test_lists_naming_a_column_twice_and_set_values_are_refused_as_such(world):
    refused(world, "train features twice", "data.features names 'a' twice")
    refused(world, "train targets twice", "data.target names 'a' twice")
    refused(world, "train set lr", "annie: error: --set 'optimizer.lr=-1': optimizer.lr must "
                                   "be positive")
    refused(world, "train step without step_size", "scheduler 'step' needs scheduler.step_size")
