"""The recipe: everything one run kind decides, in one object resolved from the configuration.

A recipe knows its model type and task, the keys it reads beyond the core ones, the losses and
metrics that fit it (and their defaults), how to read and split its data, how to build its
model (preprocessing included), how to score a model on held-out data beside a trivial
baseline, and what its run folder keeps so ``evaluate`` and ``predict`` need nothing else.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigError
from ...registry import normalize_name
from ..schema import CORE, Key, choice_words, split_name


@dataclass
class Split:
    """A run's data: training arrays (None when read back from a run folder), held-out arrays,
    and ``info``: the JSON facts the run folder keeps (feature names, classes, sizes, ...)."""

    X_train: Any
    y_train: Any
    X_test: Any
    y_test: Any
    info: dict = field(default_factory=dict)


@dataclass
class Scores:
    """Held-out metrics, the same metrics of a trivial baseline, and what else to show: a
    confusion matrix with its class labels, and lines (a sample, an example)."""

    test: dict
    baseline: dict
    baseline_name: str
    confusion: list | None = None
    classes: list | None = None
    lines: list = field(default_factory=list)

    def to_json(self) -> dict:
        """The scores as a JSON-ready dict (plain Python numbers)."""
        return {"test": self.test, "baseline": self.baseline,
                "baseline_name": self.baseline_name, "confusion_matrix": self.confusion,
                "classes": self.classes, "lines": self.lines}

    @classmethod
    def from_json(cls, document: dict) -> "Scores":
        """The scores written by :meth:`to_json`."""
        return cls(document["test"], document["baseline"], document["baseline_name"],
                   document.get("confusion_matrix"), document.get("classes"),
                   list(document.get("lines", [])))


@dataclass
class Prediction:
    """Predictions for the rows of a file: column names, one row of values per input row,
    and notes for the user (e.g. the input columns that were ignored)."""

    columns: list
    rows: list
    notes: list = field(default_factory=list)


def finite_outputs(model, inputs, path: str, what: str = "rows", item: str = "data row"
                   ) -> np.ndarray:
    """The model's outputs for ``inputs`` (the ``what`` of file ``path``, each an ``item``
    counted from 1); NumericalError naming the first whose outputs are NaN or inf."""
    from ...errors import NumericalError
    from ...train import predict
    with np.errstate(all="ignore"):  # NaN or inf outputs are refused below, with a reason
        outputs = predict(model, inputs, batch_size=256)
    broken = np.flatnonzero(~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1))
    if len(broken):
        raise NumericalError(f"predict: the model's outputs are NaN or inf for {len(broken)} "
                             f"of the {len(inputs)} {what} of {path!r} (the first: "
                             f"{item} {int(broken[0]) + 1}), so it predicts nothing for "
                             f"them (its training diverged, or these values are far outside "
                             f"the training data's)")
    return outputs


def plain(value):
    """NumPy scalars and arrays as plain Python numbers and lists (for JSON and messages)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


class Recipe:
    """One run kind. Subclasses set the class attributes and implement ``prepare``,
    ``build_model`` and ``score`` (and, for tabular kinds, reading labelled files and
    predicting)."""

    #: the model.type this recipe trains, and its task
    model_type: ClassVar[str] = ""
    task: ClassVar[str] = ""
    #: "section.key" -> Key: the keys this run kind reads beyond ``schema.CORE``
    keys: ClassVar[dict[str, Key]] = {}
    #: the values of keys left unset: loss.name, train.metrics, and own keys whose default
    #: is not their Key's
    defaults: ClassVar[dict[str, Any]] = {}
    #: the loss.name values that fit (canonical names) and the metric names that fit
    losses: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[str, ...]] = ()
    #: losses of this kind's task that cannot train it: name -> why (the message says it)
    refused_losses: ClassVar[dict[str, str]] = {}
    #: bundled datasets this kind trains on: name -> one line (sequence kinds)
    datasets: ClassVar[dict[str, str]] = {}
    #: what a file of your own (data.path) must be for this kind ("": none is read)
    accepts_path: ClassVar[str] = ""
    #: what ``annie predict RUN_DIR FILE`` reads and writes for this kind ("": refused)
    predicts: ClassVar[str] = ""
    #: the file in the run folder that keeps the held-out data
    heldout_file: ClassVar[str] = "heldout.npz"
    #: the kinds of this model.type, the default (chosen when data.task and loss.name leave
    #: it open) first; set by ``recipes.register``
    family: ClassVar[list] = []

    def __init__(self, config: dict, source: str = "config"):
        self.config = config
        self.source = source
        self.resolve()

    # ----- resolution -------------------------------------------------------------------
    def error(self, message: str) -> ConfigError:
        """A ConfigError that starts with the configuration's source (file name)."""
        return ConfigError(f"{self.source}: {message}")

    def get(self, name: str):
        """The value of "section.key" in the configuration."""
        section, key = split_name(name)
        return self.config[key] if not section else self.config[section][key]

    def put(self, name: str, value) -> None:
        """Set "section.key" in the configuration."""
        section, key = split_name(name)
        (self.config if not section else self.config[section])[key] = value

    def resolve(self) -> None:
        """Fill in the defaults this kind decides and check what only it can check: keys that
        do not apply, the loss and the metrics. Subclasses extend it."""
        for name, key in self.keys.items():
            value = self.get(name)
            if value is None:
                self.put(name, copy.deepcopy(self.defaults.get(name, key.default)))
            elif value is not None and key.choices and value not in key.choices:
                raise self.error(f"{name} must be {choice_words(key.choices)}, got {value!r}")
            elif value is not None and key.check is not None and key.check(value):
                raise self.error(f"{name} {key.check(value)}")
        for name in ("loss.name", "train.metrics"):
            if self.get(name) is None:
                self.put(name, copy.deepcopy(self.defaults.get(name)))
        self._check_loss()
        self._check_metrics()

    def foreign_keys(self, known: dict) -> list[str]:
        """Keys of the whole schema (``known``) that are set but do not apply to this kind."""
        return [name for name in known
                if name not in CORE and name not in self.keys and self.get(name) is not None]

    def _check_loss(self) -> None:
        from ... import losses
        name = self.get("loss.name")
        key = normalize_name(name)
        if key in losses.LOSSES:
            key = losses.LOSSES.canonical(key)
        elif key not in self.losses:
            try:
                losses.LOSSES.canonical(name)
            except ConfigError as error:
                raise self.error(f"loss.name: {error}") from None
        if key in self.refused_losses:
            raise self.error(f"loss.name {name!r}: {self.refused_losses[key]}; valid: "
                             f"{', '.join(self.losses)}")
        if key not in self.losses:
            raise self.error(self.loss_refusal(name))
        self.put("loss.name", key)

    def loss_refusal(self, name: str) -> str:
        """Why loss ``name`` does not fit this kind, with the losses that do."""
        return (f"loss.name {name!r} does not fit model.type {self.model_type!r} "
                f"({self.task}); valid: {', '.join(self.losses)}")

    def _check_metrics(self) -> None:
        from ...train.metrics import METRICS
        names = []
        for metric in self.get("train.metrics"):
            canonical = METRICS.canonical(metric) if metric in METRICS else metric
            if canonical not in self.metrics:
                fits = ", ".join(self.metrics) or "none (train.metrics = [])"
                raise self.error(f"train.metrics: {metric!r} does not fit model.type "
                                 f"{self.model_type!r} ({self.task}); valid: {fits}")
            names.append(canonical)
        self.put("train.metrics", names)

    # ----- what a subclass provides -----------------------------------------------------
    def prepare(self, config_dir: str | None = None) -> Split:
        """Read the data and split it into training and held-out parts."""
        raise NotImplementedError

    def build_model(self, split: Split):
        """The model, sized from the data (and with its preprocessing fitted on the training
        part)."""
        raise NotImplementedError

    def loss_function(self):
        """The loss ``fit`` minimises: its name, or its class form (``losses.Huber(delta=2)``)
        when ``[loss]`` sets options."""
        from ... import losses
        name = self.get("loss.name")
        options = {key: value for key, value in self.config["loss"].items()
                   if key != "name" and value is not None}
        if not options:
            return name
        function = losses.LOSSES.lookup(name)
        forms = list(losses.Loss.__subclasses__())
        while forms:
            form = forms.pop()
            forms.extend(form.__subclasses__())
            if getattr(form, "function", None) is function:
                return form(**options)
        raise self.error(f"loss {name!r} takes no options, got {sorted(options)}")

    def fit_metrics(self, split: Split) -> list:
        """The metrics ``fit`` reports each epoch (names or functions)."""
        return list(self.get("train.metrics"))

    def score(self, model, split: Split) -> Scores:
        """Held-out metrics beside the trivial baseline's."""
        raise NotImplementedError

    # ----- run folders ------------------------------------------------------------------
    def save_heldout(self, split: Split, folder: str) -> str:
        """Write the held-out data into the run folder; returns the file's path."""
        from ...io import atomic_open
        path = os.path.join(folder, self.heldout_file)
        with atomic_open(path, "wb") as handle:
            np.savez(handle, X=split.X_test, y=split.y_test)
        return path

    def heldout_path(self, folder: str) -> str:
        """The held-out data file of a run folder; ConfigError when it is missing."""
        path = os.path.join(folder, self.heldout_file)
        if not os.path.isfile(path):
            raise ConfigError(f"{folder!r} is not a complete run folder: {self.heldout_file} "
                              f"is missing")
        return path

    def load_heldout(self, folder: str, info: dict) -> Split:
        """The held-out data kept in a run folder."""
        with np.load(self.heldout_path(folder), allow_pickle=False) as archive:
            return Split(None, None, archive["X"], archive["y"], info)

    def read_labelled(self, path: str, info: dict) -> Split:
        """Held-out data from a labelled file given to ``annie evaluate RUN_DIR DATA``."""
        raise ConfigError(f"annie evaluate RUN_DIR DATA reads a table of features and targets; "
                          f"a {self.model_type} run is scored on the held-out data kept in its "
                          f"run folder (leave out DATA)")

    def predict_file(self, model, info: dict, path: str, proba: bool = False) -> Prediction:
        """Predictions for the rows of a file (``annie predict``)."""
        raise ConfigError(f"annie predict reads rows of features from a CSV file; this run is a "
                          f"sequence model ({self.model_type}): use annie.load and the model "
                          f"in Python")
