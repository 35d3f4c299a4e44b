"""The RNN tab: a recurrent network on a sequence task, with the gradient at every time step.

The model is annie's many-to-one model (``nn.SequenceRegressor`` for the adding problem and the
sine wave, ``nn.SequenceClassifier`` for the digits) with a tanh RNN, an LSTM or a GRU. Where
``annie train`` has a recipe for the task (the sine series, the digits), its recipe reads and
splits the data and builds the model, so the exported configuration trains the same run.
Recurrent initialisation: ``default`` (PyTorch's uniform), ``orthogonal`` (each gate's block of
W_hh orthogonal) or ``identity`` (the IRNN of Le, Jaitly & Hinton 2015: a ReLU RNN with
W_hh = I, zero biases and W_ih ~ N(0, 0.001^2)).

Measured while training: the loss, the global gradient norm before clipping, the share of steps
that clipping cut, and ||dL/dh_t|| at every time step t of a fixed held-out batch
(:func:`annie.diagnostics.gradient_flow`), which shows vanishing or exploding gradients as they
happen.
"""
from __future__ import annotations

import math
import os
from collections import deque

import numpy as np

from .. import backend, init, losses, nn
from ..app import config as app_config
from ..diagnostics import gradient_flow
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor
from .controls import ControlError
from .lab import Lab
from .sequence_tasks import ADDING_BASELINE, FIXED_LENGTH, adding, sine_series

SERIES_FILE = "data.csv"  # the sine task's series, read by annie train's recipe
DIGITS_TEST_SIZE = 0.2
SINE_TEST_SIZE = 0.2
PROBE_SEQUENCES = 32  # held-out sequences on which ||dL/dh_t|| is measured
RECENT_STEPS = 100  # steps over which the recent clipped share is counted


def orthogonal_blocks_(weight, hidden_size: int) -> None:
    """Make each gate's (hidden, hidden) block of a W_hh orthogonal (annie.init.orthogonal_)."""
    for start in range(0, weight.shape[0], hidden_size):
        block = nn.Parameter(np.empty((hidden_size, hidden_size), weight.dtype))
        init.orthogonal_(block)
        weight.data[start:start + hidden_size] = block.data


def identity_rnn_(layer: nn.RNN) -> None:
    """IRNN initialisation: W_hh = I, biases 0, W_ih ~ N(0, 0.001^2) (Le et al. 2015)."""
    for name, param in layer.named_parameters():
        if name.startswith("weight_hh"):
            init.zeros_(param)
            param.data[np.diag_indices(layer.hidden_size)] = 1.0
        elif name.startswith("weight_ih"):
            init.normal_(param, 0.0, 0.001)
        else:
            init.zeros_(param)


class RnnLab(Lab):
    """Settings, data, model and training of the RNN tab (see ``controls.RNN_CONTROLS``)."""

    kind = "rnn"
    curve_names = ("train_loss", "test_loss", "grad_norm")

    def check(self, settings: dict) -> None:
        """Identity initialisation is the IRNN: it needs the plain RNN cell."""
        if settings["init"] == "identity" and settings["cell"] != "rnn":
            raise ControlError("init", f"Recurrent init: identity is the IRNN (a ReLU RNN with "
                                       f"W_hh = I); choose the cell rnn, not {settings['cell']}")

    @property
    def sequence_length(self) -> int:
        """T of the task (fixed for the digits)."""
        return FIXED_LENGTH.get(self.settings["task"], self.settings["steps"])

    def configuration(self, epochs: int = 1) -> dict | None:
        """The ``annie train`` configuration of this tab's run, or None when annie train has
        no recipe for the task (the adding problem)."""
        settings = self.settings
        task = settings["task"]
        if task == "adding":
            return None
        config = app_config.default_config()
        config["seed"] = settings["seed"]
        if task == "digits":
            config["data"].update(dataset="digits_rows", test_size=DIGITS_TEST_SIZE)
            config["model"]["type"] = "sequence_classifier"
        else:
            config["data"].update(path=os.path.join(self.folder, SERIES_FILE), target="value",
                                  window=settings["steps"], horizon=1,
                                  test_size=SINE_TEST_SIZE)
            config["model"]["type"] = "sequence_regressor"
        config["model"].update(cell=settings["cell"], hidden_size=settings["hidden_size"])
        config["optimizer"].update(name=settings["optimizer"], lr=settings["lr"])
        config["train"].update(epochs=epochs, batch_size=settings["batch_size"],
                               clip_grad_norm=settings["clip_norm"] if settings["clip"] else 0.0)
        return config

    def data_text(self) -> str:
        """The sine task's series as a CSV column "value" (what annie train reads)."""
        series = sine_series(self.settings["noise"], self.settings["seed"])
        return "value\n" + "".join(f"{value!r}\n" for value in series.tolist())

    def build(self) -> None:
        """Task data, model (with its recurrent initialisation) and loss from the settings."""
        settings = self.settings
        config = self.configuration()
        if config is None:  # the adding problem
            self.X_train, self.y_train, self.X_test, self.y_test = adding(settings["steps"],
                                                                          settings["seed"])
            self.task, self.baseline = "regression", (ADDING_BASELINE, "always 1")
            self.num_classes = 0
            backend.manual_seed(settings["seed"])
            model = nn.SequenceRegressor(input_size=2, hidden_size=settings["hidden_size"],
                                         cell=settings["cell"])
            loss = "mse"
        else:
            if settings["task"] == "sine":
                with open(config["data"]["path"], "w", encoding="utf-8") as handle:
                    handle.write(self.data_text())
            recipe = app_config.validate(config, "playground")
            split = recipe.prepare()
            backend.manual_seed(settings["seed"])  # as annie train: seed, then the model
            model = recipe.build_model(split)
            loss = recipe.get("loss.name")
            self.X_train, self.y_train = split.X_train, split.y_train
            self.X_test, self.y_test = split.X_test, split.y_test
            if settings["task"] == "digits":
                self.task, self.num_classes = "classification", len(split.info["classes"])
                self.baseline = (None, f"majority class {split.info['majority']}")
            else:
                self.task, self.num_classes = "regression", 0
                persistence = float(np.mean((self.X_test[:, -1] - self.y_test) ** 2))
                self.baseline = (persistence, "next = last")
        self.model = self.initialise(model)
        self.loss = losses.get_loss(loss)
        self.loss_sum, self.loss_count, self.norm_sum = 0.0, 0, 0.0
        self.clipped_total = 0
        self.recent_clipped: deque = deque(maxlen=RECENT_STEPS)
        self.step_norms: list[float] = []
        self.step_norms_at = -1

    def initialise(self, model: nn.Module) -> nn.Module:
        """The chosen recurrent initialisation (default: the model's own)."""
        settings, layer = self.settings, model.encoder.rnn
        if settings["init"] == "identity":
            model.encoder.rnn = nn.RNN(layer.input_size, layer.hidden_size, nonlinearity="relu")
            identity_rnn_(model.encoder.rnn)
        elif settings["init"] == "orthogonal":
            for name, param in layer.named_parameters():
                if name.startswith("weight_hh"):
                    orthogonal_blocks_(param, layer.hidden_size)
        return model

    # ----- training ----------------------------------------------------------------------
    def train_step(self) -> float:
        value = super().train_step()
        if np.isfinite(value):
            self.loss_sum += value
            self.loss_count += 1
        return value

    def after_backward(self) -> None:
        """Clip the global gradient norm (when on) and count it and whether clipping cut it."""
        threshold = self.settings["clip_norm"] if self.settings["clip"] else math.inf
        norm = float(clip_grad_norm_(self.model.parameters(), threshold))
        self.norm_sum += norm
        cut = bool(self.settings["clip"] and norm > self.settings["clip_norm"])
        self.clipped_total += cut
        self.recent_clipped.append(cut)

    def measure_steps(self) -> None:
        """||dL/dh_t|| for every t (mean over a held-out batch of the per-sample norms)."""
        count = min(PROBE_SEQUENCES, len(self.X_test))
        flow = gradient_flow(self.model, self.loss, self.X_test[:count], self.y_test[:count])
        norms = next(iter(flow.hidden_grad_norm.values()))
        self.step_norms = [float(value) for value in norms]
        self.step_norms_at = self.steps

    def record(self) -> None:
        """Mean training loss and gradient norm over the steps since the last record, the
        held-out loss (and accuracy), and the per-step gradient norms."""
        test_outputs = self.predict(self.X_test)
        test_loss = float(self.loss(Tensor(test_outputs), Tensor(self.y_test)).data)
        if self.loss_count:
            train_loss = self.loss_sum / self.loss_count
            grad_norm = self.norm_sum / self.loss_count
        else:
            train_loss, grad_norm = self.loss_of(self.X_train[:256], self.y_train[:256]), \
                float("nan")
        self.loss_sum, self.loss_count, self.norm_sum = 0.0, 0, 0.0
        self.metrics = {"train_loss": train_loss, "test_loss": test_loss,
                        "baseline": self.baseline[0], "baseline_name": self.baseline[1]}
        if self.task == "classification":
            self.metrics["test_accuracy"] = float(np.mean(test_outputs.argmax(axis=1)
                                                          == self.y_test))
        self.examples = [[float(target), float(output)] for target, output in
                         zip(self.y_test[:6], test_outputs[:6])] \
            if self.task == "regression" else []
        self.history.add(epoch=self.epoch, train_loss=train_loss, test_loss=test_loss,
                         grad_norm=grad_norm)
        self.measure_steps()

    def snapshot(self) -> dict:
        """Settings, curves, metrics, per-step gradient norms and clipping as JSON."""
        state = super().snapshot()
        recent = list(self.recent_clipped)
        state.update(
            metrics=self.metrics, task=self.task, sequence_length=self.sequence_length,
            examples=self.examples,
            step_gradients={"norms": self.step_norms, "measured_at_step": self.step_norms_at,
                            "probe_sequences": min(PROBE_SEQUENCES, len(self.X_test))},
            clipping={"enabled": self.settings["clip"], "threshold": self.settings["clip_norm"],
                      "clipped_steps": self.clipped_total,
                      "fraction": self.clipped_total / self.steps if self.steps else 0.0,
                      "recent_fraction": sum(recent) / len(recent) if recent else 0.0})
        return state
