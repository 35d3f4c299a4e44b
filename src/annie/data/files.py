"""Loaders for the user's own data files: CSV tables and NumPy ``.npz`` archives."""
from __future__ import annotations

import csv
import difflib
import os
import warnings
import zipfile
from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError, SerializationError
from ._validate import check_same_length

_TARGET_DTYPES = {None: None, "int64": np.int64, "float32": np.float32}


def file_problem(path) -> str | None:
    """None when ``path`` names a file; else what is wrong with it, to follow the quoted path
    in a message: "is a folder, not a file" or "does not exist"."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return None
    return "is a folder, not a file" if os.path.isdir(path) else "does not exist"


def _check_file(path, where: str) -> str:
    """``path`` as a string, or DataError when it names no file."""
    path = os.fspath(path)
    problem = file_problem(path)
    if problem:
        raise DataError(f"{where}: {path!r} {problem}")
    return path


def _check_utf8(path: str, where: str) -> None:
    """DataError naming the line of the first byte that is not UTF-8 text."""
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(f"{where}: {path!r} line {line} is not UTF-8 text (byte "
                        f"0x{raw[error.start]:02x}): save the file as UTF-8") from None


def _read_rows(path: str, delimiter: str | None) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a text table with their 1-based line numbers (the careful reader:
    it locates every problem; ``CSVTable`` uses it when NumPy's fast parser gives up)."""
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


def _first_row(path: str, delimiter: str | None) -> tuple[int, list[str]] | None:
    """(line number, cells) of the first non-blank row, or None for a file without one."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        if delimiter is None:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    return line_number, line.split()
            return None
        reader = csv.reader(handle, delimiter=delimiter)
        for row in reader:
            if any(cell.strip() for cell in row):
                return reader.line_num, row
    return None


def _resolve_target(target, names: list[str], header: bool, where: str = "load_csv") -> int | None:
    """The column index that ``target`` (name, index or None) refers to."""
    if target is None:
        return None
    if isinstance(target, str):
        if not header:
            raise ConfigError(f"{where}: column {target!r} is given by name, but header=False; "
                              f"give the column index instead")
        if target in names:
            return names.index(target)
        close = difflib.get_close_matches(target, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: no column named {target!r}{hint}; available columns: {names}")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ConfigError(f"{where}: a column must be given by name or index, got {target!r}")
    if not -len(names) <= target < len(names):
        raise ConfigError(f"{where}: column index {int(target)} is out of range for "
                          f"{len(names)} columns {names}")
    return int(target) % len(names)


def _is_number(cell: str) -> bool:
    """True when ``float(cell)`` succeeds."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _fast_read(path: str, delimiter: str | None, skip_lines: int, dtype,
               columns: Sequence[int] | None = None) -> np.ndarray | None:
    """The table (or the given columns) below the first ``skip_lines`` lines, parsed by
    ``np.loadtxt`` as ``dtype``; None when that parser cannot read it (a bad cell, a ragged row,
    a blank-looking line): then the careful reader takes over and names the problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(path, dtype=dtype, delimiter=delimiter, skiprows=skip_lines,
                              usecols=columns, comments=None, ndmin=2, encoding="utf-8-sig",
                              quotechar='"' if delimiter is not None else None)
    except (ValueError, IndexError):
        return None


class CSVTable:
    """A text table read from a file: column ``names`` (the header's, or "column 0", ... without
    one) and its cells, parsed column by column by NumPy's fast ``loadtxt`` (numbers straight to
    float64). A problem (a cell that is not a number, a ragged row) is a DataError naming the
    file, the line and the column, found by a careful reading only when the fast one fails."""

    def __init__(self, path, delimiter: str | None = ",", header: bool = True,
                 where: str = "load_csv"):
        self.path = _check_file(path, where)
        _check_utf8(self.path, where)
        self.delimiter, self.header, self.where = delimiter, bool(header), where
        first = _first_row(self.path, delimiter)
        if first is None:
            raise DataError(f"{where}: {self.path!r} is empty")
        first_line, first_cells = first
        self.names = [name.strip() for name in first_cells] if header else \
            [f"column {index}" for index in range(len(first_cells))]
        self._skip = first_line if header else first_line - 1
        self._rows: list[tuple[int, list[str]]] | None = None  # the careful reading, if needed
        self._numbers = _fast_read(self.path, delimiter, self._skip, np.float64)
        if self._numbers is not None and self._numbers.shape[1] == len(self.names):
            self._length = len(self._numbers)  # every column a number: the common case
        else:
            self._numbers = None
            self._length = self._count_rows()
        if self._length == 0:
            raise DataError(f"{where}: {self.path!r} has a header but no data rows")

    def _count_rows(self) -> int:
        """The number of data rows, checking that each has one field per column (a byte scan
        for plain files; the careful reader for quoted or whitespace-separated ones)."""
        with open(self.path, "rb") as handle:
            raw = handle.read()
        if self.delimiter is None or b'"' in raw or len(self.delimiter) != 1:
            return len(self._careful())
        separator = self.delimiter.encode()
        lines = raw.splitlines()[self._skip:]
        count = 0
        for line in lines:
            if line.strip():
                if line.count(separator) + 1 != len(self.names):
                    return len(self._careful())  # names the line
                count += 1
        return count

    def _careful(self) -> list[tuple[int, list[str]]]:
        """Every data row with its line number, from the careful reader (checks field counts)."""
        if self._rows is None:
            rows = _read_rows(self.path, self.delimiter)
            if self.header:
                rows = rows[1:]
            if not rows:
                raise DataError(f"{self.where}: {self.path!r} has a header but no data rows")
            for line_number, row in rows:
                if len(row) != len(self.names):
                    raise DataError(
                        f"{self.where}: {self.path!r} line {line_number} has {len(row)} fields, "
                        f"expected {len(self.names)} like the "
                        f"{'header' if self.header else 'first row'}")
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        return self._length

    @property
    def header_looks_like_data(self) -> bool:
        """True when every header cell reads as a number: the "header" is probably a data row."""
        return self.header and all(_is_number(name) for name in self.names)

    def index(self, column: str | int) -> int:
        """The position of a column given by name (needs a header) or index (negative counts
        from the end); ConfigError naming the closest and every column otherwise."""
        return _resolve_target(column, self.names, self.header, self.where)

    def numbers(self, columns: Sequence[int]) -> np.ndarray:
        """The given columns as a float64 table (rows, len(columns)); DataError naming the line
        and column of the first cell that is empty or not a number."""
        columns = list(columns)
        if self._numbers is not None:
            return self._numbers[:, columns]
        if self._rows is None:
            fast = _fast_read(self.path, self.delimiter, self._skip, np.float64, columns)
            if fast is not None and fast.shape == (self._length, len(columns)):
                return fast
        rows = self._careful()
        table = np.empty((len(rows), len(columns)), dtype=np.float64)
        for row_index, (line_number, row) in enumerate(rows):
            for position, column in enumerate(columns):
                cell = row[column]
                try:
                    table[row_index, position] = float(cell)
                except ValueError:
                    what = "an empty cell" if not cell.strip() else \
                        f"cannot read {cell!r} as a number"
                    raise DataError(f"{self.where}: {self.path!r} line {line_number}, column "
                                    f"{self.names[column]!r}: {what}") from None
        return table

    def text(self, column: int) -> np.ndarray:
        """One column's cells as stripped strings (numbers as the file wrote them)."""
        if self._rows is None:
            fast = _fast_read(self.path, self.delimiter, self._skip, str, [column])
            if fast is not None and fast.shape == (self._length, 1):
                return np.char.strip(fast[:, 0])
        return np.array([row[column].strip() for _, row in self._careful()], dtype=np.str_)

    def holds_text(self, column: int) -> bool:
        """True when no (non-empty) cell of the column reads as a number: text labels."""
        cells = self.text(column)
        cells = cells[cells != ""]
        return cells.size > 0 and not _numeric_cells(cells).any()

    def line_number(self, row: int) -> int:
        """The 1-based line of the file holding data row ``row``."""
        return self._careful()[row][0]


def _numeric_cells(cells: np.ndarray) -> np.ndarray:
    """A boolean array: which cells read as numbers (each distinct text checked once)."""
    distinct, inverse = np.unique(cells, return_inverse=True)
    return np.array([_is_number(cell) for cell in distinct], dtype=bool)[inverse.reshape(-1)]


def _target_values(table: CSVTable, column: int, dtype: str | None):
    """The target column as int64 classes or float32 values, plus the class names of text
    labels. A column where no cell is a number holds text labels; otherwise every cell must be
    a number."""
    if dtype not in _TARGET_DTYPES:
        raise ConfigError(f"load_csv: target_dtype must be one of {list(_TARGET_DTYPES)}, "
                          f"got {dtype!r}")
    name = table.names[column]
    if table._numbers is not None:
        values = table._numbers[:, column]
    else:
        cells = table.text(column)
        empty = np.flatnonzero(cells == "")
        if len(empty):
            raise DataError(f"load_csv: {table.path!r} line {table.line_number(empty[0])}, "
                            f"target column {name!r}: an empty cell")
        numeric = _numeric_cells(cells)
        if not numeric.any():
            # text labels: each distinct string becomes its index in sorted order
            classes, labels = np.unique(cells, return_inverse=True)
            if dtype == "float32":
                raise DataError(f"load_csv: target_dtype='float32' but the target column "
                                f"{name!r} holds text labels such as {str(classes[0])!r}")
            return labels.astype(np.int64), [str(label) for label in classes]
        if not numeric.all():
            row = int(np.flatnonzero(~numeric)[0])
            raise DataError(f"load_csv: {table.path!r} line {table.line_number(row)}, target "
                            f"column {name!r}: cannot read {str(cells[row])!r} as a number")
        values = cells.astype(np.float64)
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
    Parsed by NumPy's ``loadtxt``; a bad cell is a DataError naming its line and column.
    """
    table = CSVTable(path, delimiter, header)
    target_index = None if target is None else table.index(target)
    feature_columns = [index for index in range(len(table.names)) if index != target_index]
    if not feature_columns:
        raise DataError(f"load_csv: {table.path!r} has no feature columns besides the target")
    X = table.numbers(feature_columns).astype(np.float32)
    y, classes = None, None
    if target_index is not None:
        y, classes = _target_values(table, target_index, target_dtype)
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
