"""What a tab exports: the trained model (``.annie``), the data it trained on (CSV), a TOML
configuration that trains the same run with ``annie train``, and the equivalent Python.

The configuration is written against annie's configuration schema (``annie.config``) and
checked by it before it is handed out. A run that ``annie train`` cannot express is refused
with a message that says why (:class:`ExportError`).
"""
from __future__ import annotations

import io
import math
import os

import numpy as np

from .. import __version__, backend, config as run_config, nn
from ..errors import AnnieError
from ..io import save
from .lab import Lab

DATA_FILE = "data.csv"
LABEL_COLUMN = "label"
#: losses ``annie train`` trains on a CSV in this version (it builds no output layer or target
#: encoding for the binary losses and KL divergence yet)
CONFIG_LOSSES = ("cross_entropy", "mse", "mae", "rmse", "huber", "log_cosh", "mean_bias_error")


class ExportError(AnnieError):
    """The tab's run cannot be exported in the asked form."""


def problems(lab: Lab) -> dict[str, str | None]:
    """Per export ("model", "config", "data", "code"): why the tab's run cannot be exported in
    that form, or None when it can."""
    settings = lab.settings
    found = dict.fromkeys(("model", "config", "data", "code"))
    if lab.kind == "mlp" and settings["loss"] not in CONFIG_LOSSES:
        found["config"] = (f"annie train in this version trains {', '.join(CONFIG_LOSSES)} "
                           f"from a CSV, not {settings['loss']}; train.py trains this run")
    if lab.kind == "rnn":
        found["data"] = "the RNN tab's sequences are made by the Python code (train.py)"
        if settings["task"] != "digits":
            found["config"] = (f"annie train has no recipe for the {settings['task']} task in "
                               f"this version of annie; use train.py")
        if settings["init"] == "identity":
            found["model"] = ("the IRNN's ReLU layer sits inside a sequence model whose saved "
                              "architecture records a tanh RNN; train.py rebuilds it")
    return found


def _refuse(lab: Lab, what: str) -> None:
    problem = problems(lab)[what]
    if problem:
        raise ExportError(f"{what}: {problem}")


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
    """The MLP tab's points in their original order and units, with a header: the two
    feature columns and the label (class index 0..K-1, or the numeric target)."""
    _refuse(lab, "data")
    names = [name.replace(",", " ") for name in lab.data.feature_names]
    buffer = io.StringIO()
    buffer.write(",".join([*names, LABEL_COLUMN]) + "\n")
    integer = lab.task == "classification"
    for (first, second), label in zip(lab.data.X.tolist(), lab.data.y.tolist()):
        target = str(int(label)) if integer else repr(float(label))
        buffer.write(f"{first!r},{second!r},{target}\n")
    return buffer.getvalue()


def _epochs(lab: Lab) -> int:
    return max(1, math.ceil(lab.epoch - 1e-9))


def run_configuration(lab: Lab) -> tuple[dict, list[str]]:
    """(configuration for ``annie train``, comment lines) of the tab's run."""
    _refuse(lab, "config")
    settings = lab.settings
    config = run_config.default_config()
    config["seed"] = settings["seed"]
    config["optimizer"] = {"name": settings["optimizer"], "lr": settings["lr"]}
    train = config["train"]
    train.update(epochs=_epochs(lab), batch_size=lab.batch_size)
    notes = []
    if lab.kind == "mlp":
        config["data"].update(path=DATA_FILE, target=LABEL_COLUMN, test_size=lab.test_size,
                              scale="none" if lab.scaler is None else "standard", task=lab.task)
        config["model"].update(hidden=lab.hidden, activation=settings["activation"],
                               dropout=settings["dropout"])
        config["loss"]["name"] = settings["loss"]
        config["optimizer"]["weight_decay"] = settings["l2"]
        train["metrics"] = ["accuracy"] if lab.task == "classification" else ["mae", "rmse"]
        notes.append(f"run it in the folder that holds {DATA_FILE} (the points of the "
                     f"playground): annie train config.toml")
    else:
        config["data"].update(dataset="digits_rows", test_size=0.2)
        config["model"].update(type="sequence_classifier", cell=settings["cell"],
                               hidden_size=settings["hidden_size"])
        config["loss"]["name"] = "cross_entropy"
        train["clip_grad_norm"] = settings["clip_norm"] if settings["clip"] else 0.0
        if settings["init"] != "default":
            notes.append(f"the playground used the {settings['init']} recurrent "
                         f"initialisation; annie train starts from the default one")
    return config, notes


def config_toml(lab: Lab, folder: str) -> str:
    """The run as TOML for ``annie train``, checked by annie's configuration validator
    (with the data file written beside it in ``folder`` for the check)."""
    config, notes = run_configuration(lab)
    if lab.kind == "mlp":
        path = os.path.join(folder, DATA_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(data_csv(lab))
        config["data"]["path"] = path
        run_config.validate(config, "playground export")
        config["data"]["path"] = DATA_FILE
    else:
        run_config.validate(config, "playground export")
    header = [f"# annie {__version__} playground: {describe_run(lab)}",
              *[f"# {note}" for note in notes]]
    return "\n".join(header) + "\n" + run_config.to_toml(_without_defaults(config))


KEPT = {("data", "test_size"), ("model", "type"), ("loss", "name"), ("train", "epochs"),
        ("train", "batch_size")}  # written even when equal to the default, for the reader


def _without_defaults(config: dict) -> dict:
    """The configuration less the keys that hold their default (annie train fills them in)."""
    defaults = run_config.default_config()
    pruned = {}
    for key, value in config.items():
        if not isinstance(value, dict):
            pruned[key] = value
            continue
        pruned[key] = {name: item for name, item in value.items()
                       if (key, name) in KEPT or key == "optimizer"
                       or item != defaults.get(key, {}).get(name)}
    return pruned


def describe_run(lab: Lab) -> str:
    """One line naming the run (data, model, optimizer, epochs)."""
    settings = lab.settings
    if lab.kind == "mlp":
        layers = "-".join(str(size) for size in [2, *lab.hidden, lab.head()[0]])
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
    return f"nn.{type(layer).__name__}()"


def _optimizer_code(settings: dict) -> str:
    from .. import optim
    name = optim.get_optimizer(settings["optimizer"]).__name__
    decay = f", weight_decay={settings['l2']!r}" if settings.get("l2") else ""
    return f"optimizer = optim.{name}(model.parameters(), lr={settings['lr']!r}{decay})"


def _mlp_code(lab: Lab, epochs: int) -> list[str]:
    settings = lab.settings
    stratify = "True" if lab.task == "classification" else "False"
    lines = ["import annie", "from annie import data, losses, nn, optim", "",
             f'X, y = data.load_csv("{DATA_FILE}", target="{LABEL_COLUMN}"' +
             (', target_dtype="float32")' if lab.task == "regression" else ")") +
             "  # the playground's points",
             f"X_train, X_test, y_train, y_test = data.train_test_split(",
             f"    X, y, test_size={lab.test_size!r}, stratify={stratify}, "
             f"seed={settings['seed']})"]
    if lab.scaler is not None:
        lines += ["scaler = data.StandardScaler()",
                  "X_train, X_test = scaler.fit_transform(X_train), scaler.transform(X_test)"]
    loss = settings["loss"]
    if lab.task == "regression" or loss in ("binary_cross_entropy",
                                            "binary_cross_entropy_with_logits"):
        lines.append("y_train, y_test = (t.astype('float32').reshape(-1, 1) "
                     "for t in (y_train, y_test))")
    elif loss == "hinge":
        lines.append("y_train, y_test = (2 * t.astype('float32').reshape(-1, 1) - 1 "
                     "for t in (y_train, y_test))  # hinge targets -1/+1")
    elif loss == "kl_divergence":
        lines.append(f"y_train, y_test = (data.one_hot(t, {lab.data.num_classes}) "
                     f"for t in (y_train, y_test))  # target distributions")
    layers = ",\n    ".join(_layer_code(layer) for layer in lab.model.layers)
    lines += ["", f"annie.manual_seed({settings['seed']})", f"model = nn.Sequential(\n    {layers},\n)",
              _optimizer_code(settings),
              f"history = annie.fit(model, losses.{loss}, optimizer, X_train, y_train, "
              f"epochs={epochs}, batch_size={lab.batch_size},",
              f"                    validation_data=(X_test, y_test), seed={settings['seed']})",
              f"print(annie.evaluate(model, losses.{loss}, X_test, y_test))",
              'annie.save(model, "model.annie")']
    return lines


def _rnn_code(lab: Lab, epochs: int) -> list[str]:
    settings = lab.settings
    model_class = "SequenceClassifier" if lab.data.task == "classification" else \
        "SequenceRegressor"
    classes = f", num_classes={lab.data.num_classes}" if lab.data.task == "classification" \
        else ""
    loss = "cross_entropy" if lab.data.task == "classification" else "mse"
    lines = ["import annie", "from annie import losses, nn, optim",
             "from annie.diagnostics import gradient_flow",
             "from annie.playground import sequence_tasks", "",
             f"data = sequence_tasks.make({settings['task']!r}, steps={settings['steps']}, "
             f"noise={settings['noise']!r}, seed={settings['seed']})",
             f"annie.manual_seed({settings['seed']})",
             f"model = nn.{model_class}(input_size={lab.X_train.shape[-1]}, "
             f"hidden_size={settings['hidden_size']}{classes}, cell={settings['cell']!r})"]
    if settings["init"] == "orthogonal":
        lines += ["from annie.playground.rnn_lab import orthogonal_blocks_",
                  "for name, param in model.encoder.rnn.named_parameters():",
                  "    if name.startswith('weight_hh'):",
                  f"        orthogonal_blocks_(param, {settings['hidden_size']})"]
    elif settings["init"] == "identity":
        lines += ["from annie.playground.rnn_lab import identity_rnn_",
                  f"model.encoder.rnn = nn.RNN({lab.X_train.shape[-1]}, "
                  f"{settings['hidden_size']}, nonlinearity='relu')  # the IRNN",
                  "identity_rnn_(model.encoder.rnn)"]
    clip = f", clip_grad_norm={settings['clip_norm']!r}" if settings["clip"] else ""
    lines += [_optimizer_code(settings),
              f"history = annie.fit(model, losses.{loss}, optimizer, data.X_train, data.y_train, "
              f"epochs={epochs},",
              f"                    batch_size={lab.batch_size}{clip}, "
              f"validation_data=(data.X_test, data.y_test), seed={settings['seed']})",
              f"flow = gradient_flow(model, losses.{loss}, data.X_test[:32], data.y_test[:32])",
              "print(flow.summary())  # ||dL/dh_t|| at every time step t"]
    if not problems(lab)["model"]:
        lines.append('annie.save(model, "model.annie")')
    return lines


def python_code(lab: Lab, epochs: int | None = None) -> str:
    """A script that trains the tab's run with annie's Python API (``epochs`` default: the
    epochs trained so far, rounded up)."""
    epochs = _epochs(lab) if epochs is None else epochs
    body = _mlp_code(lab, epochs) if lab.kind == "mlp" else _rnn_code(lab, epochs)
    return "\n".join([f'"""annie playground: {describe_run(lab)}."""', *body]) + "\n"
