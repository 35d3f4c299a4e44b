"""Reading the columns of a tabular run: features and target(s) by name from a CSV file, an
.npz archive or a bundled dataset, with ``data.target``, ``data.features`` and ``data.drop``.
Every problem is an error naming the file, the column and (for a bad cell) the line."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass

import numpy as np

from ... import data
from ...data.files import CSVTable
from ...errors import ConfigError, DataError


@dataclass
class Columns:
    """Feature columns (names in order, raw float32 values) and target column(s): names and
    values (original labels for a classifier: strings or numbers; floats for a regressor)."""

    features: list
    X: np.ndarray
    targets: list
    y: np.ndarray


def open_table(path: str, delimiter: str, header: bool, where: str) -> CSVTable:
    """The CSV table at ``path``; DataError when its header looks like a data row."""
    table = CSVTable(path, None if delimiter.strip() == "" else delimiter, header, where)
    if table.header_looks_like_data:
        shown = ", ".join(table.names[:4]) + (", ..." if len(table.names) > 4 else "")
        raise DataError(f"{where}: the first row of {path!r} is all numbers ({shown}), so it "
                        f"is data, not a header "
                        f"of column names: add a header row, or set data.header = false and give "
                        f"data.target as a column index")
    return table


def _index(table: CSVTable, column, what: str) -> int:
    if isinstance(column, str) and table.header and column not in table.names:
        close = difflib.get_close_matches(column, table.names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{what}: {table.path!r} has no column {column!r}{hint}; its columns: "
                          f"{', '.join(table.names)}")
    return table.index(column)


def numbers(table: CSVTable, columns: list[int]) -> np.ndarray:
    """The columns as float64; DataError naming line and column of a bad, NaN or inf cell."""
    values = table.numbers(columns)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        raise DataError(f"{table.where}: {table.path!r} line {table.line_number(row)}, column "
                        f"{table.names[columns[column]]!r}: {values[row, column]} is not a finite "
                        f"number")
    return values


def labels(table: CSVTable, column: int) -> np.ndarray:
    """A label column's original values: numbers (int64 when all whole) when every cell is a
    number, else the stripped strings; DataError for an empty cell."""
    cells = table.text(column)
    empty = np.flatnonzero(cells == "")
    if len(empty):
        raise DataError(f"{table.where}: {table.path!r} line {table.line_number(int(empty[0]))}, "
                        f"target column {table.names[column]!r}: an empty cell")
    try:
        values = cells.astype(np.float64)
    except ValueError:
        return cells
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def read_csv_columns(section: dict, path: str, target_kind: str) -> Columns:
    """Feature and target columns of a CSV file chosen by ``[data]`` (target, features, drop);
    ``target_kind`` "labels" (one column of labels) or "numbers" (one or more columns)."""
    where = "data.path"
    table = open_table(path, section["delimiter"], section["header"], where)
    target = section["target"]
    wanted = target if isinstance(target, list) else [-1 if target is None else target]
    if not wanted:
        raise ConfigError("data.target: the list of target columns is empty")
    if target_kind == "labels" and len(wanted) != 1:
        raise ConfigError(f"data.target: a classifier learns one target column, got {wanted}; "
                          f"several target columns need data.task = 'regression'")
    target_columns = [_index(table, column, "data.target") for column in wanted]
    dropped = [_index(table, column, "data.drop") for column in section["drop"]]
    if section["features"] is not None:
        feature_columns = [_index(table, column, "data.features")
                           for column in section["features"]]
        for column in feature_columns:
            if column in target_columns or column in dropped:
                role = "the target" if column in target_columns else "in data.drop"
                raise ConfigError(f"data.features: column {table.names[column]!r} is {role}")
    else:
        feature_columns = [column for column in range(len(table.names))
                           if column not in target_columns and column not in dropped]
    if not feature_columns:
        raise DataError(f"{where}: {path!r} has no feature columns besides the target and "
                        f"data.drop")
    try:
        X = numbers(table, feature_columns).astype(np.float32)
    except DataError as error:
        if "cannot read" not in str(error):
            raise
        raise DataError(f"{error} (a column of text: leave it out with data.drop, or give the "
                        f"feature columns with data.features)") from None
    y = labels(table, target_columns[0]) if target_kind == "labels" else \
        numbers(table, target_columns).astype(np.float32)
    return Columns([table.names[i] for i in feature_columns], X,
                   [table.names[i] for i in target_columns], y)


def _bundled(name: str, target_kind: str) -> Columns:
    loaded = data.load_dataset(name)
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and np.ndim(loaded[0]) == 2):
        raise ConfigError(f"data.dataset {name!r} is not a table of features and a target")
    X, y = loaded
    features = getattr(data, f"{name.upper()}_FEATURE_NAMES", None) or \
        [f"x{index}" for index in range(X.shape[1])]
    class_names = getattr(data, f"{name.upper()}_CLASS_NAMES", None)
    if target_kind == "labels":
        y = np.asarray(class_names)[y] if class_names else np.asarray(y)
    else:
        y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    return Columns(list(features), np.asarray(X, np.float32), ["target"], y)


def _npz(path: str, target_kind: str) -> Columns:
    X, y = data.load_npz(path)
    if X.ndim != 2:
        raise DataError(f"data.path: {path!r}: X must be a table (samples, features), got shape "
                        f"{X.shape}")
    if target_kind == "numbers":
        y = y.astype(np.float32).reshape(len(y), -1)
        targets = ["y"] if y.shape[1] == 1 else [f"y{i}" for i in range(y.shape[1])]
    else:
        if y.ndim != 1:
            raise DataError(f"data.path: {path!r}: a classifier needs one label per sample, y "
                            f"has shape {y.shape}")
        targets = ["y"]
    return Columns([f"x{index}" for index in range(X.shape[1])], X, targets, y)


def read_columns(section: dict, target_kind: str) -> Columns:
    """The run's columns from ``data.dataset`` or ``data.path`` (a CSV file or an .npz)."""
    if section["dataset"] is not None:
        if section["target"] is not None:
            raise ConfigError(f"data.target picks a column of data.path; data.dataset "
                              f"{section['dataset']!r} has its own target")
        columns = _bundled(section["dataset"], target_kind)
    else:
        path = section["path"]
        if not os.path.isfile(path):
            raise ConfigError(f"data.path {path!r}: file not found")
        columns = _npz(path, target_kind) if path.endswith(".npz") else \
            read_csv_columns(section, path, target_kind)
    if section["dataset"] is not None or section["path"].endswith(".npz"):
        _select(columns, section)
    return columns


def _select(columns: Columns, section: dict) -> None:
    """data.features / data.drop on a bundled or .npz table (named x0, x1, ... when unnamed)."""
    names = columns.features
    for key in ("features", "drop"):
        for name in section[key] or []:
            if name not in names:
                raise ConfigError(f"data.{key}: no feature named {name!r}; the features are "
                                  f"{', '.join(names)}")
    keep = section["features"] or [name for name in names if name not in section["drop"]]
    keep = [name for name in keep if name not in section["drop"]]
    if not keep:
        raise ConfigError("data.drop leaves no feature columns")
    positions = [names.index(name) for name in keep]
    columns.features, columns.X = keep, columns.X[:, positions]


def table_for_rows(path: str, features: list, where: str, targets: list | None = None,
                   delimiter: str = ",") -> tuple[CSVTable, list[int], list[int], list]:
    """Open a file of rows for a trained model: its columns matched by header name (any order;
    extra columns ignored). Returns (table, feature columns, target columns (None when
    ``targets`` is None), notes for the user). A file without a header is read in the training
    order when it has exactly the feature columns (and the targets, if wanted)."""
    if not os.path.isfile(path):
        raise ConfigError(f"{where}: file {path!r} not found")
    delimiter = None if delimiter.strip() == "" else delimiter
    table = CSVTable(path, delimiter, True, where)
    wanted = list(features) + list(targets or [])
    if table.header_looks_like_data and not set(table.names) & set(wanted):
        table = CSVTable(path, delimiter, False, where)
        if len(table.names) != len(wanted):
            raise DataError(f"{where}: {path!r} has no header row and {len(table.names)} "
                            f"columns; the model reads {len(wanted)}: "
                            f"{', '.join(map(str, wanted))} (add a header row naming them)")
        positions = list(range(len(wanted)))
        note = (f"{path}: no header row; its {len(wanted)} columns are read in the training "
                f"order: {', '.join(map(str, wanted))}")
        return (table, positions[:len(features)],
                positions[len(features):] if targets is not None else None, [note])
    missing = [name for name in wanted if name not in table.names]
    if missing:
        raise ConfigError(f"{where}: {path!r} has no column {missing[0]!r}"
                          f"{f' (nor {missing[1:]})' if len(missing) > 1 else ''}; the model "
                          f"reads {', '.join(map(str, wanted))}")
    positions = [table.names.index(name) for name in wanted]
    ignored = [name for name in table.names if name not in wanted]
    notes = [f"{path}: ignored column(s) the model does not read: {', '.join(ignored)}"] \
        if ignored else []
    return (table, positions[:len(features)],
            positions[len(features):] if targets is not None else None, notes)
