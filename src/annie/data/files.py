"""Loaders for the user's own data files: CSV tables and NumPy ``.npz`` archives."""
from __future__ import annotations

import csv
import difflib
import os
import zipfile
from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError, SerializationError
from ._validate import check_same_length

_TARGET_DTYPES = {None: None, "int64": np.int64, "float32": np.float32}


def _check_file(path, where: str) -> str:
    """``path`` as a string, or DataError when no such file exists."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        problem = "is a directory, not a file" if os.path.isdir(path) else "does not exist"
        raise DataError(f"{where}: file {path!r} {problem}")
    return path


def _read_rows(path: str, delimiter: str | None) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a text table with their 1-based line numbers."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        if delimiter is None:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    rows.append((line_number, line.split()))
        else:
            reader = csv.reader(handle, delimiter=delimiter)
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append((reader.line_num, row))
    return rows


def _resolve_target(target, names: list[str], header: bool) -> int | None:
    """The column index that ``target`` (name, index or None) refers to."""
    if target is None:
        return None
    if isinstance(target, str):
        if not header:
            raise ConfigError(f"load_csv: target={target!r} is a column name, but header=False; "
                              f"give the column index instead")
        if target in names:
            return names.index(target)
        close = difflib.get_close_matches(target, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"load_csv: no column named {target!r}{hint}; available columns: {names}")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ConfigError(f"load_csv: target must be a column name, an index or None, "
                          f"got {target!r}")
    if not -len(names) <= target < len(names):
        raise ConfigError(f"load_csv: target index {target} is out of range for "
                          f"{len(names)} columns {names}")
    return int(target) % len(names)


def _to_numbers(cells: list[list[str]], line_numbers: Sequence[int], names: Sequence[str],
                path: str) -> np.ndarray:
    """The string cells as a float64 table; DataError naming the line and column of a bad cell."""
    try:
        return np.array(cells, dtype=np.str_).astype(np.float64)
    except ValueError:
        pass
    table = np.empty((len(cells), len(names)), dtype=np.float64)
    for row_index, row in enumerate(cells):
        for column_index, cell in enumerate(row):
            try:
                table[row_index, column_index] = float(cell)
            except ValueError:
                what = "an empty cell" if not cell.strip() else f"cannot read {cell!r} as a number"
                raise DataError(
                    f"load_csv: {path!r} line {line_numbers[row_index]}, column "
                    f"{names[column_index]!r}: {what}") from None
    return table


def _is_number(cell: str) -> bool:
    """True when ``float(cell)`` succeeds."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _target_values(cells: list[str], dtype: str | None, line_numbers: Sequence[int], name: str,
                   path: str):
    """The target column as int64 classes or float32 values, plus the class names of text labels.

    A column where no cell is a number holds text labels; otherwise every cell must be a number.
    """
    if dtype not in _TARGET_DTYPES:
        raise ConfigError(f"load_csv: target_dtype must be one of {list(_TARGET_DTYPES)}, "
                          f"got {dtype!r}")
    for row_index, cell in enumerate(cells):
        if not cell.strip():
            raise DataError(f"load_csv: {path!r} line {line_numbers[row_index]}, target column "
                            f"{name!r}: an empty cell")
    numeric = [_is_number(cell) for cell in cells]
    if not any(numeric):
        # text labels: each distinct string becomes its index in sorted order
        classes, labels = np.unique(np.array([cell.strip() for cell in cells]), return_inverse=True)
        if dtype == "float32":
            raise DataError(f"load_csv: target_dtype='float32' but the target column {name!r} "
                            f"holds text labels such as {str(classes[0])!r}")
        return labels.astype(np.int64), [str(label) for label in classes]
    if not all(numeric):
        row_index = numeric.index(False)
        raise DataError(f"load_csv: {path!r} line {line_numbers[row_index]}, target column "
                        f"{name!r}: cannot read {cells[row_index]!r} as a number")
    values = np.array([float(cell) for cell in cells], dtype=np.float64)
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if dtype is None:
        dtype = "int64" if whole else "float32"
    if dtype == "int64" and not whole:
        raise DataError(f"load_csv: target_dtype='int64' but the target column {name!r} holds "
                        f"non-integer values")
    return values.astype(_TARGET_DTYPES[dtype]), None


def load_csv(path, target: str | int | None = -1, delimiter: str | None = ",", header: bool = True,
             target_dtype: str | None = None, return_classes: bool = False) -> tuple:
    """Read a numeric CSV table into (X float32 (rows, columns - 1), y).

    ``target`` picks the label column by name (needs ``header=True``) or index (default: the
    last column); ``target=None`` returns (X, None) with every column in X.
    y is int64 when every target value is a whole number or the column holds text labels
    (each distinct label becomes its index in sorted order), else float32; force it with
    ``target_dtype="int64"`` or ``"float32"`` (use "float32" for regression on whole numbers).
    ``delimiter=None`` splits on any whitespace. With ``return_classes=True`` returns
    (X, y, class_names): the sorted text labels (y[i] indexes them), or None for a numeric target.
    """
    path = _check_file(path, "load_csv")
    rows = _read_rows(path, delimiter)
    if not rows:
        raise DataError(f"load_csv: {path!r} is empty")
    if header:
        names = [name.strip() for name in rows[0][1]]
        rows = rows[1:]
        if not rows:
            raise DataError(f"load_csv: {path!r} has a header but no data rows")
    else:
        names = [f"column {index}" for index in range(len(rows[0][1]))]
    for line_number, row in rows:
        if len(row) != len(names):
            raise DataError(f"load_csv: {path!r} line {line_number} has {len(row)} fields, "
                            f"expected {len(names)} like the {'header' if header else 'first row'}")
    target_index = _resolve_target(target, names, header)
    feature_columns = [index for index in range(len(names)) if index != target_index]
    if not feature_columns:
        raise DataError(f"load_csv: {path!r} has no feature columns besides the target")
    line_numbers = [line_number for line_number, _ in rows]
    feature_cells = [[row[index] for index in feature_columns] for _, row in rows]
    X = _to_numbers(feature_cells, line_numbers, [names[i] for i in feature_columns], path)
    y, classes = None, None
    if target_index is not None:
        y, classes = _target_values([row[target_index] for _, row in rows], target_dtype,
                                    line_numbers, names[target_index], path)
    X = X.astype(np.float32)
    return (X, y, classes) if return_classes else (X, y)


def load_npz(path, x_key: str = "X",
             y_key: str | None = "y") -> tuple[np.ndarray, np.ndarray | None]:
    """Read (X, y) from a NumPy ``.npz`` archive (never unpickles: ``allow_pickle=False``).

    X becomes float32; y becomes int64 when stored as integers or booleans, float32 when stored
    as floats; ``y_key=None`` returns (X, None).
    """
    path = _check_file(path, "load_npz")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise SerializationError(f"load_npz: cannot read {path!r} as an .npz archive: {error}") \
            from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise SerializationError(f"load_npz: {path!r} holds a single array, not an .npz archive "
                                 f"of named arrays")
    with archive:
        keys = list(archive.files)
        wanted = [x_key] + ([y_key] if y_key is not None else [])
        for key in wanted:
            if key not in keys:
                raise DataError(f"load_npz: {path!r} has no array named {key!r}; "
                                f"available: {keys}")
        try:
            X = archive[x_key]
            y = archive[y_key] if y_key is not None else None
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
            raise SerializationError(f"load_npz: cannot read arrays from {path!r}: {error}") \
                from None
    if X.dtype.kind not in "biuf" or X.ndim == 0 or len(X) == 0:
        raise DataError(f"load_npz: {x_key!r} must be a non-empty numeric array, got dtype "
                        f"{X.dtype} shape {X.shape}")
    X = X.astype(np.float32)
    if y is not None:
        if y.dtype.kind not in "biuf" or y.ndim == 0:
            raise DataError(f"load_npz: {y_key!r} must be a numeric array, got dtype {y.dtype} "
                            f"shape {y.shape}")
        y = y.astype(np.float32 if y.dtype.kind == "f" else np.int64)
        check_same_length(X, y, "load_npz")
    return X, y
