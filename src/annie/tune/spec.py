"""The ``[tune]`` table: the search's settings and its parameters, checked before anything runs.

    [tune]
    metric = "val_loss"            # what a trial is scored by (default: the validation loss)
    direction = "minimize"         # or "maximize" (default: from the metric)
    sampler = "tpe"                # "tpe", "random" or "grid"
    pruner = "median"              # "median" or "none"
    "optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }
    "model.hidden" = [[64], [128], [64, 64]]

Every other key names a configuration key to search over (see ``annie.tune.space``); a key
may also be written as nested tables (``[tune.optimizer]`` with ``lr = {...}``). An unknown
key, a bad range or a value the configuration refuses is a ConfigError naming the key and the
closest valid one.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..train.metrics import HIGHER_IS_BETTER
from . import bridge, space

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
DIRECTIONS = ("minimize", "maximize")

#: setting -> (accepted types, default, description). Defaults of None are decided later.
SETTINGS: dict[str, tuple[tuple[type, ...], object, str]] = {
    "metric": ((str,), "val_loss", "the number a trial is scored by: a name fit reports each "
                                   "epoch (val_loss, val_accuracy, ...)"),
    "direction": ((str,), None, "'minimize' or 'maximize' (default: maximize for accuracy, "
                                "precision, recall, f1, r2; else minimize)"),
    "sampler": ((str,), "tpe", "how trials are chosen: 'tpe' (Bayesian), 'random' or 'grid'"),
    "pruner": ((str,), "median", "'median': stop a trial whose metric after an epoch is worse "
                                 "than the median of earlier trials at that epoch; 'none'"),
    "sampler_seed": ((int,), None, "seed of the sampler for a repeatable search (worker k of "
                                   "--workers uses seed + k); unset: a fresh search each time"),
    "sampler_startup_trials": ((int,), 10, "tpe: random trials before the model-based ones"),
    "pruner_startup_trials": ((int,), 5, "median: trials that finish before any is pruned"),
    "pruner_warmup_epochs": ((int,), 0, "median: epochs a trial runs before it can be pruned"),
}


@dataclass
class TuneSpec:
    """The parsed ``[tune]`` table: settings (every key of ``SETTINGS``) and parameters."""

    settings: dict
    parameters: list = field(default_factory=list)

    @property
    def metric(self) -> str:
        """The metric a trial is scored by."""
        return self.settings["metric"]

    @property
    def direction(self) -> str:
        """'minimize' or 'maximize'."""
        return self.settings["direction"]

    def describe(self) -> dict:
        """A JSON-ready description (kept with the study to recognise it on a rerun)."""
        return {"settings": dict(self.settings),
                "parameters": [parameter.describe() for parameter in self.parameters]}


def _unknown(key: str, where: str) -> ConfigError:
    candidates = [*SETTINGS, *bridge.all_keys()]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint} (settings: {', '.join(SETTINGS)}; "
                       f"or a configuration key such as 'optimizer.lr')")


def _flatten(table: dict, prefix: str, valid: set, where: str) -> dict:
    """Nested tables ({"optimizer": {"lr": {...}}}) as {"optimizer.lr": {...}}; a table under
    a configuration key is that key's range."""
    flat = {}
    for name, item in table.items():
        key = f"{prefix}{name}"
        if isinstance(item, dict) and key not in valid and key not in bridge.FIXED_KEYS \
                and not any(field in item for field in space.RANGE_FIELDS):
            if not item:
                raise _unknown(key, where)
            flat.update(_flatten(item, f"{key}.", valid, where))
        else:
            flat[key] = item
    return flat


def _setting(name: str, value, where: str):
    types = SETTINGS[name][0]
    if isinstance(value, bool) or not isinstance(value, types):
        wanted = "a string" if str in types else "an integer"
        raise ConfigError(f"{where}: {name} must be {wanted}, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ConfigError(f"{where}: {name} must be >= 0, got {value}")
    choices = {"direction": DIRECTIONS, "sampler": SAMPLERS, "pruner": PRUNERS}.get(name)
    if choices and value not in choices:
        close = difflib.get_close_matches(str(value).lower(), choices, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{where}: unknown {name} {value!r}{hint} (valid: "
                          f"{', '.join(choices)})")
    return value


def _check_metric(settings: dict, config: dict, where: str, trial_value: str = "") -> None:
    """The metric is one that training reports each epoch; ``trial_value`` ("train.metrics =
    ['f1']") names the searched value that this configuration has, when it is one."""
    metric = settings["metric"]
    reported = bridge.epoch_metrics(config)
    if metric.startswith("val_") and not bridge.has_validation(config):
        raise ConfigError(f"{where}: metric {metric!r} is measured on validation data: set "
                          f"train.validation_split (e.g. 0.2); the test split stays untouched")
    if metric in reported:
        return
    if trial_value:
        raise ConfigError(f"{where}: metric {metric!r} is not reported by a trial with "
                          f"{trial_value} (it reports: {', '.join(reported)}); remove that "
                          f"choice or score by another metric")
    close = difflib.get_close_matches(metric, reported, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"{where}: unknown metric {metric!r}{hint} (training reports: "
                      f"{', '.join(reported)}; add metrics to train.metrics)")


def _check_comparable(settings: dict, parameters: list, config: dict, where: str) -> None:
    """Trials must be scored on one scale: a searched key may not change what the metric
    itself measures (the loss's own keys when the metric is the loss; train.top_k when it is
    the top-k accuracy)."""
    metric = settings["metric"]
    measured = metric.removeprefix("val_")
    for parameter in parameters:
        if measured == "loss" and parameter.key.startswith("loss."):
            others = [name for name in bridge.epoch_metrics(config)
                      if name.startswith("val_") and name != "val_loss"]
            example = others[0] if others else "val_accuracy or val_rmse"
            raise ConfigError(f"{where}: {parameter.key!r} cannot be searched with metric "
                              f"{metric!r}: it changes the loss that {metric} measures, so "
                              f"trials would be compared on different scales; score them by "
                              f"a metric of their predictions (e.g. metric = {example!r}, "
                              f"listed in train.metrics)")
        if measured == "top_k_accuracy" and parameter.key == "train.top_k":
            raise ConfigError(f"{where}: 'train.top_k' cannot be searched with metric "
                              f"{metric!r}: it changes what {metric} measures")


def parse(table: dict, config: dict, where: str) -> TuneSpec:
    """Check the ``[tune]`` table against the configuration ``config``; ``where`` names the
    file in messages. Each value a parameter can take is checked by the configuration itself
    (``bridge.apply``) so a bad choice fails now, not in the middle of the search."""
    where = f"{where} [tune]"
    valid = set(bridge.valid_keys())
    settings = {name: default for name, (_, default, _) in SETTINGS.items()}
    parameters = []
    for key, item in _flatten(table, "", valid, where).items():
        if key in SETTINGS:
            settings[key] = _setting(key, item, where)
        elif key in bridge.FIXED_KEYS:
            raise ConfigError(f"{where}: {key!r} cannot be searched: {bridge.FIXED_KEYS[key]}")
        elif key in valid:
            parameters.append(space.parse_parameter(key, item, bridge.key_types(key), where))
        else:
            raise _unknown(key, where)
    if not parameters:
        raise ConfigError(f"{where}: nothing to search: name at least one configuration key, "
                          f"e.g. \"optimizer.lr\" = {{ low = 1e-4, high = 1e-1, log = true }}")
    if settings["direction"] is None:
        name = settings["metric"].removeprefix("val_")
        settings["direction"] = "maximize" if name in HIGHER_IS_BETTER else "minimize"
    _check_metric(settings, config, where)
    _check_comparable(settings, parameters, config, where)
    for parameter in parameters:
        for candidate in parameter.corners():
            value = f"{parameter.key} = {candidate!r}"
            trial_config = bridge.apply(config, {parameter.key: candidate}, f"{where} {value}")
            _check_metric(settings, trial_config, where, value)
    if settings["sampler"] == "grid":
        for parameter in parameters:
            parameter.grid_values()
    return TuneSpec(settings=settings, parameters=parameters)


def from_description(description: dict) -> TuneSpec:
    """The TuneSpec that :meth:`TuneSpec.describe` wrote (a worker reads it from the study)."""
    parameters = []
    for item in description["parameters"]:
        kind = item["kind"]
        if kind == "float":
            parameters.append(space.FloatRange(item["key"], item["low"], item["high"],
                                               log=item["log"], step=item["step"]))
        elif kind == "int":
            parameters.append(space.IntRange(item["key"], item["low"], item["high"],
                                             step=item["step"], log=item["log"]))
        else:
            parameters.append(space.Choice.of(item["key"], item["choices"]))
    return TuneSpec(settings=dict(description["settings"]), parameters=parameters)
