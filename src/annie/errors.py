"""The exceptions annie raises. Every message names the argument, layer, shape or value at fault,
and prints numbers plainly: a NumPy scalar formatted with ``!r`` (``np.int64(5)``,
``np.float32(1.5)``, ``np.True_`` under NumPy 2), alone or inside a tuple or list, reads ``5``,
``1.5``, ``True`` in the message, whichever code raised it. ``check_positive_int`` and
``check_non_negative_int`` are the one check of integer arguments (counts, sizes, seeds),
raising the ConfigError every caller words the same."""
from __future__ import annotations

import numbers
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


def is_positive_int(value) -> bool:
    """True for an integer >= 1: a Python or NumPy integer, not a bool."""
    return _is_int_at_least(value, 1)


def check_positive_int(value, name: str, owner: str | None = None, *,
                       allow_none: bool = False) -> int | None:
    """``value`` as an int when it is a positive integer (see ``is_positive_int``), None for
    None when ``allow_none``; else a ConfigError "owner: name must be a positive integer
    [or None], got value". The one check of every count, size and length argument."""
    return _check_int(value, name, owner, 1, allow_none)


def check_non_negative_int(value, name: str, owner: str | None = None, *,
                           allow_none: bool = False) -> int | None:
    """As ``check_positive_int`` for an integer >= 0 (a seed, a patience, a number to show):
    "owner: name must be a non-negative integer [or None], got value"."""
    return _check_int(value, name, owner, 0, allow_none)


def _is_int_at_least(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) \
        and value >= minimum


_INTEGER_WORDS = {1: "a positive integer", 0: "a non-negative integer"}


def _check_int(value, name: str, owner: str | None, minimum: int, allow_none: bool):
    if allow_none and value is None:
        return None
    if not _is_int_at_least(value, minimum):
        where = f"{owner}: " if owner else ""
        alternative = " or None" if allow_none else ""
        raise ConfigError(f"{where}{name} must be {_INTEGER_WORDS[minimum]}{alternative}, "
                          f"got {value!r}")
    return int(value)
