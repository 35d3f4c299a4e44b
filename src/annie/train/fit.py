"""``fit``, ``evaluate`` and ``predict``: the training loop of the lecture in one place.

One step of mini-batch gradient descent: forward pass, loss, backward pass (dL/dw for every
weight), optimizer update w <- w - lr * (update from dL/dw). One epoch shows every training
sample once, in a fresh random order when ``shuffle`` is on.
"""
from __future__ import annotations

import math
import os
import time
from typing import Iterable, Sequence

import numpy as np

from .. import backend
from ..errors import ConfigError, DataError
from ..tensor import Tensor, no_grad
from . import checkpoint as checkpoints
from . import tbptt as truncation
from .callbacks import Callback, FitState, TerminateOnNaN
from .history import History
from .inputs import (as_data_array, cast_inputs, check_positive_int, prepare,
                     resolve_loss, resolve_metrics)
from .progress import Progress
from .step import EpochTotals, Stepper, model_output as _output

__all__ = ["fit", "evaluate", "predict", "resolve_loss"]


# ----- evaluate and predict ----------------------------------------------------------------
def _forward_in_batches(model, X: np.ndarray, batch_size: int):
    """Outputs batch by batch in evaluation mode; stateful recurrent layers start every batch
    from zeros here (rows are independent sequences) and keep the state they carried."""
    was_training = model.training
    model.eval()
    try:
        with no_grad(), truncation.paused_state(truncation.stateful_layers(model)):
            for start in range(0, len(X), batch_size):
                yield start, _output(model(Tensor(X[start:start + batch_size])))
    finally:
        model.train(was_training)


def predict(model, X, batch_size: int = 32) -> np.ndarray:
    """The model's outputs for every row of X, in evaluation mode and without a graph."""
    batch_size = check_positive_int(batch_size, "batch_size", "predict")
    X = cast_inputs(model, as_data_array(X, "X", "predict"))
    outputs = [output.data for _, output in _forward_in_batches(model, X, batch_size)]
    return np.concatenate(outputs, axis=0)


def evaluate(model, loss, X, y, batch_size: int = 32, metrics: Sequence = ()) -> dict:
    """Mean loss and each metric over (X, y), in evaluation mode: {"loss": ..., name: ...}.
    ``loss`` may be None to compute metrics only."""
    batch_size = check_positive_int(batch_size, "batch_size", "evaluate")
    X, y = prepare(model, X, y, "evaluate", check=True)
    loss_fn = resolve_loss(loss) if loss is not None else None
    resolved = resolve_metrics(metrics, loss_fn)
    total, outputs = 0.0, []
    for start, output in _forward_in_batches(model, X, batch_size):
        if loss_fn is not None:
            target = y[start:start + batch_size]
            total += float(loss_fn(output, Tensor(target)).data) * len(target)
        outputs.append(output.data)
    results = {}
    if loss_fn is not None:
        results["loss"] = total / len(X)
    if resolved:
        prediction = np.concatenate(outputs, axis=0)
        for name, metric in resolved:
            results[name] = metric(prediction, y)
    return results


# ----- fit ---------------------------------------------------------------------------------
def _split_validation(X, y, validation_data, validation_split, model, check_finite):
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ConfigError("fit: validation_data must be a pair (X_val, y_val)")
        X_val, y_val = prepare(model, *validation_data, "fit (validation_data)", check_finite)
        return X, y, (X_val, y_val)
    if not 0.0 <= float(validation_split) < 1.0:
        raise ConfigError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
    if validation_split == 0.0:
        return X, y, None
    n_val = int(len(X) * validation_split)
    if n_val == 0 or n_val == len(X):
        raise DataError(f"fit: validation_split={validation_split} of {len(X)} samples leaves "
                        f"{n_val} for validation and {len(X) - n_val} for training")
    # as in Keras: the last samples (before shuffling) are held out
    return X[:-n_val], y[:-n_val], (X[-n_val:], y[-n_val:])


def fit(model, loss, optimizer, X, y, epochs: int, batch_size: int = 32,
        validation_data: tuple | None = None, validation_split: float = 0.0,
        shuffle: bool = True, metrics: Sequence = (), callbacks: Iterable[Callback] = (),
        clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
        verbose: int = 1, seed: int | None = None, check_finite: bool = True,
        tbptt: int | None = None, checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | str = "epoch", resume: bool = False) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent and return its History.

    Each step: prediction = model(X_batch); L = loss(prediction, y_batch); dL/dw by backward;
    optional clipping (``clip_grad_norm``: scale all gradients so their global L2 norm is at
    most the value; ``clip_grad_value``: clip each element); ``optimizer.step()``.
    ``loss`` is a function, a loss object or a name (``"cross_entropy"``). ``metrics`` are names
    or functions ``(prediction, target)``. ``validation_split`` holds out the last fraction of
    the samples. ``seed`` calls ``annie.manual_seed(seed)`` first (repeatable shuffling and
    dropout). ``TerminateOnNaN`` is always active. ``verbose``: 0 silent, 1 a progress bar
    (one line per epoch when output is not a terminal), 2 one line per epoch.

    ``tbptt=k``: truncated backpropagation through time for sequences X (batch, T, features):
    one optimizer step per chunk of k time steps, the recurrent state carried (detached) from
    chunk to chunk (see ``annie.train.tbptt``). Recurrent layers built with ``stateful=True``
    carry their state from batch to batch; fit resets it at the start of every epoch.

    ``checkpoint_dir``: write a checkpoint there (atomically, replacing the previous one) at
    every epoch end (``checkpoint_every="epoch"``) or every N batches (``checkpoint_every=N``),
    and at the end. ``resume=True`` continues from that checkpoint: weights, optimizer, callbacks,
    RNG, position in the epoch and history, so the run ends exactly as an uninterrupted one.
    """
    epochs = check_positive_int(epochs, "epochs", "fit")
    batch_size = check_positive_int(batch_size, "batch_size", "fit")
    if verbose not in (0, 1, 2):
        raise ConfigError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ConfigError(f"fit: {name} must be a positive number or None, got {value!r}")
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise ConfigError(f"fit: optimizer must have step() and zero_grad() (an annie.optim "
                          f"optimizer), got {type(optimizer).__name__}")
    every = checkpoints.check_every(checkpoint_every)
    if resume and checkpoint_dir is None:
        raise ConfigError("fit: resume=True needs checkpoint_dir (the folder of the checkpoint)")
    X, y = prepare(model, X, y, "fit", check_finite)
    X, y, validation = _split_validation(X, y, validation_data, validation_split, model,
                                         check_finite)
    n_train = len(X)  # a batch_size above it gives one short batch per epoch
    tbptt = truncation.check_tbptt(tbptt, X, model)
    user_stateful = truncation.check_stateful(model, shuffle, n_train, batch_size)
    recurrent = truncation.recurrent_layers(model) if (tbptt or user_stateful) else []
    if checkpoint_dir is not None:
        os.makedirs(checkpoint_dir, exist_ok=True)
    loss_fn = resolve_loss(loss)
    resolved_metrics = resolve_metrics(metrics, loss_fn)
    if seed is not None:
        backend.manual_seed(seed)

    callbacks = list(callbacks)
    if not any(isinstance(callback, TerminateOnNaN) for callback in callbacks):
        callbacks.insert(0, TerminateOnNaN())
    history = History()
    history.params = {"epochs": epochs, "batch_size": batch_size, "samples": n_train,
                      "validation_samples": 0 if validation is None else len(validation[0])}
    state = FitState(model=model, optimizer=optimizer, history=history, epochs=epochs)
    for callback in callbacks:
        callback.set_state(state)
    stepper = Stepper(model, loss_fn, optimizer, y, clip_grad_norm, clip_grad_value, tbptt,
                       bool(user_stateful), recurrent)
    n_batches = math.ceil(n_train / batch_size)
    progress = Progress(verbose, epochs, n_batches)

    model.train()
    for callback in callbacks:
        callback.on_train_begin()
    position = {"epoch": 0, "batch": 0, "batches_done": 0, "stop_reason": None}
    resumed = None
    if resume:
        tree = checkpoints.read_checkpoint(checkpoint_dir, model, optimizer)
        checkpoints.restore(tree, model, optimizer, callbacks, history, checkpoint_dir)
        position = tree["position"]
        state.stop_reason = position["stop_reason"]
        state.stop_training = state.stop_reason is not None
        resumed = None if tree["totals"] is None else EpochTotals.from_state(tree["totals"])
    run = _EpochRunner(state, callbacks, stepper, progress, X, y, validation, batch_size,
                       shuffle, resolved_metrics, metrics, checkpoint_dir, every, position)
    with truncation.carrying_state(recurrent if tbptt else []):
        for epoch in range(position["epoch"], epochs):
            if state.stop_training:
                break
            run.epoch(epoch, resumed)
            resumed = None
        final_epoch = epochs if not state.stop_training else state.epoch + 1
        if checkpoint_dir is not None and run.written != (final_epoch, 0, state.stop_reason):
            run.checkpoint(final_epoch, 0, None)
    for callback in callbacks:
        callback.on_train_end()
    history.stop_reason = state.stop_reason
    if state.stop_reason is not None:
        progress.message(f"stopped: {state.stop_reason}")
    return history


class _EpochRunner:
    """The epoch loop of ``fit``: batches, logs, validation, callbacks and checkpoints."""

    def __init__(self, state: FitState, callbacks: list, stepper: Stepper, progress: Progress,
                 X, y, validation, batch_size: int, shuffle: bool, resolved_metrics: list,
                 metrics: Sequence, checkpoint_dir, every: int | None, position: dict):
        self.state, self.callbacks, self.stepper, self.progress = state, callbacks, stepper, progress
        self.X, self.y, self.validation = X, y, validation
        self.batch_size, self.shuffle = batch_size, shuffle
        self.resolved_metrics, self.metrics = resolved_metrics, metrics
        self.checkpoint_dir, self.every = checkpoint_dir, every
        self.written: tuple | None = None  # (epoch, batch, stop reason) of the last checkpoint
        self.batches_done = position["batches_done"]
        self.first_batch = position["batch"]
        self.n_batches = math.ceil(len(X) / batch_size)
        # only callbacks that override on_batch_end cost anything per batch
        self.batch_callbacks = [c for c in callbacks
                                if type(c).on_batch_end is not Callback.on_batch_end]

    def checkpoint(self, epoch: int, batch: int, totals: EpochTotals | None) -> None:
        """Write the checkpoint of the run as it stands before (epoch, batch)."""
        position = {"epoch": epoch, "batch": batch, "batches_done": self.batches_done,
                    "stop_reason": self.state.stop_reason}
        self.written = (epoch, batch, self.state.stop_reason)
        checkpoints.write_checkpoint(
            self.checkpoint_dir, self.state.model, self.state.optimizer, self.callbacks,
            self.state.history, position, None if totals is None else totals.state_dict(),
            checkpoints.carried_states(self.state.model))

    def epoch(self, epoch: int, resumed: EpochTotals | None) -> None:
        """Run epoch ``epoch`` (from its start, or from a checkpoint's position in it)."""
        state, stepper, progress = self.state, self.stepper, self.progress
        state.epoch = epoch
        first_batch = self.first_batch if resumed is not None else 0
        if resumed is None:
            truncation.reset_states(truncation.stateful_layers(state.model))
            for callback in self.callbacks:
                callback.on_epoch_begin(epoch)
            order = backend.rng().permutation(len(self.X)) if self.shuffle else None
            totals = EpochTotals(order=order, learning_rate=_current_lr(state.optimizer))
        else:
            totals = resumed
        progress.epoch_begin(epoch)
        started = time.perf_counter()
        if totals.order is not None:
            X_epoch, y_epoch = self.X[totals.order], self.y[totals.order]
        else:
            X_epoch, y_epoch = self.X, self.y
        for batch in range(first_batch, self.n_batches):
            start = batch * self.batch_size
            X_batch = X_epoch[start:start + self.batch_size]
            y_batch = y_epoch[start:start + self.batch_size]
            loss_value, prediction = stepper.batch(X_batch, y_batch, totals, batch)
            if math.isfinite(loss_value):
                totals.loss_sum += loss_value * len(X_batch)
                totals.seen += len(X_batch)
            if self.resolved_metrics:
                totals.outputs.append(prediction)
            self.batches_done += 1
            for callback in self.batch_callbacks:
                callback.on_batch_end(batch, loss_value)
            if state.stop_training:
                break
            if progress.wants_running_values(batch):
                running = {"loss": totals.loss_sum / max(totals.seen, 1)}
                running.update(_metric_values(self.resolved_metrics, totals.outputs, y_epoch))
                progress.batch_end(batch, running)
            else:
                progress.batch_end(batch, None)
            if self.checkpoint_dir is not None and self.every is not None \
                    and self.batches_done % self.every == 0:
                self.checkpoint(epoch, batch + 1, totals)
        self._end_epoch(epoch, totals, y_epoch, time.perf_counter() - started)

    def _end_epoch(self, epoch: int, totals: EpochTotals, y_epoch, seconds: float) -> None:
        state = self.state
        logs = {"loss": totals.loss_sum / totals.seen if totals.seen else math.nan}
        logs.update(_metric_values(self.resolved_metrics, totals.outputs, y_epoch))
        if self.validation is not None and not state.stop_training:
            with truncation.paused_state(self.stepper.recurrent):
                results = evaluate(state.model, self.stepper.loss_fn, *self.validation,
                                   batch_size=max(self.batch_size, 256), metrics=self.metrics)
            logs.update({f"val_{key}": value for key, value in results.items()})
            state.model.train()
        if totals.learning_rate is not None:
            logs["lr"] = totals.learning_rate
        if self.stepper.clip_grad_norm is not None and totals.norms:
            logs["grad_norm"] = float(np.mean(totals.norms))
            logs["grad_norm_max"] = float(np.max(totals.norms))
        if self.stepper.clip_grad_norm is not None or self.stepper.clip_grad_value is not None:
            logs["clipped_fraction"] = totals.clipped / max(totals.steps, 1)
        state.history.append(epoch, logs)
        self.progress.epoch_end(epoch, logs, seconds)
        if not state.stop_training:
            for callback in self.callbacks:
                callback.on_epoch_end(epoch, logs)
        if self.checkpoint_dir is not None and self.every is None and not state.stop_training:
            self.checkpoint(epoch + 1, 0, None)


def _current_lr(optimizer) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None


def _metric_values(resolved_metrics, outputs: list, targets: np.ndarray) -> dict:
    if not resolved_metrics or not outputs:
        return {}
    prediction = np.concatenate(outputs, axis=0)
    target = targets[:len(prediction)]
    return {name: metric(prediction, target) for name, metric in resolved_metrics}
