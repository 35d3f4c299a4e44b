"""What a tab exports: the trained model (``.annie``), the data file it trained on, a TOML
configuration that trains the same run with ``annie train``, and the equivalent Python.

The configuration is the tab's own (``Lab.configuration``: the labs train through
``annie train``'s recipes), checked by ``annie.app.config.validate`` before it is handed out,
with ``data.path`` naming the data file beside it. A run ``annie train`` cannot express is
refused with a message that says why (:class:`ExportError`).
"""
from __future__ import annotations

import copy
import math
import os

from .. import __version__, backend, nn, optim
from ..app import config as app_config
from ..errors import AnnieError
from ..io import save
from .lab import Lab
from .rnn_lab import TEST_SEQUENCES, TRAIN_SEQUENCES

DATA_FILE = "data.csv"
KEPT = {("data", "test_size"), ("model", "type"), ("loss", "name"), ("train", "epochs"),
        ("train", "batch_size")}  # written even when equal to the default, for the reader


class ExportError(AnnieError):
    """The tab's run cannot be exported in the asked form."""


def problems(lab: Lab) -> dict[str, str | None]:
    """Per export ("model", "config", "data", "code"): why the tab's run cannot be exported in
    that form, or None when it can."""
    settings = lab.settings
    found = dict.fromkeys(("model", "config", "data", "code"))
    if lab.kind == "rnn":
        if settings["task"] == "digits":
            found["data"] = "the digits are bundled with annie (data.dataset = 'digits_rows')"
        elif settings["task"] == "adding":
            found["data"] = ("annie makes the adding problem's sequences from the seed "
                             "(data.dataset = 'adding_problem')")
    return found


def _refuse(lab: Lab, what: str) -> None:
    problem = problems(lab)[what]
    if problem:
        raise ExportError(f"{what}: {problem}")


def epochs_trained(lab: Lab) -> int:
    """The epochs trained so far, rounded up (at least 1)."""
    return max(1, math.ceil(lab.epoch - 1e-9))


def model_bytes(lab: Lab, folder: str) -> bytes:
    """The trained model as an ``.annie`` file (written in ``folder``, returned as bytes)."""
    _refuse(lab, "model")
    path = os.path.join(folder, "model.annie")
    outer = backend.get_rng_state()  # save() rebuilds the model once to check it
    try:
        save(lab.model, path)
    finally:
        backend.set_rng_state(outer)
    with open(path, "rb") as handle:
        return handle.read()


def data_csv(lab: Lab) -> str:
    """The data file the run trains on: the MLP tab's points (two feature columns and the
    label) or the sine task's series."""
    _refuse(lab, "data")
    return lab.data_text()


def config_toml(lab: Lab) -> str:
    """The run as TOML for ``annie train`` (with DATA_FILE beside it where it reads a file),
    checked by annie's configuration validator; keys at their defaults are left out."""
    _refuse(lab, "config")
    config = lab.configuration(epochs_trained(lab))
    app_config.validate(copy.deepcopy(config), "playground export")
    notes = []
    if config["data"]["path"] is not None:
        config["data"]["path"] = DATA_FILE  # read relative to the configuration file
        notes.append(f"train it again: annie train config.toml, with {DATA_FILE} beside it")
    header = [f"# annie {__version__} playground: {describe_run(lab)}",
              *[f"# {note}" for note in notes]]
    return "\n".join(header) + "\n" + app_config.to_toml(_without_defaults(config))


def _without_defaults(config: dict) -> dict:
    """The configuration less the keys that hold their default (annie train fills them in)."""
    defaults = app_config.default_config()
    return {key: value if not isinstance(value, dict) else
            {name: item for name, item in value.items()
             if (key, name) in KEPT or key == "optimizer" or item != defaults[key].get(name)}
            for key, value in config.items()}


def describe_run(lab: Lab) -> str:
    """One line naming the run (data, model, optimizer, epochs)."""
    settings = lab.settings
    if lab.kind == "mlp":
        layers = "-".join(str(size) for size in lab.layer_sizes())
        return (f"{lab.data.source or settings['dataset']} data, MLP {layers} "
                f"({settings['activation']}), {settings['loss']}, {settings['optimizer']} "
                f"lr={settings['lr']:g}, {lab.epoch:.1f} epochs")
    return (f"{settings['task']} task (T={lab.sequence_length}), {settings['cell'].upper()} "
            f"hidden {settings['hidden_size']} ({settings['init']} init), {settings['optimizer']} "
            f"lr={settings['lr']:g}, {lab.epoch:.1f} epochs")


# ----- the equivalent Python ------------------------------------------------------------------
def _layer_code(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return f"nn.Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, nn.Dropout):
        return f"nn.Dropout({layer.p!r})"
    if isinstance(layer, nn.Normalization):
        fitted_on = "y_train.reshape(-1, 1)" if layer.invert else "X_train"
        invert = ", invert=True" if layer.invert else ""
        return f"nn.Normalization({layer.num_features}{invert}).adapt({fitted_on})"
    return f"nn.{type(layer).__name__}()"


def _optimizer_code(settings: dict) -> str:
    name = optim.get_optimizer(settings["optimizer"]).__name__
    decay = f", weight_decay={settings['l2']!r}" if settings.get("l2") else ""
    return f"optimizer = optim.{name}(model.parameters(), lr={settings['lr']!r}{decay})"


def _mlp_code(lab: Lab, epochs: int) -> list[str]:
    settings = lab.settings
    classification = lab.task == "classification"
    dtype = "" if classification else ', target_dtype="float32"'
    lines = ["import annie", "from annie import data, losses, nn, optim", "",
             f'X, y = data.load_csv("{DATA_FILE}", target="label"{dtype})  '
             f"# the playground's points",
             "X_train, X_test, y_train, y_test = data.train_test_split(",
             f"    X, y, test_size={lab.test_size!r}, stratify={classification}, "
             f"seed={settings['seed']})"]
    loss = settings["loss"]
    target = lab.recipe.head.target if classification else "values"
    if target == "binary":
        lines.append("y_train, y_test = y_train.astype('float32'), y_test.astype('float32')"
                     + ("  # hinge reads 0/1 as -1/+1" if loss == "hinge" else ""))
    elif target == "one_hot":
        lines.append(f"y_train, y_test = data.one_hot(y_train, {lab.data.num_classes}), "
                     f"data.one_hot(y_test, {lab.data.num_classes})  # target distributions")
    layers = ",\n    ".join(_layer_code(layer) for layer in lab.model.layers)
    lines += ["", f"annie.manual_seed({settings['seed']})",
              f"model = nn.Sequential(\n    {layers},\n)", _optimizer_code(settings),
              f"history = annie.fit(model, losses.{loss}, optimizer, X_train, y_train, "
              f"epochs={epochs}, batch_size={lab.batch_size},",
              f"                    validation_data=(X_test, y_test), seed={settings['seed']})",
              f"print(annie.evaluate(model, losses.{loss}, X_test, y_test))",
              'annie.save(model, "model.annie")']
    return lines


def _rnn_data_code(lab: Lab) -> list[str]:
    settings = lab.settings
    if settings["task"] == "adding":
        count = TRAIN_SEQUENCES + TEST_SEQUENCES
        return [f"annie.manual_seed({settings['seed']})  # the sequences come from annie's "
                f"generator",
                f"X, y = data.make_adding_problem({count}, {settings['steps']})  # the adding "
                f"problem, T = {settings['steps']}",
                f"X_train, y_train, X_test, y_test = X[:{TRAIN_SEQUENCES}], "
                f"y[:{TRAIN_SEQUENCES}], X[{TRAIN_SEQUENCES}:], y[{TRAIN_SEQUENCES}:]"]
    test_size = lab.configuration()["data"]["test_size"]
    if settings["task"] == "digits":
        return ["X, y = data.load_digits()",
                "X_train, X_test, y_train, y_test = data.train_test_split(",
                f"    (X / 16.0).reshape(-1, 8, 8), y, test_size={test_size!r}, stratify=True, "
                f"seed={settings['seed']})"]
    return ["import numpy as np",
            f'series = np.loadtxt("{DATA_FILE}", skiprows=1)  # the playground\'s series',
            f"window = {settings['steps']}  # T: the past values the model reads",
            "count = len(series) - window",
            f"n_test = max(1, round(count * {test_size!r}))",
            "cut = count - n_test  # windows before the cut train, the last n_test test",
            "training = series[:cut + window]  # the part the training windows cover",
            "loc, scale = float(training.mean()), float(training.std())  # the model's level, unit",
            "X, y = data.make_windows(series.astype('float32'), window)",
            "X_train, y_train, X_test, y_test = X[:cut], y[:cut], X[-n_test:], y[-n_test:]"]


def _rnn_code(lab: Lab, epochs: int) -> list[str]:
    settings = lab.settings
    layer = lab.model.encoder.rnn
    options = {"default": ""}.get(settings["init"], f", recurrent_init={settings['init']!r}")
    if getattr(layer, "nonlinearity", "tanh") != "tanh":  # the IRNN
        options = f", nonlinearity={layer.nonlinearity!r}{options}"
    if lab.task == "classification":
        model = (f"nn.SequenceClassifier(input_size={layer.input_size}, hidden_size="
                 f"{layer.hidden_size}, num_classes={lab.num_classes}, cell={settings['cell']!r}"
                 f"{options})")
        loss = "cross_entropy"
    else:
        if settings["task"] == "sine":  # the model standardises its windows: (x - loc) / scale
            options += ", scale=scale, loc=loc"
        model = (f"nn.SequenceRegressor(input_size={layer.input_size}, hidden_size="
                 f"{layer.hidden_size}, cell={settings['cell']!r}{options})")
        loss = "mse"
    lines = ["import annie", "from annie import data, losses, nn, optim",
             "from annie.diagnostics import gradient_flow", "", *_rnn_data_code(lab), "",
             f"annie.manual_seed({settings['seed']})", f"model = {model}"]
    clip = f", clip_grad_norm={settings['clip_norm']!r}" if settings["clip"] else ""
    lines += [_optimizer_code(settings),
              f"history = annie.fit(model, losses.{loss}, optimizer, X_train, y_train, "
              f"epochs={epochs},",
              f"                    batch_size={lab.batch_size}{clip}, "
              f"validation_data=(X_test, y_test), seed={settings['seed']})",
              f"flow = gradient_flow(model, losses.{loss}, X_test[:32], y_test[:32])",
              "print(flow.summary())  # ||dL/dh_t|| at every time step t",
              'annie.save(model, "model.annie")']
    return lines


def python_code(lab: Lab, epochs: int | None = None) -> str:
    """A script that trains the tab's run with annie's Python API (``epochs`` default: the
    epochs trained so far, rounded up)."""
    epochs = epochs_trained(lab) if epochs is None else epochs
    body = _mlp_code(lab, epochs) if lab.kind == "mlp" else _rnn_code(lab, epochs)
    return "\n".join([f'"""annie playground: {describe_run(lab)}."""', *body]) + "\n"
