"""Run configurations in TOML for ``annie train``: reading, ``--set`` overrides, validation, and
writing the resolved configuration back. Every problem is a ConfigError with one clear message.

A configuration has a top-level ``seed`` and the sections ``[data]``, ``[model]``, ``[loss]``,
``[optimizer]`` and ``[train]`` (and ``[generate]`` for the character model preset); see
``SCHEMA``, ``annie.presets`` (the recurrent presets) and ``examples/configs/``.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import os
import sys
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED = object()  # marks a key without a default

# section -> key -> (accepted types, default, description). Top-level keys live in "".
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any, str]]] = {
    "": {
        "seed": ((int,), 0, "seed of every random choice (split, initialisation, shuffling)"),
    },
    "data": {
        "dataset": ((str,), None, "a bundled dataset (annie list), or leave out and give path"),
        "path": ((str,), None, "a CSV or .npz file with the data"),
        "target": ((str, int), -1, "CSV target column: its name or index (default: the last)"),
        "test_size": ((float,), 0.2, "fraction of the samples held out for the final test"),
        "scale": ((str,), "standard", "feature scaling: 'standard', 'minmax' or 'none'"),
        "task": ((str,), "auto", "'classification', 'regression' or 'auto' (from the loss)"),
        # sequence presets (annie.presets); unset: the preset's default
        "window": ((int,), None, "sunspots: past years per window (default 12)"),
        "horizon": ((int,), None, "sunspots: years to forecast (default 1)"),
        "seq_len": ((int,), None, "shakespeare: characters per training window (default 64)"),
        "n_samples": ((int,), None, "bracket_depth, date_pairs: samples generated (default "
                                    "2000, 4000)"),
        "reverse_source": ((bool,), None, "date_pairs: the encoder reads the source reversed "
                                          "(default true)"),
    },
    "model": {
        "type": ((str,), "mlp", "model family (see annie.run.MODEL_BUILDERS)"),
        "hidden": ((list,), [128], "sizes of the hidden layers, e.g. [128, 64]"),
        "activation": ((str,), "relu", "activation after each hidden layer"),
        "dropout": ((float,), 0.0, "dropout probability after each hidden activation "
                                   "(recurrent models: between stacked layers)"),
        # sequence models (annie.presets); unset: the model class's default
        "cell": ((str,), None, "recurrent cell: 'lstm', 'gru' or 'rnn' (tanh)"),
        "hidden_size": ((int,), None, "recurrent hidden state size"),
        "num_layers": ((int,), None, "stacked recurrent layers"),
        "embedding_dim": ((int,), None, "token embedding size (token inputs)"),
        "bidirectional": ((bool,), None, "read sequences in both directions"),
    },
    "loss": {
        "name": ((str,), "cross_entropy", "loss function (annie list)"),
    },
    "optimizer": {  # any further key is passed to the optimizer (checked against its arguments)
        "name": ((str,), "adam", "optimizer (annie list)"),
        "lr": ((float,), 1e-3, "learning rate"),
    },
    "train": {
        "epochs": ((int,), 30, "passes over the training data"),
        "batch_size": ((int,), 32, "samples per gradient step"),
        "metrics": ((list,), ["accuracy"], "metric names reported each epoch and on the test set"),
        "validation_split": ((float,), 0.0, "fraction of the training data used for validation"),
        "clip_grad_norm": ((float,), 0.0, "clip the global gradient norm to this (0: off)"),
        "early_stopping_patience": ((int,), 0, "stop after this many epochs without improvement "
                                               "of val_loss (0: off; needs validation_split)"),
        "checkpoint_every": ((int,), 0, "write the run folder's checkpoint every N batches "
                                        "(0: at the end of each epoch); see --resume"),
    },
    "generate": {  # model.type = "char_lm": the sample printed after training
        "prompt": ((str,), None, "text the sample starts from (default 'ROSALIND. ')"),
        "length": ((int,), None, "characters to generate (default 200; 0: no sample)"),
        "temperature": ((float,), None, "sampling temperature (default 0.8; 0: most likely)"),
    },
}
OPEN_SECTIONS = {"optimizer"}  # sections whose extra keys are passed on
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list",
               bool: "true or false"}


def default_config() -> dict:
    """The configuration with every default filled in."""
    config: dict = {}
    for section, keys in SCHEMA.items():
        target = config if section == "" else config.setdefault(section, {})
        for key, (_, default, _) in keys.items():
            target[key] = copy.deepcopy(default)
    return config


def _where(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def _valid_keys() -> list[str]:
    return [_where(section, key) for section, keys in SCHEMA.items() for key in keys] + \
        [section for section in SCHEMA if section]


def _unknown_key(name: str, source: str) -> ConfigError:
    close = difflib.get_close_matches(name, _valid_keys(), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{source}: unknown key {name!r}{hint}")


def _check_type(value: Any, types: tuple, name: str, source: str) -> Any:
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        wanted = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise ConfigError(f"{source}: {name} must be {wanted}, got {value!r} "
                          f"({type(value).__name__})")
    return value


def merge(config: dict, document: dict, source: str) -> dict:
    """Copy the keys of a parsed TOML document over ``config``, checking names and types."""
    for name, value in document.items():
        if name in SCHEMA[""]:
            types = SCHEMA[""][name][0]
            config[name] = _check_type(value, types, name, source)
        elif name in SCHEMA and name != "":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {name!r} must be a table [{name}], got {value!r}")
            for key, item in value.items():
                where = f"{name}.{key}"
                if key in SCHEMA[name]:
                    config[name][key] = _check_type(item, SCHEMA[name][key][0], where, source)
                elif name in OPEN_SECTIONS:
                    config[name][key] = item
                else:
                    raise _unknown_key(where, source)
        else:
            raise _unknown_key(name, source)
    return config


def parse_override(text: str) -> dict:
    """``"train.epochs=5"`` -> ``{"train": {"epochs": 5}}``; the value is read as TOML, or as a
    plain string when it is not valid TOML (``optimizer.name=sgd``)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. train.epochs=5")
    name, raw = (part.strip() for part in text.split("=", 1))
    if not name:
        raise ConfigError(f"--set {text!r}: the key is empty")
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    section, _, key = name.rpartition(".")
    if not section:
        return {key: value}
    if "." in section:
        raise _unknown_key(name, f"--set {text!r}")
    return {section: {key: value}}


def read_toml(path: str | os.PathLike) -> dict:
    """Parse a TOML file; a missing file or a syntax error is a ConfigError naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} not found")
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None


def load_config(path: str | os.PathLike | None = None, overrides: list[str] = (),
                base: dict | None = None) -> dict:
    """Defaults (or ``base``), then the TOML file, then each ``--set key=value``; validated."""
    config = copy.deepcopy(base) if base is not None else default_config()
    if path is not None:
        merge(config, read_toml(path), os.fspath(path))
    for text in overrides:
        merge(config, parse_override(text), f"--set {text!r}")
    validate(config, os.fspath(path) if path is not None else "config")
    return config


def _closest(name: str, choices, what: str, source: str) -> ConfigError:
    close = difflib.get_close_matches(str(name).lower(), list(choices), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{source}: unknown {what} {name!r}{hint} (valid: {', '.join(choices)})")


def validate(config: dict, source: str = "config") -> None:
    """Check values and names against what annie has (datasets, losses, optimizers, ...)."""
    from . import data, losses, presets
    from .nn import activation_module
    from .train.metrics import get_metric

    if config["seed"] < 0:
        raise ConfigError(f"{source}: seed must be >= 0, got {config['seed']}")
    section = config["data"]
    if (section["dataset"] is None) == (section["path"] is None):
        raise ConfigError(f"{source}: give exactly one of data.dataset (a bundled set) and "
                          f"data.path (a file)")
    datasets = list(dict.fromkeys([*data.list_datasets(), *presets.DATASETS]))
    if section["dataset"] is not None and section["dataset"] not in datasets:
        raise _closest(section["dataset"], datasets, "dataset", source)
    if section["path"] is not None and not os.path.isfile(section["path"]):
        raise ConfigError(f"{source}: data.path {section['path']!r}: file not found")
    if not 0.0 < section["test_size"] < 1.0:
        raise ConfigError(f"{source}: data.test_size must be between 0 and 1, got "
                          f"{section['test_size']}")
    for key, choices in (("scale", ("standard", "minmax", "none")),
                         ("task", ("auto", "classification", "regression"))):
        if section[key] not in choices:
            raise _closest(section[key], choices, f"data.{key}", source)
    model = config["model"]
    from .run import MODEL_BUILDERS
    if model["type"] not in MODEL_BUILDERS and model["type"] not in presets.MODEL_TYPES:
        raise _closest(model["type"], [*MODEL_BUILDERS, *presets.MODEL_TYPES], "model.type",
                       source)
    if presets.is_sequence(config):
        presets.validate(config, source)
    elif section["dataset"] not in (None, *data.list_datasets()):
        kind = presets.DATASETS[section["dataset"]][0]
        raise ConfigError(f"{source}: data.dataset {section['dataset']!r} is a sequence "
                          f"dataset: set model.type = {kind!r}")
    if not all(isinstance(size, int) and not isinstance(size, bool) and size > 0
               for size in model["hidden"]):
        raise ConfigError(f"{source}: model.hidden must be a list of positive integers, got "
                          f"{model['hidden']!r}")
    if not 0.0 <= model["dropout"] < 1.0:
        raise ConfigError(f"{source}: model.dropout must be in [0, 1), got {model['dropout']}")
    try:
        activation_module(model["activation"])
        if not presets.is_sequence(config):  # a sequence preset's loss is checked above
            losses.get_loss(config["loss"]["name"])
        for metric in config["train"]["metrics"]:
            get_metric(metric)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    _validate_optimizer(config["optimizer"], source)
    train = config["train"]
    for key in ("epochs", "batch_size"):
        if train[key] <= 0:
            raise ConfigError(f"{source}: train.{key} must be positive, got {train[key]}")
    if not 0.0 <= train["validation_split"] < 1.0:
        raise ConfigError(f"{source}: train.validation_split must be in [0, 1), got "
                          f"{train['validation_split']}")
    if train["early_stopping_patience"] > 0 and train["validation_split"] == 0.0:
        raise ConfigError(f"{source}: train.early_stopping_patience needs "
                          f"train.validation_split > 0")


def _validate_optimizer(section: dict, source: str) -> None:
    from . import optim
    name = section["name"]
    if name.lower() not in optim.OPTIMIZERS:
        raise _closest(name, optim.OPTIMIZERS, "optimizer", source)
    accepted = [p for p in inspect.signature(optim.get_optimizer(name)).parameters
                if p not in ("self", "params")]
    for key, value in section.items():
        if key == "name":
            continue
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.5)
            hint = f"; did you mean 'optimizer.{close[0]}'?" if close else ""
            raise ConfigError(f"{source}: optimizer {name!r} has no argument {key!r}{hint} "
                              f"(accepted: {', '.join(accepted)})")
        if isinstance(value, (dict,)):
            raise ConfigError(f"{source}: optimizer.{key} must be a number, a boolean or a "
                              f"list, got a table")


def optimizer_arguments(section: dict) -> dict:
    """The keyword arguments for the optimizer class (lists become tuples, e.g. betas)."""
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in section.items() if key != "name"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def to_toml(config: dict) -> str:
    """The configuration as TOML text (None values, i.e. unset keys, are left out)."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in config.items()
             if not isinstance(value, dict) and value is not None]
    for section, table in config.items():
        if isinstance(table, dict) and any(value is not None for value in table.values()):
            lines.append(f"\n[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items()
                         if value is not None)
    return "\n".join(lines) + "\n"
