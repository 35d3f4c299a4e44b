"""The search space: one parameter per configuration key named in the ``[tune]`` table.

    "optimizer.lr"      = { low = 1e-4, high = 1e-1, log = true }   # a float range (log scale)
    "train.batch_size"  = { low = 16, high = 128, step = 16 }       # an integer range
    "model.hidden"      = [[64], [128], [64, 64]]                   # a list: one of the choices
    "model.activation"  = ["relu", "tanh"]

A range is an integer range when the key takes integers (``train.epochs``) and a float range
when it takes numbers; an optimizer's own arguments (``optimizer.momentum``) take the type of
their bounds. Each parameter asks an Optuna trial for a value (``suggest``) and can list its
values for the grid sampler (``grid_values``). Choices that are not plain numbers, strings or
booleans (lists such as ``[64, 64]``) are given to Optuna as their JSON text and turned back
into values here, so they show readably in ``trials.csv`` and the figures.
"""
from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

RANGE_FIELDS = ("low", "high", "log", "step")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_plain(value) -> bool:
    return isinstance(value, (str, int, float, bool))


@dataclass(frozen=True)
class FloatRange:
    """A float from [low, high], uniform or (``log=True``) log-uniform, optionally on a grid
    of ``step``."""

    key: str
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def suggest(self, trial) -> float:
        """The trial's value (Optuna's ``suggest_float``, decoded)."""
        return self.decode(trial.suggest_float(self.key, self.low, self.high, log=self.log,
                                               step=self.step))

    def decode(self, label) -> float:
        """The configuration value of an Optuna parameter value; on a grid of ``step`` the
        grid's value as written (0.3, not Optuna's 0.30000000000000004)."""
        value = float(label)
        return float(f"{value:.12g}") if self.step is not None else value

    def corners(self) -> list:
        """The values checked against the configuration before the search starts."""
        return [self.low, self.high]

    def grid_values(self) -> list:
        """Every value, for the grid sampler (needs a step and no log scale)."""
        if self.step is None or self.log:
            raise ConfigError(f"tune.sampler = 'grid' needs finite values: {self.key!r} is a "
                              f"continuous range; give a list of values or a step")
        count = int(round((self.high - self.low) / self.step))
        return [self.decode(self.low + index * self.step) for index in range(count + 1)]

    def describe(self) -> dict:
        """A JSON-ready description (kept with the study to recognise it on a rerun)."""
        return {"key": self.key, "kind": "float", "low": self.low, "high": self.high,
                "log": self.log, "step": self.step}


@dataclass(frozen=True)
class IntRange:
    """An integer from low to high inclusive, in steps of ``step`` (or log-uniform)."""

    key: str
    low: int
    high: int
    step: int = 1
    log: bool = False

    def suggest(self, trial) -> int:
        """The trial's value (Optuna's ``suggest_int``)."""
        return trial.suggest_int(self.key, self.low, self.high, step=self.step, log=self.log)

    def decode(self, label) -> int:
        """The configuration value of an Optuna parameter value."""
        return int(label)

    def corners(self) -> list:
        """The values checked against the configuration before the search starts."""
        return [self.low, self.high]

    def grid_values(self) -> list:
        """Every value, for the grid sampler (not on a log scale)."""
        if self.log:
            raise ConfigError(f"tune.sampler = 'grid' needs evenly spaced values: "
                              f"{self.key!r} has log = true; give a list of values")
        return list(range(self.low, self.high + 1, self.step))

    def describe(self) -> dict:
        """A JSON-ready description (kept with the study to recognise it on a rerun)."""
        return {"key": self.key, "kind": "int", "low": self.low, "high": self.high,
                "step": self.step, "log": self.log}


@dataclass(frozen=True)
class Choice:
    """One of a list of values. ``labels`` are what Optuna sees: the values themselves when
    they are plain (numbers, strings, booleans), else each value's JSON text."""

    key: str
    choices: tuple
    labels: tuple

    @classmethod
    def of(cls, key: str, choices: list) -> "Choice":
        """The parameter for ``choices`` (a non-empty list without repeats)."""
        plain = all(_is_plain(choice) for choice in choices)
        labels = tuple(choices) if plain else tuple(json.dumps(choice) for choice in choices)
        return cls(key, tuple(choices), labels)

    def suggest(self, trial) -> Any:
        """The trial's value (Optuna's ``suggest_categorical``, decoded)."""
        return self.decode(trial.suggest_categorical(self.key, self.labels))

    def decode(self, label) -> Any:
        """The configuration value of an Optuna parameter value."""
        return self.choices[self.labels.index(label)]

    def corners(self) -> list:
        """The values checked against the configuration before the search starts."""
        return list(self.choices)

    def grid_values(self) -> list:
        """Every value, for the grid sampler."""
        return list(self.labels)

    def describe(self) -> dict:
        """A JSON-ready description (kept with the study to recognise it on a rerun)."""
        return {"key": self.key, "kind": "choice", "choices": list(self.choices)}


Parameter = FloatRange | IntRange | Choice


def text(value) -> str:
    """A configuration value as the reports write it: lists, tables and booleans as in TOML
    and JSON (``[64, 64]``, ``true``), None as nothing."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict, bool)):
        return json.dumps(value)
    return str(value)


def _closest_hint(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_choice(key: str, values: list, where: str) -> Choice:
    """A list in ``[tune]``: one of its values."""
    if not values:
        raise ConfigError(f"{where}: {key!r} = []: give at least one value to choose from")
    seen = []
    for item in values:
        text = json.dumps(item, sort_keys=True, default=str)
        if text in seen:
            raise ConfigError(f"{where}: {key!r}: the choice {item!r} appears twice")
        seen.append(text)
    return Choice.of(key, list(values))


def parse_range(key: str, spec: dict, types: tuple | None, where: str) -> FloatRange | IntRange:
    """A table ``{ low, high, log, step }`` in ``[tune]``: a float or integer range.

    ``types`` are the TOML types the key accepts (None: decided by the bounds)."""
    for field in spec:
        if field not in RANGE_FIELDS:
            raise ConfigError(f"{where}: {key!r}: unknown range field {field!r}"
                              f"{_closest_hint(field, RANGE_FIELDS)} (a range has low, high "
                              f"and optionally log or step)")
    if types is not None and int not in types and float not in types:
        wanted = " or ".join({str: "a string", list: "a list", bool: "true or false"}
                             .get(kind, kind.__name__) for kind in types)
        raise ConfigError(f"{where}: {key!r} takes {wanted}, not a number: give a list of "
                          f"choices instead of a range")
    missing = [field for field in ("low", "high") if field not in spec]
    if missing:
        raise ConfigError(f"{where}: {key!r}: the range needs {' and '.join(missing)}")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    for field, number in (("low", low), ("high", high)):
        if not _is_number(number) or not math.isfinite(number):
            raise ConfigError(f"{where}: {key!r}: {field} must be a number, got {number!r}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: {key!r}: log must be true or false, got {log!r}")
    if step is not None and (not _is_number(step) or not step > 0):
        raise ConfigError(f"{where}: {key!r}: step must be a positive number, got {step!r}")
    if not low < high:
        raise ConfigError(f"{where}: {key!r}: low must be below high, got low = {low!r}, "
                          f"high = {high!r}")
    if log and step is not None:
        raise ConfigError(f"{where}: {key!r}: give either log = true or a step, not both")
    if log and low <= 0:
        raise ConfigError(f"{where}: {key!r}: a log range needs low > 0, got low = {low!r}")
    integer = (int in types and float not in types) if types is not None else \
        all(isinstance(number, int) for number in (low, high, step or 1))
    if integer:
        for field, number in (("low", low), ("high", high), ("step", step or 1)):
            if not isinstance(number, int):
                raise ConfigError(f"{where}: {key!r} takes integers: {field} must be an "
                                  f"integer, got {number!r}")
    if step is not None:
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
            raise ConfigError(f"{where}: {key!r}: high - low = {high - low!r} is not a "
                              f"multiple of step = {step!r}")
    if integer:
        return IntRange(key, int(low), int(high), step=int(step or 1), log=log)
    return FloatRange(key, float(low), float(high), log=log,
                      step=None if step is None else float(step))


def parse_parameter(key: str, spec: Any, types: tuple | None, where: str) -> Parameter:
    """A ``[tune]`` entry for a configuration key: a list of choices or a range table."""
    if isinstance(spec, list):
        return parse_choice(key, spec, where)
    if isinstance(spec, dict):
        return parse_range(key, spec, types, where)
    raise ConfigError(f"{where}: {key!r} = {spec!r}: give a list of choices (e.g. "
                      f"[0.1, 0.2]) or a range (e.g. {{ low = 0.1, high = 0.5 }})")


def suggest(parameters: list, trial) -> dict:
    """{key: configuration value} for one trial."""
    return {parameter.key: parameter.suggest(trial) for parameter in parameters}


def decode(parameters: list, params: dict) -> dict:
    """A finished trial's Optuna ``params`` as {key: configuration value}."""
    by_key = {parameter.key: parameter for parameter in parameters}
    return {key: by_key[key].decode(label) for key, label in params.items() if key in by_key}
