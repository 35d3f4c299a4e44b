"""Reading the columns of a tabular run: features and target(s) by name from a CSV file, an
.npz archive or a bundled dataset, with ``data.target``, ``data.features`` and ``data.drop``.
Every problem is an error naming the file, the column and (for a bad cell) the line."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ... import data
from ...data.files import CSVTable, file_problem
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
    table = CSVTable(path, None if delimiter == " " else delimiter, header, where)
    if table.header_looks_like_data:
        shown = ", ".join(table.names[:4]) + (", ..." if len(table.names) > 4 else "")
        raise DataError(f"{where}: the first row of {path!r} is all numbers ({shown}), so it "
                        f"is data, not a header "
                        f"of column names: add a header row, or set data.header = false and give "
                        f"data.target as a column index")
    return table


def check_unique_names(table: CSVTable, names=None) -> None:
    """DataError when a column name (of ``names``, default all) heads two columns of the
    table: a run matches its columns by name, so the name would stand for either."""
    if not table.header:
        return
    seen = {}
    for position, name in enumerate(table.names):
        if name in seen and (names is None or name in names):
            raise DataError(f"{table.where}: {table.path!r} has two columns named {name!r} "
                            f"(columns {seen[name] + 1} and {position + 1}): rename one, since "
                            f"a run finds its columns by name")
        seen.setdefault(name, position)


def other_delimiter(table: CSVTable) -> str | None:
    """The delimiter a file seems to use instead of the table's: its header read as one column
    holds ',', ';', a tab or '|' (None when it does not look so)."""
    if not table.header or len(table.names) != 1:
        return None
    return next((candidate for candidate in (",", ";", "\t", "|")
                 if candidate != table.delimiter and candidate in table.names[0]), None)


def _delimiter_advice(table: CSVTable, advice: str) -> str:
    """'; the header ... looks ';'-separated: <advice>' when it does, else ''."""
    found = other_delimiter(table)
    if found is None:
        return ""
    shown = table.delimiter if table.delimiter is not None else " "
    return (f"; its header is one column, {table.names[0][:60]!r}, which looks {found!r}-"
            f"separated, not {shown!r}-separated: {advice.format(found)}")


def _index(table: CSVTable, column, what: str) -> int:
    if isinstance(column, str) and table.header and column not in table.names:
        close = difflib.get_close_matches(column, table.names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{what}: {table.path!r} has no column {column!r}{hint}; its columns: "
                          f"{', '.join(table.names)}"
                          f"{_delimiter_advice(table, TRAIN_ADVICE)}")
    return table.index(column)


TRAIN_ADVICE = "set data.delimiter = {0!r}"
ROWS_ADVICE = "save it with the delimiter the run was trained on"


#: the largest magnitude annie's float32 arithmetic holds
FLOAT32_MAX = float(np.finfo(np.float32).max)


def numbers(table: CSVTable, columns: list[int]) -> np.ndarray:
    """The columns as float64; DataError naming line and column of a bad, NaN or inf cell, or
    of a number too large for float32 (the models compute in float32, where it would be inf)."""
    values = table.numbers(columns)
    with np.errstate(invalid="ignore"):
        bad = np.argwhere(~(np.abs(values) <= FLOAT32_MAX))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        value = values[row, column]
        problem = f"{value} is not a finite number" if not np.isfinite(value) else \
            f"{value:g} is beyond the float32 range annie computes in (largest {FLOAT32_MAX:.4g})"
        raise DataError(f"{table.where}: {table.path!r} line {table.line_number(row)}, column "
                        f"{table.names[columns[column]]!r}: {problem}")
    return values


#: a cell with a leading zero (007, -01) is a code, not a number: its column stays text
_CODE = re.compile(r"[+-]?0[0-9]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64 = np.iinfo(np.int64)


def _label_values(distinct: np.ndarray) -> np.ndarray:
    """The distinct label texts of a column as the values its classes are: int64 when every
    text is an integer (10, -1, +1), float64 when every text is a number and some are written
    as floats (2.0, 2.5, 1e3), else the texts as written (codes such as 007 keep their zeros)."""
    texts = distinct.tolist()
    if any(_CODE.match(text) for text in texts):
        return distinct
    if all(_INTEGER.fullmatch(text) for text in texts):
        values = [int(text) for text in texts]  # exact, however many digits
        inside = all(_INT64.min <= value <= _INT64.max for value in values)
        return np.array(values, dtype=np.int64) if inside else distinct
    try:
        values = distinct.astype(np.float64)
    except ValueError:
        return distinct
    return values if np.all(np.isfinite(values)) else distinct


def labels(table: CSVTable, column: int) -> np.ndarray:
    """A label column's original values, of the type they are written in (see
    ``_label_values``: integers, floats, or the stripped strings); DataError for an empty
    cell."""
    cells = table.text(column)
    empty = np.flatnonzero(cells == "")
    if len(empty):
        raise DataError(f"{table.where}: {table.path!r} line {table.line_number(int(empty[0]))}, "
                        f"target column {table.names[column]!r}: an empty cell")
    distinct, inverse = np.unique(cells, return_inverse=True)
    return _label_values(distinct)[inverse.reshape(-1)]


def shown_labels(labels) -> str:
    """The first few distinct labels for a message: "'good', 'poor', ..."."""
    labels = list(labels)
    return ", ".join(repr(label) for label in labels[:4]) + (", ..." if len(labels) > 4 else "")


def _target_numbers(table: CSVTable, columns: list[int],
                    refuse_labels: Callable[[str], Exception]) -> np.ndarray:
    """The target columns as float32 numbers; ``refuse_labels``'s error, given what holds
    them, when a column holds text labels (no cell is a number)."""
    try:
        return numbers(table, columns).astype(np.float32)
    except DataError:
        for column in columns:
            if table.holds_text(column):
                found = sorted(set(table.text(column).tolist()) - {""})
                raise refuse_labels(f"data.target {table.names[column]!r} holds text labels "
                                    f"({shown_labels(found)})") from None
        raise


def read_csv_columns(section: dict, path: str, target_kind: str,
                     refuse_labels: Callable[[str], Exception]) -> Columns:
    """Feature and target columns of a CSV file chosen by ``[data]`` (target, features, drop);
    ``target_kind`` "labels" (one column of labels) or "numbers" (one or more columns), when
    ``refuse_labels(what)`` is the error for a column of text labels."""
    where = "data.path"
    table = open_table(path, section["delimiter"], section["header"], where)
    check_unique_names(table)
    target = section["target"]
    wanted = target if isinstance(target, list) else [-1 if target is None else target]
    if not wanted:
        raise ConfigError("data.target: the list of target columns is empty")
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
                        f"data.drop{_delimiter_advice(table, TRAIN_ADVICE)}")
    try:
        X = numbers(table, feature_columns).astype(np.float32)
    except DataError as error:
        if "cannot read" not in str(error):
            raise
        raise DataError(f"{error} (a column of text: leave it out with data.drop, or give the "
                        f"feature columns with data.features)") from None
    y = labels(table, target_columns[0]) if target_kind == "labels" else \
        _target_numbers(table, target_columns, refuse_labels)
    return Columns([table.names[i] for i in feature_columns], X,
                   [table.names[i] for i in target_columns], y)


def _bundled(name: str, target_kind: str, refuse_labels: Callable[[str], Exception]
             ) -> Columns:
    loaded = data.load_dataset(name)
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and np.ndim(loaded[0]) == 2):
        raise ConfigError(f"data.dataset {name!r} is not a table of features and a target")
    X, y = loaded
    features = getattr(data, f"{name.upper()}_FEATURE_NAMES", None) or \
        [f"x{index}" for index in range(X.shape[1])]
    class_names = getattr(data, f"{name.upper()}_CLASS_NAMES", None)
    if np.asarray(y).dtype.kind in "iu":  # a classification dataset
        y = np.asarray(class_names)[y] if class_names else np.asarray(y)
        if target_kind == "numbers":
            raise refuse_labels(f"data.dataset {name!r} holds class labels "
                                f"({shown_labels(np.unique(y).tolist())})")
    else:
        y = np.asarray(y, dtype=np.float32)
        y = y if target_kind == "labels" else y.reshape(len(y), -1)
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


def read_columns(section: dict, target_kind: str,
                 refuse_labels: Callable[[str], Exception]) -> Columns:
    """The run's columns from ``data.dataset`` or ``data.path`` (a CSV file or an .npz);
    ``target_kind`` "labels" or "numbers"; ``refuse_labels(what)``: the error when a
    "numbers" target holds class labels (``what`` names the column or dataset and shows them)."""
    if section["dataset"] is not None:
        if section["target"] is not None:
            raise ConfigError(f"data.target picks a column of data.path; data.dataset "
                              f"{section['dataset']!r} has its own target")
        columns = _bundled(section["dataset"], target_kind, refuse_labels)
    else:
        path = section["path"]
        problem = file_problem(path)
        if problem:
            raise ConfigError(f"data.path {path!r} {problem}")
        columns = _npz(path, target_kind) if path.endswith(".npz") else \
            read_csv_columns(section, path, target_kind, refuse_labels)
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
    problem = file_problem(path)
    if problem:
        raise ConfigError(f"{where}: {path!r} {problem}")
    delimiter = None if delimiter == " " else delimiter
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
    check_unique_names(table, wanted)
    missing = [name for name in wanted if name not in table.names]
    if missing:
        raise ConfigError(f"{where}: {path!r} has no column {missing[0]!r}"
                          f"{f' (nor {missing[1:]})' if len(missing) > 1 else ''}; the model "
                          f"reads {', '.join(map(str, wanted))}"
                          f"{_delimiter_advice(table, ROWS_ADVICE)}")
    positions = [table.names.index(name) for name in wanted]
    ignored = [name for name in table.names if name not in wanted]
    notes = [f"{path}: ignored column(s) the model does not read: {', '.join(ignored)}"] \
        if ignored else []
    return (table, positions[:len(features)],
            positions[len(features):] if targets is not None else None, notes)
