"""What the tabular run kinds share: the ``[data]`` and ``[model]`` keys of a table, reading and
splitting it, the MLP with its preprocessing inside (``nn.Normalization``), the held-out rows
kept as a CSV file in the run folder, and reading new rows for ``evaluate`` and ``predict``."""
from __future__ import annotations

import csv
import io
import os
from typing import ClassVar

import numpy as np

from ... import data, nn
from ...errors import ConfigError
from ..schema import (Key, distinct_items, fraction, one_delimiter, positive_int_list,
                      string_list)
from . import tables
from .base import Prediction, Recipe, Split, finite_outputs, plain

#: the [data] and [model] keys of the tabular run kinds
TABULAR_KEYS: dict[str, Key] = {
    "data.target": Key((str, int, list), None, "target column: its name, its index (a file "
                                               "without a header), or a list of names "
                                               "(regression with several outputs); default: "
                                               "the last column", check=distinct_items),
    "data.features": Key((list,), None, "feature columns by name, in the model's order; "
                                        "default: every column but the target and data.drop",
                         check=string_list),
    "data.drop": Key((list,), [], "columns to ignore, e.g. an id column", check=string_list),
    "data.header": Key((bool,), True, "the first row of data.path names the columns"),
    "data.delimiter": Key((str,), ",", "the CSV delimiter, one character (\" \": any "
                                       "whitespace; \"\\t\": a tab)", check=one_delimiter),
    "data.scale": Key((str,), "standard", "feature scaling inside the model (an "
                                          "nn.Normalization layer fitted on the training "
                                          "split): standard, minmax or none; regression "
                                          "targets are scaled the same way",
                      choices=("standard", "minmax", "none")),
    "data.task": Key((str,), "auto", "classification or regression; auto: from loss.name, "
                                     "else classification",
                     choices=("auto", "classification", "regression")),
    "model.hidden": Key((list,), [128], "sizes of the hidden layers, e.g. [128, 64]",
                        check=positive_int_list),
    "model.activation": Key((str,), "relu", "activation after each hidden layer (annie list)"),
    "model.dropout": Key((float,), 0.0, "dropout probability after each hidden activation",
                         check=fraction),
}


def cells(array: np.ndarray) -> np.ndarray:
    """A table as Python objects for CSV cells; float numbers become the float of their shortest
    float32 text (so 0.1 prints as 0.1 and reads back as the same float32)."""
    if array.dtype.kind == "f":
        return array.astype(np.float32).astype(str).astype(np.float64).astype(object)
    return array.astype(object)


def format_cell(value) -> str:
    """A value as a CSV cell (floats in their shortest form)."""
    value = plain(value)
    return repr(value) if isinstance(value, float) else str(value)


def csv_text(columns: list, rows, delimiter: str = ",") -> str:
    """A CSV document from column names and rows of values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", delimiter=delimiter)
    writer.writerow([format_cell(name) for name in columns])
    writer.writerows([format_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


class TabularRecipe(Recipe):
    """Shared base of the tabular classifier and regressor (not registered itself)."""

    model_type = "mlp"
    keys = TABULAR_KEYS
    heldout_file = "heldout.csv"
    accepts_path = ("a CSV table (columns by data.target, data.features, data.drop) or an "
                    ".npz of X and y")
    #: "labels" (one column of class labels) or "numbers" (one or more numeric columns)
    target_kind: ClassVar[str] = ""
    stratify: ClassVar[bool] = False

    def resolve(self) -> None:
        super().resolve()
        # data.task stays "auto" when unset: the kind followed from loss.name or the default
        self.task_by_default = self.get("data.task") == "auto"
        #: the tabular kind of the other task (for messages that say how to choose it)
        self.other_kind = next(recipe for recipe in self.family if recipe.task != self.task)
        # whether loss.name was set: a configuration is resolved more than once, with the
        # default filled in, so this kind's default loss reads as unset, except for a kind
        # that only a loss.name or data.task chooses (not the family's first)
        self.loss_given = (self.get("loss.name") != self.defaults["loss.name"]
                           or type(self) is not self.family[0])
        from ...nn import activation
        try:
            activation.ACTIVATIONS.canonical(self.get("model.activation"))
        except ConfigError as error:
            raise self.error(f"model.activation: {error}") from None

    # ----- why this task (for messages about a target that does not fit it) --------------
    def task_cause(self) -> str:
        """What made this run a classification or a regression: data.task, the loss, or the
        default."""
        if not self.task_by_default:
            return f"data.task = {self.task!r}"
        if self.loss_given:
            return f"loss.name {self.get('loss.name')!r} makes this a {self.task}"
        return f"{self.task} is the default task"

    def other_task_hint(self) -> str:
        """How to make this run the other tabular task: the keys to set (data.task, a loss of
        that task), or to leave out (loss.name, where the other task is the default)."""
        other = self.other_kind
        losses = f"a {other.task} loss ({', '.join(other.losses)})"
        if not self.loss_given:
            return f"set data.task = {other.task!r} (default loss {other.defaults['loss.name']})"
        if not self.task_by_default:
            return f"set data.task = {other.task!r} and {losses}"
        # with data.task unset, leaving out loss.name chooses the family's first kind
        return f"use {losses}" + (" or leave out loss.name" if other is self.family[0] else "")

    def wrong_target(self, what: str, purpose: str = "") -> ConfigError:
        """The error for a target that does not fit this run's task (``what`` says what it
        holds): what made the task, and how to choose the other (``purpose``: what for)."""
        return self.error(f"{self.task_cause()}; {what}: {self.other_task_hint()}{purpose}")

    # ----- data -------------------------------------------------------------------------
    def encode(self, columns: tables.Columns) -> tuple[np.ndarray, dict]:
        """The targets as numbers to split on (class indices, values), and the facts the run
        folder keeps."""
        raise NotImplementedError

    def learned(self, y: np.ndarray, info: dict) -> np.ndarray:
        """Split targets in the form the loss takes (e.g. one-hot rows)."""
        return y

    def prepare(self) -> Split:
        columns = tables.read_columns(self.config["data"], self.target_kind, self.wrong_target)
        y, info = self.encode(columns)
        X_train, X_test, y_train, y_test = data.train_test_split(
            columns.X, y, test_size=self.get("data.test_size"), stratify=self.stratify,
            seed=self.get("seed"))
        info.update(features=list(columns.features), targets=list(columns.targets),
                    delimiter=self.get("data.delimiter"))
        return Split(X_train, self.learned(y_train, info), X_test, self.learned(y_test, info),
                     info)

    # ----- model ------------------------------------------------------------------------
    def outputs(self, split: Split) -> int:
        """The number of output units."""
        raise NotImplementedError

    def output_layers(self, split: Split) -> list:
        """Layers after the last Linear (an output activation, an inverse scaling)."""
        return []

    def build_model(self, split: Split):
        """Normalization (fitted on the training rows) -> [Linear -> activation (-> Dropout)]
        per hidden size -> Linear -> the kind's output layers."""
        layers, width = [], split.X_train.shape[1]
        scale = self.get("data.scale")
        if scale != "none":
            layers.append(nn.Normalization(width).adapt(split.X_train, method=scale))
        for size in self.get("model.hidden"):
            layers += [nn.Linear(width, size), nn.activation_module(self.get("model.activation"))]
            if self.get("model.dropout") > 0:
                layers.append(nn.Dropout(self.get("model.dropout")))
            width = size
        layers.append(nn.Linear(width, self.outputs(split)))
        return nn.Sequential(*layers, *self.output_layers(split))

    # ----- rows in files ----------------------------------------------------------------
    def decode(self, y: np.ndarray, info: dict) -> np.ndarray:
        """Learned targets back to the original values, one row per sample (n, targets)."""
        raise NotImplementedError

    def read_targets(self, table, positions: list, info: dict) -> np.ndarray:
        """The target columns of a labelled file as the model learns them."""
        raise NotImplementedError

    def save_heldout(self, split: Split, folder: str) -> str:
        from ...io import atomic_write_text
        path = os.path.join(folder, self.heldout_file)
        rows = np.concatenate([cells(split.X_test), cells(self.decode(split.y_test, split.info))],
                              axis=1)
        atomic_write_text(path, csv_text(split.info["features"] + split.info["targets"], rows,
                                         split.info.get("delimiter", ",")))
        return path

    def load_heldout(self, folder: str, info: dict) -> Split:
        return self.read_labelled(self.heldout_path(folder), info)

    def read_labelled(self, path: str, info: dict) -> Split:
        table, features, targets, _ = tables.table_for_rows(
            path, info["features"], "evaluate", info["targets"], info.get("delimiter", ","))
        X = tables.numbers(table, features).astype(np.float32)
        return Split(None, None, X, self.read_targets(table, targets, info), info)

    def read_rows(self, path: str, info: dict) -> tuple[np.ndarray, list]:
        """The feature columns of a file of new rows, matched by name; and notes."""
        table, features, _, notes = tables.table_for_rows(path, info["features"], "predict",
                                                          delimiter=info.get("delimiter", ","))
        return tables.numbers(table, features).astype(np.float32), notes

    def prediction_columns(self, outputs: np.ndarray, info: dict, proba: bool
                           ) -> tuple[list, np.ndarray]:
        """Column names and a table of values (objects) for the model's outputs."""
        raise NotImplementedError

    def predict_file(self, model, info: dict, path: str, proba: bool = False) -> Prediction:
        X, notes = self.read_rows(path, info)
        outputs = finite_outputs(model, X, path)
        columns, values = self.prediction_columns(outputs, info, proba)
        return Prediction(columns, values.tolist(), notes)
