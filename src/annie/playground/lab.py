"""What the MLP and RNN tabs share: settings, mini-batches over a fixed training set, the
optimizer step, the loss history and annie's random state kept per tab.

A lab is a plain single-threaded object: the session's worker thread calls
:meth:`Lab.train_for` in small chunks, and the session holds the lock around every call (see
``sessions.py``). One training step is the lecture's loop: prediction = model(X_batch),
L = loss(prediction, y_batch), L.backward(), (the RNN tab: clipping of the global gradient
norm), optimizer.step().
"""
from __future__ import annotations

import copy
import math
import tempfile
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

from .. import backend, optim
from ..tensor import Tensor, no_grad
from . import controls

MAX_HISTORY = 400  # points kept per curve; older ones are thinned out


class History:
    """Curves against the epoch (fractional: steps / steps per epoch), at most MAX_HISTORY
    evenly spaced points plus the latest one.

    Every ``stride``-th recorded point is kept; when MAX_HISTORY are kept, every other one is
    dropped and the stride doubles, so the kept points stay evenly spread over the whole run
    (dropping every other point without widening the stride would thin the oldest part again
    at every round, until the start of training was one straight line)."""

    def __init__(self, *names: str):
        self.names = ("epoch", *names)
        self.values: dict[str, list] = {name: [] for name in self.names}
        self.stride = 1  # keep the recorded points whose number is a multiple of this
        self.recorded = 0
        self.latest: dict | None = None  # the newest point when it is not one of the kept

    def add(self, **point: float) -> None:
        """Record one point (every curve's value; NaN/inf stored as None)."""
        row = {}
        for name in self.names:
            value = float(point[name])
            row[name] = round(value, 6) if math.isfinite(value) else None
        if self.recorded % self.stride:
            self.latest = row
        else:
            self.latest = None
            for name in self.names:
                self.values[name].append(row[name])
            if len(self.values["epoch"]) > MAX_HISTORY:
                for name in self.names:
                    self.values[name] = self.values[name][::2]
                self.stride *= 2
                if self.recorded % self.stride:  # the point just kept is off the new grid
                    self.latest = row
        self.recorded += 1

    def to_json(self) -> dict:
        """The curves as lists (the kept points, then the latest)."""
        return {name: values + ([self.latest[name]] if self.latest else [])
                for name, values in self.values.items()}


class Lab:
    """Shared state and training loop of a tab (subclasses: ``MlpLab``, ``RnnLab``)."""

    kind = ""

    def __init__(self, settings: dict | None = None, folder: str | None = None):
        if folder is None:  # the files the run reads (its data for annie train's recipe)
            self._own_folder = tempfile.TemporaryDirectory(prefix="annie-playground-")
            folder = self._own_folder.name
        self.folder = folder
        self.settings = controls.defaults(self.kind)
        if settings:
            self.settings, _ = controls.apply_changes(self.kind, self.settings, settings)
        self.check(self.settings)
        self.running = False
        self.message: str | None = None  # shown on the page (e.g. a loss that became NaN)
        self._random_state: dict | None = None
        self.rebuild()

    # ----- settings ----------------------------------------------------------------------
    def check(self, settings: dict, changed: tuple = ()) -> None:
        """Raise ControlError when the settings do not fit together (subclasses); ``changed``:
        the controls just changed, in the order given (the error names one of them)."""

    def configure(self, changes: dict) -> bool:
        """Apply a change of controls; rebuild the model when needed (returns whether it did).
        A bad value or a failed rebuild leaves the previous settings and model in place."""
        updated, rebuild = controls.apply_changes(self.kind, self.settings, changes)
        self.check(updated, tuple(changes))
        saved = dict(vars(self))  # rebuild assigns new objects: a shallow copy restores all
        self.settings = updated
        if rebuild:
            try:
                self.rebuild()
            except Exception:
                vars(self).clear()
                vars(self).update(saved)
                raise
        else:
            self._set_optimizer_options()
        return rebuild

    # ----- model, data and optimizer ----------------------------------------------------
    def rebuild(self) -> None:
        """New data, model and optimizer from the settings; training starts from step 0."""
        with self.random_state(reseed=True):
            self.build()
        self.optimizer = optim.get_optimizer(self.settings["optimizer"])(
            self.model.parameters(), lr=self.settings["lr"],
            weight_decay=self.settings.get("l2", 0.0))
        self.shuffle = np.random.default_rng(self.settings["seed"])
        self.order = np.zeros(0, dtype=np.int64)
        self.position = 0
        self.steps = 0
        self.running = False
        self.message = None
        self.history = History(*self.curve_names)
        self._recorded_at = None
        self.built = getattr(self, "built", 0) + 1  # rebuilds so far (see ``adopt``)
        if self.measure_when_built:
            self.refresh()

    def build(self) -> None:
        """Make ``self.model``, ``self.loss``, ``self.X_train``, ``self.y_train`` (subclasses)."""
        raise NotImplementedError

    curve_names: tuple = ("train_loss", "test_loss")
    record_each_epoch = False  # measure the losses at every epoch's end (cheap for small data)
    #: measure the new model's losses in ``rebuild`` (else ``build`` sets ``metrics`` to
    #: "not measured yet", and the session's worker measures it: see ``sessions._measure``)
    measure_when_built = True

    def _set_optimizer_options(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings["lr"]
            group["weight_decay"] = self.settings.get("l2", 0.0)

    @contextmanager
    def random_state(self, reseed: bool = False):
        """Run with this tab's own stream of annie's random numbers (initialisation, dropout),
        so tabs and sessions training side by side do not draw from each other's stream."""
        outer = backend.get_rng_state()
        try:
            if reseed:
                backend.manual_seed(self.settings["seed"])
            elif self._random_state is not None:
                backend.set_rng_state(self._random_state)
            yield
        finally:
            self._random_state = backend.get_rng_state()
            backend.set_rng_state(outer)

    # ----- training ----------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """The batch size in use: the setting, at most the number of training samples."""
        return min(self.settings["batch_size"], len(self.X_train))

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one pass over the training set."""
        return math.ceil(len(self.X_train) / self.batch_size)

    @property
    def epoch(self) -> float:
        """Epochs trained (steps / steps per epoch at the current batch size)."""
        return self.steps / self.steps_per_epoch

    def _next_batch(self) -> np.ndarray:
        if self.position >= len(self.order):
            self.order = self.shuffle.permutation(len(self.X_train))
            self.position = 0
        batch = self.order[self.position:self.position + self.batch_size]
        self.position += len(batch)
        return batch

    def train_step(self) -> float:
        """One optimizer step on the next mini-batch; returns its loss (training pauses with a
        message when the loss is not finite)."""
        batch = self._next_batch()
        self.model.train()
        prediction = self.forward(Tensor(self.X_train[batch]))
        loss = self.loss(prediction, Tensor(self.y_train[batch]))
        value = float(loss.data)
        if not math.isfinite(value):
            self.running = False
            self.message = (f"the training loss became {value} at epoch {self.epoch:.2f}: "
                            f"lower the learning rate, then Reset")
            return value
        self.optimizer.zero_grad()
        loss.backward()
        self.after_backward()
        self.optimizer.step()
        self.steps += 1
        return value

    def after_backward(self) -> None:
        """Between backward and the optimizer step (the RNN tab clips and measures here)."""

    def train_for(self, seconds: float, max_steps: int | None = None,
                  stop: Callable[[], bool] | None = None) -> int:
        """Train until ``seconds`` have passed, ``max_steps`` steps are done or ``stop()`` is
        true after a step (it is asked after every mini-batch); returns the number of steps
        taken (fewer when the loss stops being finite). At least one step is taken."""
        started, taken = time.perf_counter(), 0
        with self.random_state():
            while max_steps is None or taken < max_steps:
                value = self.train_step()
                if not math.isfinite(value):
                    break
                taken += 1
                if self.record_each_epoch and self.steps % self.steps_per_epoch == 0:
                    self.refresh()
                if time.perf_counter() - started >= seconds or (stop is not None and stop()):
                    break
        return taken

    def train_epoch(self) -> int:
        """One pass over the training set (the Step button)."""
        return self.train_for(math.inf, self.steps_per_epoch)

    def forward(self, inputs: Tensor) -> Tensor:
        """The model's prediction (subclasses may unpack)."""
        return self.model(inputs)

    def evaluation_rows(self) -> int | None:
        """Rows evaluated at once (None: all; the RNN tab bounds its workspace)."""
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs for X in evaluation mode, without a graph, ``evaluation_rows()`` at a time."""
        rows = self.evaluation_rows() or max(len(X), 1)
        with self.model.evaluating():
            parts = [self.forward(Tensor(X[start:start + rows])).data
                     for start in range(0, len(X), rows)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def loss_of(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over (X, y) in evaluation mode."""
        with no_grad():
            return float(self.loss(Tensor(self.predict(X)), Tensor(y)).data)

    def measure(self) -> dict:
        """The losses (and what else the tab shows) of the current weights, changing nothing
        (subclasses); see ``measured_copy``."""
        raise NotImplementedError

    def commit(self, measured: dict) -> None:
        """Show what ``measure`` returned and append it to the history (subclasses)."""
        raise NotImplementedError

    def record(self) -> None:
        """Measure the losses now and append them to the history."""
        self.commit(self.measure())

    def refresh(self) -> None:
        """Record the losses if training moved since they were last measured (no random
        numbers are drawn: the model runs in evaluation mode)."""
        if self._recorded_at != self.steps:
            self.record()
            self._recorded_at = self.steps

    @property
    def measured(self) -> bool:
        """Whether the losses shown are those of the current weights."""
        return self._recorded_at == self.steps

    def measured_copy(self) -> "Lab | None":
        """A copy whose ``measure()`` may run while this lab is used elsewhere (it has a copy
        of the model, and the data, settings and counters as they are now), or None when the
        current weights are measured already. See ``adopt``."""
        if self.measured:
            return None
        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model)
        return twin

    def adopt(self, twin: "Lab", measured: dict) -> bool:
        """Commit what ``twin.measure()`` returned if this lab is still where the copy was
        taken (not rebuilt, not trained further); returns whether it did."""
        if twin.built != self.built or twin.steps != self.steps:
            return False
        self.commit(measured)
        self._recorded_at = self.steps
        return True

    # ----- state for the page -----------------------------------------------------------
    def snapshot(self, measure: bool = True) -> dict:
        """What the page draws, as JSON (subclasses add their parts); ``measure=False`` shows
        the losses measured last instead of measuring the current weights."""
        if measure:
            self.refresh()
        return {"lab": self.kind, "settings": dict(self.settings), "running": self.running,
                "message": self.message, "steps": self.steps, "epoch": round(self.epoch, 4),
                "history": self.history.to_json()}
