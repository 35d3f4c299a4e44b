"""The one place where ``annie.tune`` meets the run configuration (``annie.app``): reading a
configuration with its ``[tune]`` table, the keys a search may set, applying a trial's values,
training one configuration with extra ``fit`` callbacks, and writing a configuration as TOML.

Everything else in ``annie.tune`` works on plain dicts (a validated configuration) and
"section.key" names.
"""
from __future__ import annotations

import copy
import inspect
import math
import os
from dataclasses import dataclass

from ..errors import ConfigError, NumericalError

TUNE_SECTION = "tune"

#: Keys a search may not set: they change the data the metric is measured on (or where it
#: comes from), so trials would not be comparable.
FIXED_KEYS = {
    "data.dataset": "it selects the data",
    "data.path": "it selects the data",
    "data.features": "it selects the data",
    "data.drop": "it selects the data",
    "data.header": "it is how the data file is read",
    "data.delimiter": "it is how the data file is read",
    "data.target": "it selects what is predicted",
    "data.task": "it selects what is predicted",
    "data.test_size": "it changes the held-out split",
    "data.horizon": "it selects what is predicted",
    "data.n_samples": "it changes the generated data the metric is measured on",
    "data.steps": "it changes the generated data the metric is measured on",
    "data.max_samples": "it changes the data the metric is measured on",
    "train.validation_split": "it changes the data the metric is measured on",
    "seed": "it changes which samples are in the training, validation and test splits, so "
            "the search would pick the luckiest split",
}
#: Arguments of an optimizer, scheduler or loss that a configuration never sets.
_NOT_SETTABLE = {"self", "params", "optimizer", "last_epoch", "prediction", "target",
                 "reduction", "logits"}


def config_path(argument: str) -> str:
    """A configuration named on the command line: a file, or an installed preset's name."""
    from ..app import presets
    return presets.config_path(argument)


def read_document(path: str | os.PathLike) -> dict:
    """The parsed TOML file (a ConfigError names a missing file or a syntax error)."""
    from ..app import config as run_config
    return run_config.read_toml(path)


def split_document(document: dict) -> tuple[dict, dict]:
    """(the configuration's own tables, the ``[tune]`` table or {})."""
    document = dict(document)
    tune_table = document.pop(TUNE_SECTION, {})
    if not isinstance(tune_table, dict):
        raise ConfigError(f"'{TUNE_SECTION}' must be a table [{TUNE_SECTION}], got "
                          f"{tune_table!r}")
    return document, tune_table


def split_overrides(overrides) -> tuple[list[str], dict]:
    """``--set`` texts as (the configuration's own, {key: value} for the ``[tune]`` table):
    ``tune.sampler=random`` sets a setting, ``tune.optimizer.lr=[0.01, 0.1]`` a parameter."""
    from ..app import config as run_config
    own, tune_values = [], {}
    for text in overrides:
        name, _, raw = text.partition("=")
        if name.strip().startswith(f"{TUNE_SECTION}.") and raw:
            key = name.strip()[len(TUNE_SECTION) + 1:]
            tune_values[key] = run_config.parse_override(f"value={raw}")["value"]
        else:
            own.append(text)
    return own, tune_values


def load(document: dict, source: str, overrides: tuple | list = (),
         base_dir: str | None = None) -> dict:
    """The validated, resolved configuration: defaults, then ``document`` (no ``[tune]``;
    a relative data.path is read from ``base_dir``), then each ``--set key=value``."""
    from ..app import config as run_config
    config = run_config.default_config()
    run_config.merge(config, document, source, base_dir)
    for text in overrides:
        run_config.merge(config, run_config.parse_override(text), f"--set {text!r}")
    run_config.validate(config, source)
    return config


def _open_section_keys() -> list[str]:
    """Every argument of every optimizer, scheduler and loss (``optimizer.momentum``, ...)."""
    from .. import losses, optim
    names: dict[str, None] = {}
    for section, registry in (("optimizer", optim.OPTIMIZERS), ("scheduler", optim.SCHEDULERS),
                              ("loss", losses.LOSSES)):
        for name in registry.names():
            for argument, parameter in inspect.signature(registry.lookup(name)).parameters \
                    .items():
                if argument not in _NOT_SETTABLE and parameter.kind not in (
                        parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                    names[f"{section}.{argument}"] = None
    return list(names)


def valid_keys() -> list[str]:
    """Every "section.key" a trial may set ("seed" at the top level)."""
    from ..app import config as run_config
    keys = list(run_config.schema())
    keys += [key for key in _open_section_keys() if key not in keys]
    return [key for key in keys if key not in FIXED_KEYS]


def all_keys() -> list[str]:
    """Every configuration key, the fixed ones included (for 'did you mean' hints)."""
    return [*valid_keys(), *FIXED_KEYS]


def key_types(key: str) -> tuple[type, ...] | None:
    """The TOML types ``key`` accepts (e.g. ``(int,)``), or None where the schema leaves it
    open (an optimizer's, scheduler's or loss's own argument)."""
    from ..app import config as run_config
    variants = run_config.schema().get(key)
    if variants is None:
        return None
    return tuple(dict.fromkeys(kind for variant, _ in variants for kind in variant.types))


def apply(config: dict, values: dict, source: str) -> dict:
    """A validated copy of ``config`` with ``values`` ({"section.key": value}) set."""
    from ..app import config as run_config
    document: dict = {}
    for key, value in values.items():
        section, _, name = key.rpartition(".")
        if section:
            document.setdefault(section, {})[name] = copy.deepcopy(value)
        else:
            document[name] = copy.deepcopy(value)
    updated = copy.deepcopy(config)
    run_config.merge(updated, document, source)
    run_config.validate(updated, source)
    return updated


def epoch_metrics(config: dict) -> list[str]:
    """The names training reports after each epoch: ``loss``, the configured metrics, and the
    same with ``val_`` when a validation split is set."""
    names = ["loss", *(config["train"]["metrics"] or [])]
    if has_validation(config):
        names += [f"val_{name}" for name in names]
    return names


def has_validation(config: dict) -> bool:
    """Whether training holds out validation data (``train.validation_split`` > 0)."""
    return config["train"]["validation_split"] > 0


@dataclass
class Trained:
    """What one training run gives a trial: its History and the index of the epoch whose
    weights the model ends with (the best val_loss epoch under early stopping)."""

    history: object
    kept_epoch: int


def train(config: dict, callbacks: list) -> Trained:
    """Train ``config`` silently, writing no files and never scoring the held-out (test)
    data, with ``callbacks`` added to ``fit``; NumericalError when the training diverged (a
    batch loss became NaN or inf)."""
    from ..app import run
    from ..train.callbacks import TerminateOnNaN
    terminate = TerminateOnNaN()   # fit's own guard, kept here to see whether it stopped
    result = run.train_config(config, None, verbose=0, callbacks=(*callbacks, terminate),
                              score=False)
    history = result.history
    if terminate.stopped_batch is not None:
        raise NumericalError(history.stop_reason or "the loss became NaN or inf")
    kept = len(history) - 1
    if config["train"]["early_stopping_patience"] > 0 and "val_loss" in history.history:
        # EarlyStopping restores the weights of the first epoch with the lowest val_loss
        finite = [(loss, index) for index, loss in enumerate(history["val_loss"])
                  if math.isfinite(loss)]
        kept = min(finite)[1] if finite else kept
    return Trained(history=history, kept_epoch=kept)


def to_toml(config: dict) -> str:
    """The configuration as TOML text, ready for ``annie train``."""
    from ..app import config as run_config
    return run_config.to_toml(config)
