"""Callbacks: code that ``fit`` runs at fixed points of training. Everything around the
optimizer steps is one: the History (``fit``'s return value), progress output, checkpoints and
resuming (``BackupAndRestore``), early stopping, learning-rate schedules, logging, stopping on
NaN.

A callback sees the run through ``self.state`` (a :class:`FitState`: model, optimizer, history,
``stop_training``, the running totals of the epoch), set by ``fit`` before ``on_train_begin``.
``state_dict``/``load_state_dict`` hold what a callback needs to continue a resumed run exactly.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..errors import ConfigError, check_non_negative_int
from .metrics import HIGHER_IS_BETTER

if TYPE_CHECKING:
    from .history import History
    from .step import EpochTotals, FitSettings


@dataclass
class FitState:
    """What callbacks can see and change during ``fit``: the model, optimizer and history, the
    epoch (from 0), the batches trained so far, the running totals of the current epoch
    (``totals``; None between epochs, or set by ``BackupAndRestore`` when it resumes an
    epoch midway), the run's settings and every callback of the run."""

    model: object
    optimizer: object
    history: History
    epochs: int
    epoch: int = 0
    stop_training: bool = False
    stop_reason: str | None = None
    extra: dict = field(default_factory=dict)
    settings: FitSettings | None = None
    totals: EpochTotals | None = None
    batches_done: int = 0
    callbacks: list = field(default_factory=list)

    def stop(self, reason: str) -> None:
        """Ask ``fit`` to stop after the current batch or epoch, saying why."""
        self.stop_training = True
        if self.stop_reason is None:
            self.stop_reason = reason

    def epoch_logs(self) -> dict:
        """The current epoch's loss and metrics over its batches so far."""
        return self.totals.logs(self.settings) if self.totals is not None else {}


class Callback:
    """Base class: override the hooks you need. ``logs`` is the dict of the epoch's numbers."""

    state: FitState
    #: False (the default): ``on_epoch_end`` runs only for epochs that ran to their end. True:
    #: also for the epoch a stop cut short (its logs lack the validation values), as History,
    #: progress output and checkpoints need.
    sees_stopped_epochs = False

    def set_state(self, state: FitState) -> None:
        """Attach the running fit's state (model, optimizer, history)."""
        self.state = state

    @property
    def model(self):
        """The model being trained."""
        return self.state.model

    def on_train_begin(self) -> None:
        """Called once before the first epoch."""

    def on_train_end(self) -> None:
        """Called once after the last epoch (also after an early stop)."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before each epoch (epochs count from 0); not for an epoch resumed midway."""

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Called after each epoch with its losses and metrics."""

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Called after each batch with its loss. Keep it cheap: it runs every step."""

    def state_dict(self) -> dict:
        """What this callback must remember to resume exactly: values a checkpoint can store
        (None, bool, int, float, str, lists, tuples, dicts and ndarrays; see
        ``annie.io.save_state``). Hold a record that grows with the epochs as arrays: a
        checkpoint stores them in one binary piece."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


class CallbackList:
    """The callbacks of one ``fit``, called in order at each point of training: the History
    first, then progress output, the user's callbacks (``TerminateOnNaN`` among them, added
    first when missing), and ``BackupAndRestore`` last (its checkpoint holds what all the others
    did; it restores after their ``on_train_begin``)."""

    def __init__(self, callbacks: Iterable[Callback], state: FitState):
        self.callbacks = list(callbacks)
        self.state = state
        state.callbacks = self.callbacks
        for callback in self.callbacks:
            callback.set_state(state)
        # only callbacks that override on_batch_end cost anything per batch
        self.batch_callbacks = [callback for callback in self.callbacks
                                if type(callback).on_batch_end is not Callback.on_batch_end]

    def on_train_begin(self) -> None:
        """Every callback's ``on_train_begin``."""
        for callback in self.callbacks:
            callback.on_train_begin()

    def on_epoch_begin(self, epoch: int) -> None:
        """Every callback's ``on_epoch_begin``."""
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch)

    def on_batch_end(self, batch: int, loss: float) -> None:
        """``on_batch_end`` of the callbacks that define it."""
        for callback in self.batch_callbacks:
            callback.on_batch_end(batch, loss)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """``on_epoch_end`` of every callback; after a stop within the epoch only of those that
        see stopped epochs (History, progress, checkpoints)."""
        completed = not self.state.stop_training
        for callback in self.callbacks:
            if completed or callback.sees_stopped_epochs:
                callback.on_epoch_end(epoch, logs)

    def on_train_end(self) -> None:
        """Every callback's ``on_train_end``."""
        for callback in self.callbacks:
            callback.on_train_end()


def _resolve_mode(monitor: str, mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        base = monitor[4:] if monitor.startswith("val_") else monitor
        return "max" if base in HIGHER_IS_BETTER else "min"
    return mode


def _monitored_value(logs: dict, monitor: str, who: str) -> float:
    if monitor not in logs:
        raise ConfigError(f"{who}: monitor={monitor!r} is not among the logged values "
                          f"{sorted(logs)} (validation values need validation_data or "
                          f"validation_split)")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of a logged quantity: improvement means better by min_delta."""

    def __init__(self, monitor: str, mode: str, min_delta: float, who: str):
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode, who)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row (``patience=0``: at the first epoch without improvement); with ``restore_best_weights``, end with the weights of the best epoch."""

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False):
        check_non_negative_int(patience, "patience", "EarlyStopping")
        self.tracker = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.monitor = monitor
        self.patience = int(patience)
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.best_epoch: int | None = None
        self.best_weights = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        value = _monitored_value(logs, self.monitor, "EarlyStopping")
        if self.tracker.improved(value):
            self.tracker.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.state.stop(f"early stopping: {self.monitor} did not improve for "
                            f"{self.wait} epochs (best {self.tracker.best:.6g} at epoch "
                            f"{self.best_epoch + 1 if self.best_epoch is not None else '-'})")

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch,
                "best_weights": None if self.best_weights is None else dict(self.best_weights)}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])
        self.wait = int(state["wait"])
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state.get("stopped_epoch")
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save the model with ``annie.save`` after each epoch (``path`` may contain ``{epoch}``),
    or with ``save_best_only`` only when ``monitor`` improved."""

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto"):
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.tracker = _Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        self.saved: list[str] = []

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.save_best_only:
            value = _monitored_value(logs, self.monitor, "ModelCheckpoint")
            if not self.tracker.improved(value):
                return
            self.tracker.best = value
        from .. import io as annie_io
        path = self.path.format(epoch=epoch + 1, **{k: v for k, v in logs.items()})
        annie_io.save(self.model, path)
        self.saved.append(path)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or inf, keeping the last weights that were finite.

    ``fit`` skips the update of a batch whose loss is not finite, so the model keeps the
    weights it had; if those already hold NaN/inf (an update blew up without the loss showing
    it yet), the weights saved at the start of the epoch are put back.
    """

    def __init__(self):
        self._epoch_weights = None
        self.stopped_batch: tuple[int, int] | None = None

    def on_epoch_begin(self, epoch: int) -> None:
        self._epoch_weights = self.model.state_dict()

    def state_dict(self) -> dict:
        return {"epoch_weights": None if self._epoch_weights is None
                else dict(self._epoch_weights)}

    def load_state_dict(self, state: dict) -> None:
        self._epoch_weights = state.get("epoch_weights")

    def on_batch_end(self, batch: int, loss: float) -> None:
        if math.isfinite(loss):
            return
        self.stopped_batch = (self.state.epoch, batch)
        restored = ""
        if not all(np.all(np.isfinite(p.data)) for p in self.model.parameters()):
            self.model.load_state_dict(self._epoch_weights)
            restored = "; the weights from the start of the epoch were restored"
        self.state.stop(f"loss became {loss} at epoch {self.state.epoch + 1}, batch {batch + 1}: "
                        f"training stopped, the last finite weights were kept{restored} "
                        f"(try a smaller learning rate or clip_grad_norm)")


class LearningRateScheduler(Callback):
    """Step a learning-rate scheduler after every epoch (PyTorch's order: optimizer steps in
    the epoch, then ``scheduler.step()``). ``ReduceLROnPlateau`` gets ``logs[monitor]``.
    ``schedule`` may also be a function ``(epoch, lr) -> new lr``."""

    def __init__(self, schedule, monitor: str = "val_loss"):
        if not (callable(schedule) or hasattr(schedule, "step")):
            raise ConfigError(f"LearningRateScheduler: schedule must be an annie.optim scheduler "
                              f"or a function (epoch, lr) -> lr, got {type(schedule).__name__}")
        self.schedule = schedule
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        schedule = self.schedule
        if hasattr(schedule, "step"):
            if type(schedule).__name__ == "ReduceLROnPlateau":
                schedule.step(_monitored_value(logs, self.monitor, "ReduceLROnPlateau"))
            else:
                schedule.step()
            return
        for group in self.state.optimizer.param_groups:
            group["lr"] = float(schedule(epoch, group["lr"]))

    def state_dict(self) -> dict:
        if hasattr(self.schedule, "state_dict"):
            return {"schedule": self.schedule.state_dict()}
        return {}

    def load_state_dict(self, state: dict) -> None:
        if "schedule" in state:
            self.schedule.load_state_dict(state["schedule"])


class CSVLogger(Callback):
    """Keep the history in a CSV file (``History.to_csv``'s format) as training goes.

    Each epoch end appends the epoch's line (one write, the file closed after it: a killed
    process leaves every finished epoch in the file), so an epoch costs the same after ten
    thousand epochs as after ten. The whole file is written (atomically) only where appending
    would be wrong: at the first epoch of a ``fit`` (a new file; or a resumed run, whose
    history replaces the lines the file held past its checkpoint), when a new column appears,
    and when the file is not as this logger left it (removed or changed meanwhile)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._header: str | None = None  # the header of the file as written
        self._size: int | None = None    # its size in bytes

    def on_train_begin(self) -> None:
        """The next epoch writes the whole file."""
        self._header = self._size = None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        # fit appends the epoch's logs to the history before calling the callbacks
        history = self.state.history
        header = history.csv_header()
        if header == self._header and self._file_size() == self._size:
            line = history.csv_row(len(history) - 1).encode("utf-8")
            with open(self.path, "ab") as handle:
                handle.write(line)
            self._size += len(line)
            return
        from ..io import atomic_write_bytes
        text = history.to_csv_text().encode("utf-8")
        atomic_write_bytes(self.path, text)
        self._header, self._size = header, len(text)

    def _file_size(self) -> int | None:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return None
