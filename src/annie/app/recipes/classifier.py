"""The tabular classifier: class labels of any values and types (strings, 10/20/30, -1/+1) in
a CSV column, learned as class indices with the output the loss needs (a ``Head``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import nn
from ...errors import DataError
from ...train import metrics as metric_functions
from .base import Scores, Split, plain
from .tabular import TabularRecipe, cells

#: a classification target with more classes than this, and fewer than 5 rows per class,
#: is refused unless data.task = "classification" says it is meant
MANY_CLASSES = 20


@dataclass(frozen=True)
class Head:
    """What a classification loss needs from the model and the targets: one output per class
    or one output for two classes (``binary``), the layer after the last Linear, the target
    encoding ("index", "one_hot", "binary" 0/1), how outputs become probabilities, and the
    decision threshold of a binary output."""

    binary: bool
    output: str | None
    target: str
    probabilities: str | None
    threshold: float = 0.0

    def layers(self) -> list:
        """The output activation as a layer list (empty for raw scores)."""
        return [nn.activation_module(self.output)] if self.output else []

    def targets(self, index: np.ndarray, n_classes: int) -> np.ndarray:
        """Class indices encoded as this head's loss wants them."""
        if self.target == "one_hot":
            from ...data import one_hot
            return one_hot(index, n_classes)
        if self.target == "binary":
            return index.astype(np.float32)
        return index.astype(np.int64)

    def predicted(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted class index of each row."""
        if self.binary:
            return (outputs[:, 0] >= self.threshold).astype(np.int64)
        return outputs.argmax(axis=1)

    def probability_table(self, outputs: np.ndarray) -> np.ndarray:
        """(rows, classes) probabilities."""
        values = outputs.astype(np.float64)
        if self.probabilities == "softmax":
            values = np.exp(values - values.max(axis=1, keepdims=True))
            return values / values.sum(axis=1, keepdims=True)
        if self.probabilities == "exp":
            return np.exp(values)
        if self.probabilities == "sigmoid":
            values = 1.0 / (1.0 + np.exp(-values))
        if self.binary:
            return np.concatenate([1.0 - values, values], axis=1)
        return values


#: loss.name -> the head it needs
HEADS: dict[str, Head] = {
    "cross_entropy": Head(False, None, "index", "softmax"),
    "nll_loss": Head(False, "log_softmax", "index", "exp"),
    "kl_divergence": Head(False, "softmax", "one_hot", "identity"),
    "binary_cross_entropy": Head(True, "sigmoid", "binary", "identity", threshold=0.5),
    "binary_cross_entropy_with_logits": Head(True, None, "binary", "sigmoid"),
    "hinge": Head(True, None, "binary", None),  # classes 0/1 are hinge's -1/+1
}


def true_index(y: np.ndarray) -> np.ndarray:
    """Class indices from encoded targets (indices, 0/1 floats or one-hot rows)."""
    return y.argmax(axis=1) if y.ndim == 2 else y.astype(np.int64)


def top_k_metric(k: int):
    """top_k_accuracy with this run's k, under the metric's own name."""
    def top_k_accuracy(prediction, target):
        return metric_functions.top_k_accuracy(prediction, target, k=k)
    return top_k_accuracy


class TabularClassifier(TabularRecipe):
    """MLP classifier on a table: class labels of any values (strings, numbers) in one
    column; cross_entropy, nll_loss, kl_divergence, or for two classes BCE (sigmoid output),
    BCE with logits and hinge."""

    task = "classification"
    target_kind = "labels"
    stratify = True
    losses = tuple(HEADS)
    metrics = ("accuracy", "top_k_accuracy", "precision", "recall", "f1")
    defaults = {"loss.name": "cross_entropy", "train.metrics": ["accuracy"]}
    predicts = ("a CSV table with the feature columns (by header name, any order; other "
                "columns ignored) -> one row per input row: the predicted label, in the "
                "training file's values; --proba adds one probability column per class")

    def resolve(self) -> None:
        super().resolve()
        target = self.get("data.target")
        if isinstance(target, list) and len(target) != 1:
            raise self.wrong_target(f"data.target lists {len(target)} columns ({target}), and "
                                    f"a classifier learns one", " to predict several columns")

    @property
    def head(self) -> Head:
        return HEADS[self.get("loss.name")]

    # ----- data -------------------------------------------------------------------------
    def encode(self, columns) -> tuple[np.ndarray, dict]:
        classes, index, counts = np.unique(columns.y, return_inverse=True, return_counts=True)
        name = columns.targets[0]
        self.check_classes(name, classes, counts, len(columns.y))
        return index.reshape(-1), {"classes": plain(classes)}

    def learned(self, y: np.ndarray, info: dict) -> np.ndarray:
        return self.head.targets(y, len(info["classes"]))

    def check_classes(self, name: str, classes: np.ndarray, counts: np.ndarray,
                      rows: int) -> None:
        """Refuse before training what would train nothing sensible: one class, a class too
        small to split, a binary loss on more than two classes, too many classes by default,
        a top-k metric that is always 1."""
        shown = ", ".join(repr(plain(label)) for label in classes[:6]) + \
            (", ..." if len(classes) > 6 else "")
        loss = self.get("loss.name")
        if len(classes) < 2:
            raise DataError(f"data.target {name!r} holds one class only ({shown}): nothing to "
                            f"classify")
        fractional = [label for label in classes.tolist()
                      if isinstance(label, float) and label != round(label)]
        if self.task_by_default and fractional:
            raise self.wrong_target(f"data.target {name!r} holds numbers that are not whole "
                                    f"(e.g. {fractional[0]}), not class labels",
                                    " to predict them")
        if self.task_by_default and len(classes) > MANY_CLASSES and 5 * len(classes) > rows:
            raise self.wrong_target(f"data.target {name!r} has {len(classes)} distinct values "
                                    f"in {rows} rows, too many for classes",
                                    " to predict the numbers, or data.task = 'classification' "
                                    "to train a classifier anyway")
        if self.head.binary and len(classes) != 2:
            valid = [other for other, head in HEADS.items() if not head.binary]
            raise self.error(f"loss.name {loss!r} needs exactly two classes, data.target "
                             f"{name!r} has {len(classes)} ({shown}); valid losses for "
                             f"{len(classes)} classes: {', '.join(valid)}")
        rare = int(np.argmin(counts))
        if counts[rare] < 2:
            numeric = all(isinstance(label, (int, float)) for label in classes.tolist())
            hint = (f"; {self.task_cause()}: if data.target {name!r} holds numbers to predict, "
                    f"not classes, {self.other_task_hint()}"
                    if self.task_by_default and numeric else "")
            raise DataError(f"data.target {name!r}: class {plain(classes[rare])!r} has "
                            f"{int(counts[rare])} row; every class needs at least 2 (one to "
                            f"train on, one held out){hint}")
        if "top_k_accuracy" in self.get("train.metrics"):
            k = self.get("train.top_k")
            if self.head.binary:
                raise self.error(f"train.metrics: top_k_accuracy needs a score per class; "
                                 f"loss.name {loss!r} gives one score for two classes")
            if k >= len(classes):
                raise self.error(f"train.metrics: top_k_accuracy with train.top_k = {k} is "
                                 f"always 1 on {len(classes)} classes; set train.top_k below "
                                 f"{len(classes)}")

    def prepare(self) -> Split:
        split = super().prepare()
        counts = np.bincount(true_index(split.y_train), minlength=len(split.info["classes"]))
        split.info["train_counts"] = counts.tolist()  # the baseline's majority class
        return split

    def decode(self, y: np.ndarray, info: dict) -> np.ndarray:
        return np.asarray(info["classes"], dtype=object)[true_index(y)][:, None]

    def read_targets(self, table, positions: list, info: dict) -> np.ndarray:
        from . import tables
        classes = info["classes"]
        numeric = all(isinstance(label, (int, float)) for label in classes)
        cells = tables.labels(table, positions[0])  # DataError for an empty cell
        if not numeric:
            cells = table.text(positions[0])
        lookup = {label: index for index, label in enumerate(classes)}
        index = np.empty(len(cells), dtype=np.int64)
        for row, cell in enumerate(cells.tolist()):
            if isinstance(cell, str) == numeric or cell not in lookup:
                raise DataError(f"{table.where}: {table.path!r} line {table.line_number(row)}: "
                                f"label {cell!r} of column {table.names[positions[0]]!r} is not "
                                f"a class of this model ({', '.join(map(repr, classes))})")
            index[row] = lookup[cell]
        return self.head.targets(index, len(classes))

    # ----- model and scores -------------------------------------------------------------
    def outputs(self, split: Split) -> int:
        return 1 if self.head.binary else len(split.info["classes"])

    def output_layers(self, split: Split) -> list:
        return self.head.layers()

    def fit_metrics(self, split: Split) -> list:
        return [top_k_metric(self.get("train.top_k")) if name == "top_k_accuracy" else name
                for name in self.get("train.metrics")]

    def score(self, model, split: Split) -> Scores:
        from ...train import evaluate, predict
        classes = split.info["classes"]
        truth = true_index(split.y_test)
        test = evaluate(model, self.loss_function(), split.X_test, split.y_test,
                        batch_size=256, metrics=self.fit_metrics(split))
        predicted = self.head.predicted(predict(model, split.X_test, batch_size=256))
        confusion = metric_functions.confusion_matrix(predicted, truth,
                                                      num_classes=len(classes))
        # the baseline ranks the classes by their training frequency
        order = np.argsort(-np.asarray(split.info["train_counts"]), kind="stable")
        ranked = np.zeros((len(truth), len(classes)))
        ranked[:, order] = np.arange(len(classes), 0, -1)
        majority = int(order[0])
        baseline = {}
        for name in self.get("train.metrics"):
            if name == "top_k_accuracy":
                baseline[name] = metric_functions.top_k_accuracy(ranked, truth,
                                                                 k=self.get("train.top_k"))
            else:
                baseline[name] = metric_functions.METRICS[name](np.full(len(truth), majority),
                                                                truth)
        return Scores(plain(test), plain(baseline), f"majority class {classes[majority]!r}",
                      confusion.tolist(), list(classes))

    def prediction_columns(self, outputs: np.ndarray, info: dict, proba: bool):
        from ...errors import ConfigError
        classes = np.asarray(info["classes"], dtype=object)
        columns = [info["targets"][0]]
        values = classes[self.head.predicted(outputs)][:, None]
        if proba:
            if self.head.probabilities is None:
                raise ConfigError(f"--proba: a model trained with loss "
                                  f"{self.get('loss.name')!r} gives scores, not "
                                  f"probabilities; leave out --proba")
            columns += [f"proba_{label}" for label in info["classes"]]
            values = np.concatenate([values, cells(self.head.probability_table(outputs))],
                                    axis=1)
        return columns, values
