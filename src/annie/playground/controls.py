"""The playground's controls: one declarative table per tab, checked in one place.

Each control has a kind (int, float, choice, bool, sizes), a default and its valid range or
choices. The page builds its sliders and menus from :func:`describe` (one source of truth), and
every change it sends goes through :func:`apply_changes`, which refuses a bad value with a
:class:`ControlError` naming the control, the value and what is valid. ``rebuild`` marks the
controls whose change needs a new model (data, architecture, loss, optimizer); the others
(learning rate, batch size, L2, clipping) act on the running training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

#: the lecture's activations (annie.nn.activation_module names) offered for hidden layers
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "elu", "selu", "gelu", "silu",
               "softplus", "softsign", "hard_sigmoid", "identity")
#: the seven optimizers of the lecture (annie.optim.OPTIMIZERS names)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "adadelta", "nadam", "adamw")
#: losses for class labels and for numeric targets (annie.losses names)
CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits", "hinge", "kl_divergence")
BINARY_ONLY_LOSSES = ("binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge")
REGRESSION_LOSSES = ("mse", "mae", "rmse", "huber", "log_cosh")
#: the lecture's losses that cannot train a model: name -> why (annie train refuses them too)
UNTRAINABLE_LOSSES = {"mean_bias_error": "the mean bias error mean(y - f(x)) has no minimum "
                                         "(it falls without end as the predictions grow), so "
                                         "it cannot train a model; it measures bias"}
MAX_LAYERS = 6
MAX_NEURONS = 8
#: gate values one training step of the RNN tab may keep for backpropagation through time,
#: batch size x T x hidden size x gates (1 RNN, 3 GRU, 4 LSTM): 2**23 float32 values, 32 MiB.
#: It bounds a session's memory and a mini-batch's time (an LSTM with hidden size 128 over
#: T = 200 takes batches up to 81), so a control waits at most one short mini-batch.
WORKSPACE_LIMIT = 2 ** 23
#: gates per recurrent cell (W_ih is gates x hidden by inputs)
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


class ControlError(ConfigError):
    """A control got a value it cannot take; ``control`` names it (shown beside it)."""

    def __init__(self, control: str, message: str):
        super().__init__(message)
        self.control = control


@dataclass(frozen=True)
class Control:
    """One control of the page: its kind, default, valid range or choices, and whether a
    change needs a new model (``rebuild``)."""

    name: str
    kind: str  # "int", "float", "choice", "bool" or "sizes" (a list of layer widths)
    default: Any
    label: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    rebuild: bool = True
    log: bool = False  # values over decades (a rate): typed in, not slid

    def describe(self) -> dict:
        """The control as JSON for the page."""
        return {"name": self.name, "kind": self.kind, "default": self.default,
                "label": self.label, "low": self.low, "high": self.high,
                "choices": list(self.choices), "rebuild": self.rebuild, "log": self.log}

    def check(self, value: Any) -> Any:
        """``value`` converted to this control's type, or ControlError saying what is valid."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise self._error(value, "true or false")
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise self._error(value, "one of " + ", ".join(self.choices))
            return value
        if self.kind == "sizes":
            return self._check_sizes(value)
        number = self._number(value)
        if self.kind == "int":
            if number != int(number):
                raise self._error(value, self._range_text())
            number = int(number)
        if not self.low <= number <= self.high:
            raise self._error(value, self._range_text())
        return number

    def _number(self, value: Any) -> float:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self._error(value, self._range_text()) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise self._error(value, self._range_text())
        return value

    def _range_text(self) -> str:
        if self.kind == "int":  # every digit: a seed's bound is 2147483647, not 2.14748e+09
            return f"a whole number from {int(self.low)} to {int(self.high)}"
        return f"a number from {self.low:g} to {self.high:g}"

    def _check_sizes(self, value: Any) -> list[int]:
        wanted = (f"a list of up to {int(self.high)} layer sizes, each a whole number from 1 "
                  f"to {MAX_NEURONS}")
        if not isinstance(value, list) or len(value) > self.high:
            raise self._error(value, wanted)
        for size in value:
            if isinstance(size, bool) or not isinstance(size, int) \
                    or not 1 <= size <= MAX_NEURONS:
                raise self._error(value, wanted)
        return list(value)

    def _error(self, value: Any, wanted: str) -> ControlError:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return ControlError(self.name, f"{self.label}: {shown} is not valid; expected {wanted}")


def _controls(*items: Control) -> dict[str, Control]:
    return {item.name: item for item in items}


MLP_CONTROLS = _controls(
    Control("dataset", "choice", "circle", "Data",
            choices=("circle", "xor", "gaussians", "spiral", "upload")),
    Control("noise", "float", 0.1, "Noise", 0.0, 0.5),
    Control("train_ratio", "float", 0.5, "Training share", 0.1, 0.9),
    Control("samples", "int", 400, "Points", 40, 1000),
    Control("seed", "int", 0, "Seed", 0, 2 ** 31 - 1),
    Control("hidden", "sizes", [4, 2], "Hidden layers", 0, MAX_LAYERS),
    Control("activation", "choice", "tanh", "Activation", choices=ACTIVATIONS),
    Control("loss", "choice", "cross_entropy", "Loss",
            choices=CLASSIFICATION_LOSSES + REGRESSION_LOSSES + tuple(UNTRAINABLE_LOSSES)),
    Control("optimizer", "choice", "sgd", "Optimizer", choices=OPTIMIZERS),
    Control("lr", "float", 0.03, "Learning rate", 1e-5, 10.0, rebuild=False, log=True),
    Control("batch_size", "int", 10, "Batch size", 1, 1000, rebuild=False),
    Control("l2", "float", 0.0, "L2 (weight decay)", 0.0, 1.0, rebuild=False, log=True),
    Control("dropout", "float", 0.0, "Dropout", 0.0, 0.9),
    Control("single_neuron", "bool", False, "Single neuron"),
)

RNN_CONTROLS = _controls(
    Control("task", "choice", "adding", "Task", choices=("adding", "sine", "digits")),
    Control("steps", "int", 30, "Sequence length T", 2, 200),
    Control("noise", "float", 0.05, "Noise", 0.0, 0.5),
    Control("cell", "choice", "rnn", "Cell", choices=("rnn", "lstm", "gru")),
    Control("init", "choice", "default", "Recurrent init",
            choices=("default", "orthogonal", "identity")),
    Control("hidden_size", "int", 32, "Hidden size", 1, 128),
    Control("seed", "int", 0, "Seed", 0, 2 ** 31 - 1),
    Control("optimizer", "choice", "adam", "Optimizer", choices=OPTIMIZERS),
    Control("lr", "float", 0.003, "Learning rate", 1e-5, 10.0, rebuild=False, log=True),
    Control("batch_size", "int", 32, "Batch size", 1, 512, rebuild=False),
    Control("clip", "bool", True, "Gradient clipping", rebuild=False),
    Control("clip_norm", "float", 1.0, "Clip threshold", 1e-3, 100.0, rebuild=False, log=True),
)

CONTROLS = {"mlp": MLP_CONTROLS, "rnn": RNN_CONTROLS}


def defaults(lab: str) -> dict:
    """The default settings of a tab."""
    return {name: (list(c.default) if isinstance(c.default, list) else c.default)
            for name, c in CONTROLS[lab].items()}


def apply_changes(lab: str, current: dict, changes: Any) -> tuple[dict, bool]:
    """The settings after ``changes`` (a JSON object of control -> value) and whether the model
    must be rebuilt. Unknown controls and bad values are ControlErrors; nothing is changed then."""
    table = CONTROLS[lab]
    if not isinstance(changes, dict):
        raise ControlError("", f"settings must be a JSON object of control -> value, got "
                               f"{type(changes).__name__}")
    updated = dict(current)
    rebuild = False
    for name, value in changes.items():
        control = table.get(name)
        if control is None:
            raise ControlError(str(name), f"unknown control {str(name)[:40]!r}; the {lab} tab "
                                          f"has {', '.join(table)}")
        checked = control.check(value)
        if checked != current[name]:
            updated[name] = checked
            rebuild = rebuild or control.rebuild
    return updated, rebuild


def describe(lab: str) -> list[dict]:
    """Every control of a tab as JSON (kind, default, range, choices)."""
    return [control.describe() for control in CONTROLS[lab].values()]
