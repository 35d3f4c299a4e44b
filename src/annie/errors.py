"""The exceptions annie raises. Every message names the argument, layer, shape or value at fault."""


class AnnieError(Exception):
    """Base class of every error annie raises on purpose."""


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


class NumericalError(AnnieError, FloatingPointError):
    """A forward or backward computation produced NaN or inf."""
