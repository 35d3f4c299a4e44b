"""The MLP tab's 2-D data: four generated sets (circle, XOR, two Gaussians, spiral) and a
user's own CSV of two feature columns and a label, read by annie's CSV loader.

Every generator returns X (n, 2) float32 in about [-1, 1] and y (n,) int64 labels 0/1; ``noise``
is the standard deviation of Gaussian noise added to the points (in the same units).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnnieError, DataError

MAX_UPLOAD_BYTES = 1 << 20  # 1 MiB
MAX_UPLOAD_ROWS = 5000
MAX_CLASSES = 10  # more distinct whole-number labels than this: a regression target
LABEL_COLUMN = "label"  # the label column of the CSV the playground writes


@dataclass
class PlaneData:
    """Points of the input plane with their targets.

    ``task`` is "classification" (y int64 class indices 0..K-1, ``classes`` their names) or
    "regression" (y float32 values); ``feature_names`` name the two columns."""

    X: np.ndarray
    y: np.ndarray
    task: str = "classification"
    classes: list = field(default_factory=lambda: ["0", "1"])
    feature_names: tuple = ("x1", "x2")
    source: str = ""

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes) if self.task == "classification" else 0


def to_csv(data: PlaneData) -> str:
    """The points as CSV: the two feature columns and LABEL_COLUMN (the class names, or the
    numeric target), each float written in its shortest float32 form."""
    from ..app.recipes.tabular import cells, csv_text
    if data.task == "classification":
        labels = np.asarray(data.classes, dtype=object)[data.y]
    else:
        labels = cells(data.y.reshape(-1))
    rows = np.column_stack([cells(data.X), labels])
    names = [name if name != LABEL_COLUMN else f"{name}_" for name in data.feature_names]
    return csv_text([*names, LABEL_COLUMN], rows)


def _finish(X: np.ndarray, y: np.ndarray, noise: float, generator, source: str) -> PlaneData:
    X = X + generator.normal(0.0, noise, size=X.shape) if noise > 0 else X
    order = generator.permutation(len(X))
    return PlaneData(X[order].astype(np.float32), y[order].astype(np.int64), source=source)


def circle(samples: int, noise: float, generator) -> PlaneData:
    """Class 1 inside radius 0.5, class 0 on a ring from radius 0.7 to 1."""
    inner = samples // 2
    radius = np.concatenate([generator.uniform(0.0, 0.5, inner),
                             generator.uniform(0.7, 1.0, samples - inner)])
    angle = generator.uniform(0.0, 2 * np.pi, samples)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    y = np.concatenate([np.ones(inner), np.zeros(samples - inner)])
    return _finish(X, y, noise, generator, "circle")


def xor(samples: int, noise: float, generator) -> PlaneData:
    """Class 1 where x1 * x2 > 0 (first and third quadrant), points kept 0.05 off the axes."""
    X = generator.uniform(-1.0, 1.0, (samples, 2))
    X += np.where(X > 0, 0.05, -0.05)
    X = np.clip(X, -1.0, 1.0)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return _finish(X, y, noise, generator, "xor")


def gaussians(samples: int, noise: float, generator) -> PlaneData:
    """Two round Gaussian clouds (std 0.2) around (0.5, 0.5) (class 1) and (-0.5, -0.5)."""
    first = samples // 2
    centres = np.concatenate([np.full((first, 2), 0.5), np.full((samples - first, 2), -0.5)])
    X = centres + generator.normal(0.0, 0.2, (samples, 2))
    y = np.concatenate([np.ones(first), np.zeros(samples - first)])
    return _finish(X, y, noise, generator, "gaussians")


def spiral(samples: int, noise: float, generator) -> PlaneData:
    """Two interleaved spirals, r = t and angle = 3.5 pi t (+ pi for class 0), t in [0, 1]."""
    first = samples // 2
    t = np.concatenate([np.linspace(0.05, 1.0, first), np.linspace(0.05, 1.0, samples - first)])
    label = np.concatenate([np.ones(first), np.zeros(samples - first)])
    angle = 3.5 * np.pi * t + np.pi * (1 - label)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return _finish(X, label, noise, generator, "spiral")


GENERATORS = {"circle": circle, "xor": xor, "gaussians": gaussians, "spiral": spiral}


def generate(name: str, samples: int, noise: float, seed: int) -> PlaneData:
    """The generated set ``name`` with ``samples`` points, drawn from ``seed``."""
    return GENERATORS[name](samples, noise, np.random.default_rng(seed))


def read_upload(path: str, shown_name: str) -> PlaneData:
    """A CSV of two feature columns and a label (the last column), read by
    :func:`annie.data.load_csv`. Its messages name ``shown_name`` instead of the temporary path.
    Labels that are text or at most MAX_CLASSES distinct whole numbers are classes; other
    numbers are a regression target."""
    from ..data import load_csv
    try:
        size = os.path.getsize(path)
        if size > MAX_UPLOAD_BYTES:
            raise DataError(f"{shown_name}: the file has {size:,} bytes; the playground takes "
                            f"files up to {MAX_UPLOAD_BYTES:,} bytes")
        X, y, classes = load_csv(path, return_classes=True)
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle))
    except AnnieError as error:
        raise type(error)(str(error).replace(repr(path), repr(shown_name))) from None
    except UnicodeDecodeError:
        raise DataError(f"{shown_name}: not a UTF-8 text file") from None
    if X.shape[1] != 2:
        raise DataError(f"{shown_name}: expected three columns (two features and a label, the "
                        f"label last), got {X.shape[1] + 1}: {', '.join(header)}")
    if len(X) > MAX_UPLOAD_ROWS:
        raise DataError(f"{shown_name}: {len(X):,} rows; the playground takes up to "
                        f"{MAX_UPLOAD_ROWS:,}")
    if len(X) < 10:
        raise DataError(f"{shown_name}: {len(X)} rows; the playground needs at least 10")
    if not np.all(np.isfinite(X)) or (y.dtype.kind == "f" and not np.all(np.isfinite(y))):
        raise DataError(f"{shown_name}: the file holds NaN or infinite values")
    names = tuple(name.strip() for name in header[:2])
    if classes is None:
        values = np.unique(y)
        if y.dtype.kind == "f" or len(values) > MAX_CLASSES:
            return PlaneData(X, y.astype(np.float32), "regression", [], names, shown_name)
        classes = [str(value) for value in values]
        y = np.searchsorted(values, y)
    if len(classes) < 2:
        raise DataError(f"{shown_name}: the label column holds one class only ({classes[0]!r})")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"{shown_name}: {len(classes)} classes; the playground takes up to "
                        f"{MAX_CLASSES}")
    return PlaneData(X, y.astype(np.int64), "classification", list(classes), names, shown_name)
