"""Training checkpoints: everything ``fit`` needs to continue a run exactly where it stopped,
written and read by the :class:`BackupAndRestore` callback (``fit(checkpoint_dir=...)``).

One file, ``checkpoint.ckpt`` in the checkpoint folder, written atomically with
``annie.io.save_state`` (the old checkpoint or the new one, never a mix) and replaced each time.
A write costs a few milliseconds whatever the model (two fsyncs and a rename), which is more
than an epoch of a small model: ``checkpoint_seconds`` spaces the writes in time, and the
History is stored as arrays, so a write does not grow with the epochs recorded.
It holds the model's weights, the optimizer's state (step counts, moments, learning rates), the
callbacks' state (the History so far, schedulers, early stopping's best value, patience count
and best weights), annie's RNG state, the position (epoch, batches so far, why training
stopped), the running totals of the current epoch with its shuffling order and next batch, and
the state carried by stateful recurrent layers. Restoring all of it makes the resumed run
compute the same numbers, bit for bit, as a run that was never stopped.
"""
from __future__ import annotations

import math
import numbers
import os
import time

import numpy as np

from .. import backend
from ..errors import ConfigError, SerializationError, is_positive_int
from .callbacks import Callback
from .step import EpochTotals

CHECKPOINT_FILE = "checkpoint.ckpt"
CHECKPOINT_KIND = "annie-fit-checkpoint"
CHECKPOINT_VERSION = 2


def checkpoint_path(folder: str | os.PathLike) -> str:
    """The path of the checkpoint file in ``folder``."""
    return os.path.join(os.fspath(folder), CHECKPOINT_FILE)


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a checkpoint file."""
    return os.path.isfile(checkpoint_path(folder))


def check_every(checkpoint_every) -> int | None:
    """``"epoch"`` -> None (at each epoch end), a positive int -> every that many batches."""
    if isinstance(checkpoint_every, str) and checkpoint_every == "epoch":
        return None
    if not is_positive_int(checkpoint_every):
        raise ConfigError(f"fit: checkpoint_every must be 'epoch' or a positive number of "
                          f"batches, got {checkpoint_every!r}")
    return int(checkpoint_every)


def check_seconds(checkpoint_seconds) -> float:
    """The least time between two checkpoints, in seconds: a number >= 0 (0: no least
    time)."""
    if isinstance(checkpoint_seconds, bool) or not isinstance(checkpoint_seconds, numbers.Real) \
            or not (math.isfinite(checkpoint_seconds) and checkpoint_seconds >= 0):
        raise ConfigError(f"fit: checkpoint_seconds must be a finite number of seconds >= 0 "
                          f"(0: a checkpoint at every checkpoint_every), got "
                          f"{checkpoint_seconds!r}")
    return float(checkpoint_seconds)


def fingerprint(model, optimizer) -> dict:
    """What a checkpoint must match: model class and parameter names, shapes and dtypes,
    optimizer class and the size of each parameter group."""
    return {
        "model": type(model).__name__,
        "parameters": [[name, list(param.data.shape), param.data.dtype.name]
                       for name, param in model.named_parameters()],
        "optimizer": type(optimizer).__name__,
        "param_groups": [len(group["params"]) for group in optimizer.param_groups],
    }


def _check_fingerprint(saved: dict, current: dict, path: str) -> None:
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"cannot resume from {path!r}: {problem}")

    if saved["model"] != current["model"]:
        raise fail(f"it was written for a {saved['model']} model, this model is a "
                   f"{current['model']}")
    saved_params = {name: (tuple(shape), dtype) for name, shape, dtype in saved["parameters"]}
    current_params = {name: (tuple(shape), dtype) for name, shape, dtype in current["parameters"]}
    names = list(saved_params) + [name for name in current_params if name not in saved_params]
    for name in names:  # in the model's order, so the first difference is named
        if name not in current_params:
            raise fail(f"it has parameter {name!r}, which this model lacks (a different "
                       f"architecture)")
        if name not in saved_params:
            raise fail(f"this model has parameter {name!r}, which the checkpoint lacks (a "
                       f"different architecture)")
        if saved_params[name] != current_params[name]:
            (shape, dtype), (now_shape, now_dtype) = saved_params[name], current_params[name]
            raise fail(f"parameter {name!r} has shape {shape} and dtype {dtype} there, shape "
                       f"{now_shape} and dtype {now_dtype} here (a different architecture)")
    if saved["optimizer"] != current["optimizer"]:
        raise fail(f"it was written with a {saved['optimizer']} optimizer, this run uses "
                   f"{current['optimizer']}")
    if list(saved["param_groups"]) != list(current["param_groups"]):
        raise fail(f"its optimizer has parameter groups of sizes {list(saved['param_groups'])}, "
                   f"this optimizer {list(current['param_groups'])}")


def _check_optimizer(optimizer) -> None:
    if not (hasattr(optimizer, "state_dict") and hasattr(optimizer, "load_state_dict")):
        raise ConfigError(f"fit: checkpoints need an optimizer with state_dict() and "
                          f"load_state_dict() (an annie.optim optimizer), got "
                          f"{type(optimizer).__name__}")


def _saved_callbacks(state) -> list:
    """The callbacks whose state a checkpoint holds: all but the one writing it."""
    return [callback for callback in state.callbacks if not isinstance(callback, BackupAndRestore)]


def write_checkpoint(folder, state, position: dict) -> None:
    """Write the checkpoint of the run ``state`` (a ``FitState``) at ``position`` (epoch,
    batches done, stop reason), with the running totals of its current epoch if any."""
    from ..io import save_state
    tree = {
        "model": dict(state.model.state_dict()),
        "optimizer": state.optimizer.state_dict(),
        "callbacks": [{"class": type(callback).__name__, "state": callback.state_dict()}
                      for callback in _saved_callbacks(state)],
        "rng": backend.get_rng_state(),
        "position": position,
        "totals": None if state.totals is None else state.totals.state_dict(),
        "carried": carried_states(state.model),
    }
    meta = {"kind": CHECKPOINT_KIND, "version": CHECKPOINT_VERSION,
            "fingerprint": fingerprint(state.model, state.optimizer)}
    save_state(checkpoint_path(folder), tree, meta)


def read_checkpoint(folder, model, optimizer) -> dict:
    """The checkpoint tree of ``folder``, after checking it belongs to this model/optimizer."""
    from ..io import load_state
    path = checkpoint_path(folder)
    if not os.path.isdir(os.fspath(folder)):
        raise ConfigError(f"fit: resume=True but the checkpoint folder {os.fspath(folder)!r} "
                          f"does not exist")
    if not os.path.isfile(path):
        raise ConfigError(f"fit: resume=True but {os.fspath(folder)!r} holds no checkpoint "
                          f"({CHECKPOINT_FILE}); train once with checkpoint_dir set")
    state, meta = load_state(path)
    if not isinstance(meta, dict) or meta.get("kind") != CHECKPOINT_KIND:
        raise SerializationError(f"cannot resume from {path!r}: it is not a fit checkpoint")
    if meta.get("version") != CHECKPOINT_VERSION:
        raise SerializationError(f"cannot resume from {path!r}: checkpoint version "
                                 f"{meta.get('version')!r}, this annie reads version "
                                 f"{CHECKPOINT_VERSION}")
    _check_fingerprint(meta["fingerprint"], fingerprint(model, optimizer), path)
    return state


def restore(tree: dict, state, folder) -> None:
    """Load weights, optimizer, callbacks (the History among them), RNG, carried recurrent
    states, position and the epoch's running totals from a checkpoint tree into ``state``."""
    pairs = _pair_callbacks(tree["callbacks"], _saved_callbacks(state), folder)
    state.model.load_state_dict(tree["model"])
    state.optimizer.load_state_dict(tree["optimizer"])
    for callback, saved_state in pairs:
        callback.load_state_dict(saved_state)
    backend.set_rng_state(tree["rng"])
    layers = dict(state.model.named_modules())
    for name, arrays in tree["carried"].items():
        layers[name].carried_state = [np.array(array) for array in arrays]
    position = tree["position"]
    state.epoch, state.batches_done = position["epoch"], position["batches_done"]
    state.stop_reason = position["stop_reason"]
    state.stop_training = state.stop_reason is not None
    state.totals = None if tree["totals"] is None else EpochTotals.from_state(tree["totals"])


def _pair_callbacks(saved: list, callbacks: list, folder) -> list:
    """(callback, saved state) pairs: the i-th saved callback of a class goes to the i-th
    callback of that class in this run. A saved callback with state but no counterpart is an
    error (its state would be lost); callbacks new in this run start fresh."""
    by_class: dict[str, list] = {}
    for callback in callbacks:
        by_class.setdefault(type(callback).__name__, []).append(callback)
    pairs = []
    for entry in saved:
        candidates = by_class.get(entry["class"], [])
        if candidates:
            pairs.append((candidates.pop(0), entry["state"]))
        elif entry["state"]:
            raise ConfigError(f"cannot resume from {checkpoint_path(folder)!r}: it holds the "
                              f"state of callback {entry['class']}, which this run does not "
                              f"have (pass the same callbacks as the interrupted run)")
    return pairs


def carried_states(model) -> dict:
    """The state each stateful recurrent layer carries, by module name (for the checkpoint)."""
    return {name: list(module.carried_state) for name, module in model.named_modules()
            if getattr(module, "carried_state", None) is not None}


class BackupAndRestore(Callback):
    """Checkpoint the run so that it can continue exactly where it stopped (what
    ``fit(checkpoint_dir=..., checkpoint_every=..., checkpoint_seconds=..., resume=...)`` adds;
    always the last callback).

    Writes ``checkpoint.ckpt`` in ``checkpoint_dir`` at every epoch end (``checkpoint_every=
    "epoch"``) or every N batches (``checkpoint_every=N``), but only once ``checkpoint_seconds``
    (default 0: no wait) have passed since the previous write (or the start of training); and
    always at the end of training (also after a stop). A run killed between two checkpoints
    resumes from the last one and, as every resume, ends exactly as an uninterrupted run: the
    wait only bounds the training redone. ``writes`` counts the checkpoints this fit wrote.
    ``resume=True``: at the start of training, after the other callbacks' ``on_train_begin``,
    restore everything from that checkpoint (ConfigError if there is none or it belongs to
    another model, optimizer or set of callbacks)."""

    sees_stopped_epochs = True  # the checkpoint after a stop records it

    def __init__(self, checkpoint_dir: str | os.PathLike, checkpoint_every: int | str = "epoch",
                 resume: bool = False, checkpoint_seconds: float = 0.0):
        self.folder = os.fspath(checkpoint_dir)
        self.every = check_every(checkpoint_every)
        self.seconds = check_seconds(checkpoint_seconds)
        self.resume = bool(resume)
        self.writes = 0
        self.last_write = time.monotonic()

    def on_train_begin(self) -> None:
        """Check the optimizer can be saved; restore the checkpoint when resuming; start the
        clock of ``checkpoint_seconds``."""
        _check_optimizer(self.state.optimizer)
        if self.resume:
            restore(read_checkpoint(self.folder, self.state.model, self.state.optimizer),
                    self.state, self.folder)
        else:
            os.makedirs(self.folder, exist_ok=True)
        self.writes = 0
        self.last_write = time.monotonic()

    def _due(self) -> bool:
        """Whether ``checkpoint_seconds`` have passed since the last write."""
        return time.monotonic() - self.last_write >= self.seconds

    def _write(self, epoch: int) -> None:
        state = self.state
        write_checkpoint(self.folder, state, {"epoch": epoch, "batches_done": state.batches_done,
                                              "stop_reason": state.stop_reason})
        self.writes += 1
        self.last_write = time.monotonic()  # after the write: its own time is not training

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Every ``checkpoint_every`` batches (counted over the whole run), once
        ``checkpoint_seconds`` have passed, a checkpoint of the run midway through the epoch."""
        if (self.every is not None and self.state.batches_done % self.every == 0
                and not self.state.stop_training and self._due()):
            self._write(self.state.epoch)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """A checkpoint after the last epoch or a stop; with ``checkpoint_every="epoch"`` also
        at each epoch end once ``checkpoint_seconds`` have passed."""
        if self.state.stop_training or epoch + 1 == self.state.epochs or (
                self.every is None and self._due()):
            self._write(epoch + 1)
