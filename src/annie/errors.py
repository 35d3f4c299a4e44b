"""The exceptions annie raises. Every message names the argument, layer, shape or value at fault,
and prints numbers plainly: a NumPy scalar formatted with ``!r`` (``np.int64(5)``,
``np.float32(1.5)``, ``np.True_`` under NumPy 2), alone or inside a tuple or list, reads ``5``,
``1.5``, ``True`` in the message, whichever code raised it."""
from __future__ import annotations

import re

_NUMPY_SCALAR_REPR = re.compile(
    r"np\.(?:u?int(?:8|16|32|64|c|p)?|u?byte|u?short|u?long(?:long)?|float(?:16|32|64|128)?"
    r"|half|single|double|longdouble|bool_?)\(([^()]*)\)")
_NUMPY_BOOL_REPR = re.compile(r"np\.(True|False)_")


def plain_numbers(text: str) -> str:
    """``text`` with NumPy 2's scalar reprs written as plain numbers: ``np.int64(5)`` -> ``5``,
    ``np.float32(0.5)`` -> ``0.5``, ``np.True_`` -> ``True``."""
    if "np." not in text:
        return text
    return _NUMPY_BOOL_REPR.sub(r"\1", _NUMPY_SCALAR_REPR.sub(r"\1", text))


class AnnieError(Exception):
    """Base class of every error annie raises on purpose (its message prints plain numbers)."""

    def __init__(self, *args) -> None:
        super().__init__(*(plain_numbers(arg) if isinstance(arg, str) else arg for arg in args))


class ShapeError(AnnieError, ValueError):
    """An array or tensor has a shape that the operation or layer cannot take."""


class DTypeError(AnnieError, TypeError):
    """An array has a dtype that the operation cannot take (e.g. float labels for classes)."""


class ConfigError(AnnieError, ValueError):
    """An argument, hyperparameter or configuration value is invalid."""


class DataError(AnnieError, ValueError):
    """Training or evaluation data is invalid: empty, NaN/inf, labels out of range."""


class SerializationError(AnnieError, ValueError):
    """A file could not be saved or loaded: truncated, corrupted, foreign or hostile."""


class WriteError(SerializationError, OSError):
    """A file could not be written (disk full, file-size limit, permissions): the previous
    file is unchanged. Also an ``OSError``, with the ``errno`` of the failure."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class NumericalError(AnnieError, FloatingPointError):
    """A forward or backward computation produced NaN or inf."""


def finite_number(owner: str, name: str, value, positive: bool = False) -> float:
    """``value`` as a float if it is a finite real number (> 0 with ``positive``), else a
    ConfigError naming ``owner`` and ``name``: a NaN or infinite hyperparameter (an eps, a
    slope, a scale) would make every output NaN without a word."""
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or (positive and not value > 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ConfigError(f"{owner}: {name} must be {kind}, got {value!r}")
    return float(value)
