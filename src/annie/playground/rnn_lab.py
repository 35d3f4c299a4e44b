"""The RNN tab: a recurrent network on a sequence task, with the gradient at every time step.

Tasks: the adding problem (a long-term dependency: ``annie.data.make_adding_problem``; always
answering the mean scores MSE about 1/6), forecasting a noisy sum of two sine waves from its
last T values, and the 8x8 digits read row by row (many-to-one classification). Each goes
through ``annie train``'s recipe (``annie.app``): the recipe makes and splits the data and
builds annie's many-to-one model (``nn.SequenceRegressor`` or ``nn.SequenceClassifier``) with a
tanh RNN, an LSTM or a GRU, so the exported configuration trains the same run.

Recurrent initialisation: ``default`` (PyTorch's uniform), ``orthogonal`` (each gate's block of
W_hh orthogonal) or ``identity`` (the IRNN of Le, Jaitly & Hinton 2015: a ReLU RNN with
W_hh = I and zero biases), as ``nn.RNN``'s ``recurrent_init`` makes them (the recipe's
``model.recurrent_init`` and ``model.nonlinearity``, so the IRNN saves and exports as one).

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

from .. import backend, losses
from ..app import config as app_config
from ..diagnostics import gradient_flow
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor
from . import controls
from .controls import GATES, WORKSPACE_LIMIT, ControlError
from .lab import Lab

SERIES_FILE = "data.csv"  # the sine task's series, read by annie train's recipe
TRAIN_SEQUENCES, TEST_SEQUENCES = 2000, 200  # the adding problem's split
SINE_STEPS = 1200  # length of the sine series
TEST_SIZE = {"adding": round(TEST_SEQUENCES / (TRAIN_SEQUENCES + TEST_SEQUENCES), 6),
             "sine": 0.2, "digits": 0.2}
FIXED_LENGTH = {"digits": 8}  # tasks whose sequence length the T control does not set
CELL_NAMES = {"rnn": "an RNN", "gru": "a GRU", "lstm": "an LSTM"}
#: the controls that set a training step's workspace, in the order a refusal names them
WORKSPACE_CONTROLS = ("batch_size", "steps", "hidden_size", "cell", "task")
PROBE_SEQUENCES = 32  # held-out sequences on which ||dL/dh_t|| is measured
RECENT_STEPS = 100  # steps over which the recent clipped share is counted


def sine_series(noise: float, seed: int, length: int = SINE_STEPS) -> np.ndarray:
    """x_t = sin(2 pi t / 25) + 0.5 sin(2 pi t / 7) + N(0, noise^2), t from a random phase."""
    generator = np.random.default_rng(seed)
    t = np.arange(length) + generator.uniform(0, 25)
    series = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7)
    return (series + generator.normal(0.0, noise, length)).astype(np.float32)


def sequence_length(settings: dict) -> int:
    """T of the settings' task (fixed for the digits)."""
    return FIXED_LENGTH.get(settings["task"], settings["steps"])


def sequence_workspace(settings: dict) -> int:
    """Gate values one sequence keeps for backpropagation through time: T x hidden x gates."""
    return sequence_length(settings) * settings["hidden_size"] * GATES[settings["cell"]]


def check_workspace(settings: dict, changed: tuple = ()) -> None:
    """ControlError when a training step would keep more than WORKSPACE_LIMIT gate values
    (batch size x T x hidden size x gates), naming the first of ``changed`` that sets it and
    the largest value it may take here."""
    batch = settings["batch_size"]
    values = batch * sequence_workspace(settings)
    if values <= WORKSPACE_LIMIT:
        return
    name = next((name for name in changed if name in WORKSPACE_CONTROLS), "batch_size")
    length, hidden = sequence_length(settings), settings["hidden_size"]
    per_unit = {"batch_size": values // batch, "steps": values // length,
                "hidden_size": values // hidden}
    label = controls.RNN_CONTROLS[name].label
    if name in per_unit:
        fix = f"here the {label[0].lower() + label[1:]} can be at most " \
              f"{WORKSPACE_LIMIT // per_unit[name]}"
    else:
        fix = f"lower the batch size to at most {WORKSPACE_LIMIT // per_unit['batch_size']}"
    raise ControlError(name, f"{label}: {settings[name]!r} needs too much memory: "
                             f"{CELL_NAMES[settings['cell']]} with hidden size {hidden} over "
                             f"T = {length} steps and batch size {batch} keeps {values:,} gate "
                             f"values per training step; the playground's limit is "
                             f"{WORKSPACE_LIMIT:,} ({WORKSPACE_LIMIT * 4 // 2 ** 20} MiB): "
                             f"{fix}")


class RnnLab(Lab):
    """Settings, data, model and training of the RNN tab (see ``controls.RNN_CONTROLS``)."""

    kind = "rnn"
    curve_names = ("train_loss", "test_loss", "grad_norm")
    measure_when_built = False  # the gradient at every time step can take a second

    @property
    def sequence_length(self) -> int:
        """T of the task (fixed for the digits)."""
        return sequence_length(self.settings)

    def check(self, settings: dict, changed: tuple = ()) -> None:
        """A training step's workspace must stay within WORKSPACE_LIMIT (see
        ``check_workspace``)."""
        check_workspace(settings, changed)

    def evaluation_rows(self) -> int:
        """Sequences evaluated at once: as many as a training batch may hold at most."""
        return max(1, WORKSPACE_LIMIT // sequence_workspace(self.settings))

    def configuration(self, epochs: int = 1) -> dict:
        """The ``annie train`` configuration of this tab's run."""
        settings = self.settings
        task = settings["task"]
        config = app_config.default_config()
        config["seed"] = settings["seed"]
        config["data"]["test_size"] = TEST_SIZE[task]
        if task == "digits":
            config["data"]["dataset"] = "digits_rows"
            config["model"]["type"] = "sequence_classifier"
        elif task == "adding":
            config["data"].update(dataset="adding_problem", steps=settings["steps"],
                                  n_samples=TRAIN_SEQUENCES + TEST_SEQUENCES)
            config["model"]["type"] = "sequence_regressor"
        else:
            config["data"].update(path=os.path.join(self.folder, SERIES_FILE), target="value",
                                  window=settings["steps"], horizon=1)
            config["model"]["type"] = "sequence_regressor"
        config["model"].update(cell=settings["cell"], hidden_size=settings["hidden_size"])
        if settings["init"] != "default":  # the identity one with the plain RNN: the IRNN
            config["model"]["recurrent_init"] = settings["init"]
            if settings["init"] == "identity" and settings["cell"] == "rnn":
                config["model"]["nonlinearity"] = "relu"
        config["optimizer"].update(name=settings["optimizer"], lr=settings["lr"])
        config["train"].update(epochs=epochs, batch_size=settings["batch_size"],
                               clip_grad_norm=settings["clip_norm"] if settings["clip"] else 0.0)
        return config

    def data_text(self) -> str:
        """The sine task's series as a CSV column "value" (what annie train reads)."""
        series = sine_series(self.settings["noise"], self.settings["seed"])
        return "value\n" + "".join(f"{value!r}\n" for value in series.tolist())

    def build(self) -> None:
        """Task data and model (its recurrent initialisation included) by annie train's
        recipe."""
        settings = self.settings
        config = self.configuration()
        if settings["task"] == "sine":
            with open(config["data"]["path"], "w", encoding="utf-8") as handle:
                handle.write(self.data_text())
        recipe = app_config.validate(config, "playground")
        split = recipe.prepare()
        backend.manual_seed(settings["seed"])  # as annie train: seed, then the model
        model = recipe.build_model(split)
        self.X_train, self.y_train = split.X_train, split.y_train
        self.X_test, self.y_test = split.X_test, split.y_test
        if settings["task"] == "digits":
            self.task, self.num_classes = "classification", len(split.info["classes"])
            self.baseline = (None, f"majority class {split.info['majority']}")
        elif settings["task"] == "adding":
            self.task, self.num_classes = "regression", 0
            mean = float(self.y_train.mean())
            self.baseline = (float(np.mean((self.y_test - mean) ** 2)), "the mean sum")
        else:
            self.task, self.num_classes = "regression", 0
            persistence = float(np.mean((self.X_test[:, -1] - self.y_test) ** 2))
            self.baseline = (persistence, "next = last")
        self.model = model
        self.loss = losses.get_loss(recipe.get("loss.name"))
        self.metrics = {"train_loss": None, "test_loss": None,  # not measured yet
                        "baseline": self.baseline[0], "baseline_name": self.baseline[1]}
        self.examples: list = []
        self.loss_sum, self.loss_count, self.norm_sum = 0.0, 0, 0.0
        self.clipped_total = 0
        self.recent_clipped: deque = deque(maxlen=RECENT_STEPS)
        self.step_norms: list[float] = []
        self.step_norms_at = -1

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

    def step_gradient_norms(self) -> list[float]:
        """||dL/dh_t|| for every t (mean over a held-out batch of the per-sample norms)."""
        count = min(PROBE_SEQUENCES, len(self.X_test))
        flow = gradient_flow(self.model, self.loss, self.X_test[:count], self.y_test[:count])
        return [float(value) for value in next(iter(flow.hidden_grad_norm.values()))]

    def measure(self) -> dict:
        """Mean training loss and gradient norm over the steps since the last record, the
        held-out loss (and accuracy), examples and the per-step gradient norms."""
        test_outputs = self.predict(self.X_test)
        test_loss = float(self.loss(Tensor(test_outputs), Tensor(self.y_test)).data)
        if self.loss_count:
            train_loss = self.loss_sum / self.loss_count
            grad_norm = self.norm_sum / self.loss_count
        else:
            train_loss, grad_norm = self.loss_of(self.X_train[:256], self.y_train[:256]), \
                float("nan")
        metrics = {"train_loss": train_loss, "test_loss": test_loss,
                   "baseline": self.baseline[0], "baseline_name": self.baseline[1]}
        if self.task == "classification":
            metrics["test_accuracy"] = float(np.mean(test_outputs.argmax(axis=1)
                                                     == self.y_test))
        examples = [[float(target), float(output)] for target, output in
                    zip(self.y_test[:6], test_outputs[:6])] \
            if self.task == "regression" else []
        return {"metrics": metrics, "examples": examples, "grad_norm": grad_norm,
                "step_norms": self.step_gradient_norms()}

    def commit(self, measured: dict) -> None:
        """Show the measurement, add it to the curves and start the next training averages."""
        self.loss_sum, self.loss_count, self.norm_sum = 0.0, 0, 0.0
        self.metrics, self.examples = measured["metrics"], measured["examples"]
        self.history.add(epoch=self.epoch, train_loss=self.metrics["train_loss"],
                         test_loss=self.metrics["test_loss"], grad_norm=measured["grad_norm"])
        self.step_norms, self.step_norms_at = measured["step_norms"], self.steps

    def snapshot(self, measure: bool = True) -> dict:
        """Settings, curves, metrics, per-step gradient norms and clipping as JSON."""
        state = super().snapshot(measure)
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
