"""Your own CSV through the ``annie`` command, end to end: the tests write CSV files (string
labels, 10/20/30, -1/+1, 1/2/3, -1/0/1, regression targets, id columns, other column orders,
no header, malformed files), train, predict and evaluate in subprocesses (a few processes, many
commands each: tests/cli_batch.py) and check predictions against the rule that made the data,
exit codes and messages."""
import csv
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tomli_w

import annie

BATCH = pathlib.Path(__file__).with_name("cli_batch.py")
N_TRAIN, N_NEW = 240, 80
QUALITY = np.array(["low", "mid", "high"])


def run_batch(commands: list, cwd) -> list:
    """Run the command lines in one fresh process; their exit codes and outputs."""
    done = subprocess.run([sys.executable, str(BATCH)], input=json.dumps(commands),
                          capture_output=True, text=True, cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def read_csv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def features(n: int, seed: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=(n, 3)), 4)


def three_classes(X):
    """Class 0, 1, 2 by a linear score: learnable by an MLP almost perfectly."""
    return np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])


def two_classes(X):
    return (X[:, 0] - X[:, 1] > 0).astype(int)


def linear(X):
    return 3 * X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] + 100


# label sets: name -> (labels of classes 0, 1, 2 as written in the CSV, rule)
LABELS = {
    "strings": (["low", "mid", "high"], three_classes),
    "tens": (["10", "20", "30"], three_classes),
    "ones": (["1", "2", "3"], three_classes),
    "minus": (["-1", "0", "1"], three_classes),
    "signs": (["-1", "+1"], two_classes),
}
CLASSIFICATION_LOSSES = ["cross_entropy", "nll_loss", "kl_divergence"]
BINARY_LOSSES = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge"]
REGRESSION_LOSSES = ["mse", "mae", "rmse", "huber", "log_cosh"]
SMALL = {"model": {"hidden": [16]}, "optimizer": {"lr": 0.02},
         "train": {"epochs": 40, "batch_size": 32, "plot": False,
                   "checkpoint_every": 100_000}}  # only the final checkpoint: fewer fsyncs


def config_text(path: str, **sections) -> str:
    document = {"seed": 0, "data": {"path": path}}
    for section, values in {**SMALL, **sections}.items():
        document.setdefault(section, {}).update(values)
    for section, values in SMALL.items():
        for key, value in values.items():
            document[section].setdefault(key, value)
    return tomli_w.dumps(document)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Write every data file and configuration, run every command (three processes), and
    hand the tests the results by name."""
    root = tmp_path_factory.mktemp("csv_world")
    project, data = root / "project", root / "project" / "data"
    data.mkdir(parents=True)
    X, X_new = features(N_TRAIN, 0), features(N_NEW, 1)
    commands, names = [], []

    def command(name, *argv):
        names.append(name)
        commands.append([str(arg) for arg in argv])

    def train(name, config, *extra):
        path = project / f"{name}.toml"
        path.write_text(config)
        command(f"train {name}", "train", path, "--out", root / "runs" / name, "--quiet", *extra)

    # --- string labels with an id column first, the target in the middle ---------------
    write_csv(data / "wine.csv", ["id", "alcohol", "quality", "acid", "sugar"],
              [[1000 + i, *row[:1], QUALITY[c], *row[1:]]
               for i, (row, c) in enumerate(zip(X, three_classes(X)))])
    train("wine", config_text("data/wine.csv", data={"target": "quality", "drop": ["id"]}))
    for loss in CLASSIFICATION_LOSSES[1:]:
        train(f"wine_{loss}", config_text("data/wine.csv", data={"target": "quality",
                                                                  "drop": ["id"]},
                                          loss={"name": loss}))
    # --- numeric labels (the last column is the target by default) ----------------------
    for label_set, (labels, rule) in LABELS.items():
        write_csv(data / f"{label_set}.csv", ["a", "b", "c", "label"],
                  [[*row, labels[k]] for row, k in zip(X, rule(X))])
        losses = BINARY_LOSSES + CLASSIFICATION_LOSSES if label_set == "signs" else ["default"]
        for loss in losses:
            sections = {} if loss == "default" else {"loss": {"name": loss}}
            train(f"{label_set}_{loss}", config_text(f"data/{label_set}.csv", **sections))
    # --- regression: one target, several targets, whole numbers -------------------------
    write_csv(data / "price.csv", ["a", "b", "c", "price", "spread"],
              [[*row, f"{p:.4f}", f"{s:.4f}"]
               for row, p, s in zip(X, linear(X), X[:, 0] * X[:, 2])])
    for loss in REGRESSION_LOSSES:
        train(f"price_{loss}", config_text("data/price.csv", data={"target": "price",
                                                                    "drop": ["spread"]},
                                           loss={"name": loss}, train={"epochs": 60}))
    train("price_two", config_text("data/price.csv", data={"target": ["price", "spread"],
                                                            "task": "regression"},
                                   train={"epochs": 60}))
    write_csv(data / "counts.csv", ["a", "b", "c", "visits"],
              [[*row, int(round(v * 10))] for row, v in zip(X, linear(X))])
    train("counts", config_text("data/counts.csv", data={"task": "regression"},
                                train={"epochs": 60}))
    # a class of one row in whole numbers: values to predict, or classes?
    write_csv(data / "singleton.csv", ["a", "b", "c", "y"],
              [[*row, -17 if i == 0 else 3 + 4 * k]
               for i, (row, k) in enumerate(zip(X, two_classes(X)))])
    # --- refused before training: exit 2 with the valid choices -------------------------
    refusals = {
        "regression_loss_on_text": config_text("data/wine.csv", data={"target": "quality",
                                                                      "drop": ["id"]},
                                               loss={"name": "mse"}),
        "regression_task_on_text": config_text("data/wine.csv",
                                               data={"target": "quality", "drop": ["id"],
                                                     "task": "regression"}),
        "bundled_classes_as_numbers": tomli_w.dumps({"data": {"dataset": "iris"},
                                                     "loss": {"name": "huber"}}),
        "class_loss_on_fractions": config_text("data/price.csv", data={"target": "price"},
                                               loss={"name": "nll_loss"}),
        "class_loss_on_two_targets": config_text("data/price.csv",
                                                 data={"target": ["price", "spread"]},
                                                 loss={"name": "kl_divergence"}),
        "two_targets_by_default": config_text("data/price.csv",
                                              data={"target": ["price", "spread"]}),
        "class_loss_on_many_values": config_text("data/counts.csv", loss={"name": "hinge"}),
        "singleton_by_default": config_text("data/singleton.csv"),
        "singleton_as_classes": config_text("data/singleton.csv",
                                            data={"task": "classification"}),
        "binary_on_three": config_text("data/tens.csv", loss={"name": "hinge"}),
        "bce_on_three": config_text("data/strings.csv", loss={"name": "binary_cross_entropy"}),
        "mbe": config_text("data/price.csv", data={"target": "price"},
                           loss={"name": "mean_bias_error"}),
        "regression_loss_for_classes": config_text("data/tens.csv",
                                                   data={"task": "classification"},
                                                   loss={"name": "mse"}),
        "class_loss_for_numbers": config_text("data/price.csv",
                                              data={"task": "regression", "target": "price"},
                                              loss={"name": "cross_entropy"}),
        "accuracy_with_mse": config_text("data/price.csv", data={"target": "price"},
                                         loss={"name": "mse"}, train={"metrics": ["accuracy"]}),
        "rmse_on_classifier": config_text("data/tens.csv", train={"metrics": ["rmse"]}),
        "top_k_on_three": config_text("data/tens.csv",
                                      train={"metrics": ["accuracy", "top_k_accuracy"]}),
        "float_target_by_default": config_text("data/price.csv", data={"target": "price"}),
        "unknown_target": config_text("data/wine.csv", data={"target": "qualty"}),
        "unknown_drop": config_text("data/wine.csv", data={"drop": ["ID"]}),
    }
    for name, text in refusals.items():
        train(f"refused {name}", text)
    # --- malformed files -----------------------------------------------------------------
    write_csv(data / "no_header.csv", None, [[*row, k] for row, k in zip(X, three_classes(X))])
    (data / "bad_cell.csv").write_text("a,b,c,label\n1,2,3,0\n4,five,6,1\n" * 3)
    (data / "ragged.csv").write_text("a,b,c,label\n1,2,3,0\n4,5,1\n")
    (data / "empty.csv").write_text("")
    (data / "nan.csv").write_text("a,b,c,label\n1,2,3,0\n4,nan,6,1\n1,2,3,1\n1,2,3,0\n")
    for name in ("no_header", "bad_cell", "ragged", "empty", "nan", "missing"):
        train(f"malformed {name}", config_text(f"data/{name}.csv"))
    # --- new rows to predict: other column orders, an id column, extra columns -----------
    truth = three_classes(X_new)
    write_csv(root / "new_same_order.csv", ["alcohol", "acid", "sugar"], X_new.tolist())
    write_csv(root / "new_reordered.csv", ["sugar", "notes", "alcohol", "acid"],
              [[row[2], "x", row[0], row[1]] for row in X_new])
    write_csv(root / "new_with_id.csv", ["id", "alcohol", "acid", "sugar"],
              [[i, *row] for i, row in enumerate(X_new)])
    write_csv(root / "new_no_header.csv", None, X_new.tolist())
    write_csv(root / "new_missing.csv", ["alcohol", "sugar"], X_new[:, [0, 2]].tolist())
    write_csv(root / "labelled.csv", ["sugar", "quality", "acid", "alcohol"],
              [[row[2], QUALITY[k], row[1], row[0]] for row, k in zip(X_new, truth)])
    write_csv(root / "labelled_unknown.csv", ["alcohol", "acid", "sugar", "quality"],
              [[*row, "great"] for row in X_new[:3]])
    runs = root / "runs"
    command("predict same order", "predict", runs / "wine", root / "new_same_order.csv",
            "--output", root / "out_same.csv")
    command("predict reordered", "predict", runs / "wine", root / "new_reordered.csv",
            "--output", root / "out_reordered.csv", "--proba")
    command("predict with id", "predict", runs / "wine", root / "new_with_id.csv",
            "--output", root / "out_id.csv")
    command("predict no header", "predict", runs / "wine", root / "new_no_header.csv",
            "--output", root / "out_no_header.csv")
    command("predict table", "predict", runs / "wine", root / "new_same_order.csv")
    command("predict missing column", "predict", runs / "wine", root / "new_missing.csv")
    command("predict hinge proba", "predict", runs / "signs_hinge", data / "signs.csv",
            "--proba")
    command("evaluate stored", "evaluate", runs / "wine")
    command("evaluate labelled", "evaluate", runs / "wine", root / "labelled.csv")
    command("evaluate unknown label", "evaluate", runs / "wine", root / "labelled_unknown.csv")
    for label_set in ("tens", "ones", "minus"):
        write_csv(root / f"new_{label_set}.csv", ["c", "a", "b"], X_new[:, [2, 0, 1]].tolist())
        command(f"predict {label_set}", "predict", runs / f"{label_set}_default",
                root / f"new_{label_set}.csv", "--output", root / f"out_{label_set}.csv")
    write_csv(root / "new_ab.csv", ["a", "b", "c"], X_new.tolist())
    for loss in BINARY_LOSSES + CLASSIFICATION_LOSSES:
        command(f"predict signs {loss}", "predict", runs / f"signs_{loss}",
                root / "new_ab.csv", "--output", root / f"out_signs_{loss}.csv")
    for name in [f"price_{loss}" for loss in REGRESSION_LOSSES] + ["price_two", "counts"]:
        command(f"predict {name}", "predict", runs / name, root / "new_ab.csv", "--output",
                root / f"out_{name}.csv")
    results = dict(zip(names, run_batch(commands, cwd=root)))
    return {"root": root, "runs": runs, "results": results, "X_new": X_new, "truth": truth}


def ok(world, name):
    result = world["results"][name]
    assert result["code"] == 0, (name, result["err"])
    return result


def refused(world, name):
    result = world["results"][name]
    assert result["code"] == 2, (name, result)
    assert result["err"].startswith("annie: error: ") and result["err"].count("\n") == 1
    assert "Traceback" not in result["err"]
    return result["err"]


def held_out(stdout: str, name: str, data: str = "held-out") -> float:
    line = next(line for line in stdout.splitlines() if line.startswith(f"{data} {name}:"))
    return float(line.split()[-1])


def column(path, name) -> list[str]:
    return [row[name] for row in read_csv(path)]


def test_every_classification_run_learns_the_rule(world):
    for name in ["wine", "wine_nll_loss", "wine_kl_divergence",
                 *(f"{label_set}_default" for label_set in ("strings", "tens", "ones", "minus")),
                 *(f"signs_{loss}" for loss in BINARY_LOSSES + CLASSIFICATION_LOSSES)]:
        stdout = ok(world, f"train {name}")["out"]
        assert held_out(stdout, "accuracy") >= 0.85, (name, stdout)
        baseline = next(line for line in stdout.splitlines() if line.startswith("baseline"))
        assert float(baseline.split()[-1]) < 0.6
        assert held_out(stdout, "loss") >= 0  # nll_loss sees log-probabilities, not raw scores


def test_equivalent_heads_train_the_same_model(world):
    """log_softmax + nll_loss is cross_entropy; sigmoid + BCE is BCE with logits: from the same
    seed they give the same held-out loss."""
    for first, second in (("wine", "wine_nll_loss"),
                          ("signs_binary_cross_entropy",
                           "signs_binary_cross_entropy_with_logits")):
        assert held_out(ok(world, f"train {first}")["out"], "loss") == pytest.approx(
            held_out(ok(world, f"train {second}")["out"], "loss"), abs=2e-4)


def test_predictions_are_the_original_labels_and_match_the_truth(world):
    root, truth = world["root"], world["truth"]
    ok(world, "predict same order")
    predicted = column(root / "out_same.csv", "quality")
    assert len(predicted) == N_NEW and set(predicted) <= set(QUALITY)
    assert np.mean(np.array(predicted) == QUALITY[truth]) >= 0.85
    for label_set, labels in (("tens", [10, 20, 30]), ("ones", [1, 2, 3]),
                              ("minus", [-1, 0, 1])):
        ok(world, f"predict {label_set}")
        values = np.array([int(value) for value in column(root / f"out_{label_set}.csv",
                                                           "label")])
        assert set(values) <= set(labels)
        assert np.mean(values == np.array(labels)[truth]) >= 0.85, label_set
    signs = np.where(two_classes(world["X_new"]) == 1, 1, -1)
    for loss in BINARY_LOSSES + CLASSIFICATION_LOSSES:
        ok(world, f"predict signs {loss}")
        written = column(root / f"out_signs_{loss}.csv", "label")
        assert set(written) <= {"-1", "1"}, written  # values: +1 comes back as 1
        values = np.array([int(value) for value in written])
        assert set(values) <= {-1, 1} and np.mean(values == signs) >= 0.85, loss


def test_columns_are_matched_by_name_in_any_order_with_ids_and_extras(world):
    root = world["root"]
    same = column(root / "out_same.csv", "quality")
    for name, output in (("predict reordered", "out_reordered.csv"),
                         ("predict with id", "out_id.csv"),
                         ("predict no header", "out_no_header.csv")):
        ok(world, name)
        assert column(root / output, "quality") == same, name
    assert "ignored column(s) the model does not read: notes" in \
        world["results"]["predict reordered"]["err"]
    assert "no header row" in world["results"]["predict no header"]["err"]
    message = refused(world, "predict missing column")
    assert "has no column 'acid'" in message and "alcohol, acid, sugar" in message


def test_probabilities_are_named_by_class_and_sum_to_one(world):
    rows = read_csv(world["root"] / "out_reordered.csv")
    assert list(rows[0]) == ["quality", "proba_high", "proba_low", "proba_mid"]
    for row in rows:
        probabilities = [float(row[f"proba_{label}"]) for label in ("high", "low", "mid")]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-6)
        assert row["quality"] == ("high", "low", "mid")[int(np.argmax(probabilities))]
    assert "hinge" in refused(world, "predict hinge proba")


def test_predict_without_output_prints_a_short_table(world):
    stdout = ok(world, "predict table")["out"].splitlines()
    assert stdout[0].split() == ["row", "quality"] and len(stdout) == 12
    assert stdout[6].startswith(f"... {N_NEW - 10} more rows")  # the first and last five
    assert [line.split()[0] for line in stdout[1:6] + stdout[7:]] == \
        [str(row) for row in [*range(5), *range(N_NEW - 5, N_NEW)]]


def test_loaded_model_on_raw_rows_equals_the_command(world):
    run = world["runs"] / "wine"
    model = annie.load(run / "model.annie")
    assert isinstance(model[0], annie.nn.Normalization)  # the scaling lives in the model
    classes = json.loads((run / "run.json").read_text())["info"]["classes"]
    outputs = annie.predict(model, world["X_new"].astype(np.float32))
    assert [classes[i] for i in outputs.argmax(axis=1)] == \
        column(world["root"] / "out_same.csv", "quality")


def test_class_labels_are_not_output_indices(world):
    for label_set, classes in (("tens", [10, 20, 30]), ("ones", [1, 2, 3]),
                               ("minus", [-1, 0, 1])):
        run = world["runs"] / f"{label_set}_default"
        summary = json.loads((run / "run.json").read_text())
        assert summary["info"]["classes"] == classes
        assert np.array(summary["confusion_matrix"]).shape == (3, 3)
        assert annie.load(run / "model.annie")[-1].out_features == 3
    signs = json.loads((world["runs"] / "signs_hinge" / "run.json").read_text())
    assert signs["info"]["classes"] == [-1, 1]
    assert annie.load(world["runs"] / "signs_hinge" / "model.annie")[-1].out_features == 1


def test_evaluate_scores_the_kept_held_out_split_or_a_labelled_file(world):
    trained = ok(world, "train wine")["out"]
    stored = ok(world, "evaluate stored")["out"]
    assert held_out(stored, "accuracy") == held_out(trained, "accuracy")
    assert held_out(stored, "loss") == held_out(trained, "loss")
    labelled = ok(world, "evaluate labelled")["out"]
    predicted = np.array(column(world["root"] / "out_same.csv", "quality"))
    expected = np.mean(predicted == QUALITY[world["truth"]])
    assert "held-out" not in labelled  # the user's file, not the run's held-out rows
    assert held_out(labelled, "accuracy", "labelled.csv") == pytest.approx(expected, abs=1e-4)
    message = refused(world, "evaluate unknown label")
    assert "'great'" in message and "'low'" in message


def test_every_regression_loss_learns_the_line(world):
    root, X_new = world["root"], world["X_new"]
    for loss in REGRESSION_LOSSES:
        stdout = ok(world, f"train price_{loss}")["out"]
        assert held_out(stdout, "r2") >= 0.95, (loss, stdout)
        ok(world, f"predict price_{loss}")
        predicted = np.array([float(value) for value in column(root / f"out_price_{loss}.csv",
                                                                "price")])
        assert np.abs(predicted - linear(X_new)).mean() < 0.5, loss
    ok(world, "predict price_two")
    rows = read_csv(root / "out_price_two.csv")
    assert list(rows[0]) == ["price", "spread"] and len(rows) == N_NEW
    price = np.array([float(row["price"]) for row in rows])
    assert np.abs(price - linear(X_new)).mean() < 1.0
    assert held_out(ok(world, "train counts")["out"], "r2") >= 0.95
    ok(world, "predict counts")


@pytest.mark.parametrize("name, words", [
    ("binary_on_three", ["'hinge' needs exactly two classes", "has 3 (10, 20, 30)",
                         "valid losses for 3 classes: cross_entropy, nll_loss, kl_divergence"]),
    ("bce_on_three", ["needs exactly two classes", "('high', 'low', 'mid')"]),
    ("mbe", ["mean bias error", "no minimum", "valid: mse, mae, rmse, huber, log_cosh"]),
    ("regression_loss_for_classes", ["loss.name 'mse' does not fit model.type 'mlp' "
                                     "(classification)", "valid: cross_entropy"]),
    ("class_loss_for_numbers", ["'cross_entropy' does not fit model.type 'mlp' (regression)",
                                "valid: mse, mae"]),
    ("accuracy_with_mse", ["train.metrics: 'accuracy' does not fit model.type 'mlp' "
                           "(regression); valid: mae, rmse, r2"]),
    ("rmse_on_classifier", ["train.metrics: 'rmse' does not fit", "valid: accuracy"]),
    ("top_k_on_three", ["top_k_accuracy with train.top_k = 5 is always 1 on 3 classes"]),
    ("float_target_by_default", ["classification is the default task; data.target 'price' "
                                 "holds numbers that are not whole (e.g. ",
                                 "set data.task = 'regression' (default loss mse) to predict"]),
    ("regression_loss_on_text", ["loss.name 'mse' makes this a regression; data.target "
                                 "'quality' holds text labels ('high', 'low', 'mid'): use a "
                                 "classification loss (cross_entropy, nll_loss",
                                 "or leave out loss.name"]),
    ("regression_task_on_text", ["data.task = 'regression'; data.target 'quality' holds text "
                                 "labels", "set data.task = 'classification'"]),
    ("bundled_classes_as_numbers", ["loss.name 'huber' makes this a regression; data.dataset "
                                    "'iris' holds class labels ('setosa', 'versicolor', "
                                    "'virginica'): use a classification loss"]),
    ("class_loss_on_fractions", ["loss.name 'nll_loss' makes this a classification; "
                                 "data.target 'price' holds numbers that are not whole",
                                 "use a regression loss (mse, mae, rmse, huber, log_cosh) to "
                                 "predict them"]),
    ("class_loss_on_two_targets", ["loss.name 'kl_divergence' makes this a classification; "
                                   "data.target lists 2 columns", "a classifier learns one: "
                                   "use a regression loss (mse"]),
    ("two_targets_by_default", ["classification is the default task", "set data.task = "
                                "'regression' (default loss mse) to predict several columns"]),
    ("class_loss_on_many_values", ["loss.name 'hinge' makes this a classification; data.target "
                                   "'visits' has", "distinct values", "use a regression loss",
                                   "or data.task = 'classification' to train a classifier"]),
    ("singleton_by_default", ["class -17 has 1 row; every class needs at least 2",
                              "classification is the default task: if data.target 'y' holds "
                              "numbers to predict, not classes, set data.task = 'regression'"]),
    ("singleton_as_classes", ["class -17 has 1 row"]),
    ("unknown_target", ["no column 'qualty' (did you mean 'quality'?)"]),
    ("unknown_drop", ["data.drop", "no column 'ID'"]),
])
def test_what_cannot_train_is_refused_before_training(world, name, words):
    message = refused(world, f"train refused {name}")
    for word in words:
        assert word in message, (word, message)
    if name == "singleton_as_classes":  # data.task says they are classes: no other task
        assert "regression" not in message
    assert not (world["runs"] / f"refused {name}").exists()
    assert not (world["runs"] / f"refused {name}.partial").exists()


@pytest.mark.parametrize("name, words", [
    ("no_header", ["first row", "is all numbers", "data.header = false"]),
    ("bad_cell", ["line 3, column 'b': cannot read 'five' as a number"]),
    ("ragged", ["line 3 has 3 fields, expected 4"]),
    ("empty", ["is empty"]),
    ("nan", ["line 3, column 'b': nan is not a finite number"]),
    ("missing", ["data.path", "does not exist"]),
])
def test_malformed_files_are_refused_naming_the_place(world, name, words):
    message = refused(world, f"train malformed {name}")
    for word in words:
        assert word in message, (word, message)


def test_messages_print_plain_numbers(world):
    for name, result in world["results"].items():
        for text in (result["out"], result["err"]):
            assert "np.int" not in text and "np.float" not in text and "np.str" not in text, \
                (name, text)
