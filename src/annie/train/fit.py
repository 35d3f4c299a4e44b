"""``fit``, ``evaluate`` and ``predict``: the training loop of the lecture in one place.

One step of mini-batch gradient descent: forward pass, loss, backward pass (dL/dw for every
weight), optimizer update w <- w - lr * (update from dL/dw). One epoch shows every training
sample once, in a fresh random order when ``shuffle`` is on.
"""
from __future__ import annotations

import numbers
import os
from typing import Iterable, Sequence

import numpy as np

from .. import backend
from ..errors import ConfigError, DataError, check_positive_int
from ..tensor import Tensor
from . import tbptt as truncation
from .callbacks import Callback, CallbackList, FitState, TerminateOnNaN
from .checkpoint import BackupAndRestore
from .history import History
from .inputs import as_data_array, cast_inputs, prepare, resolve_loss, resolve_metrics
from .loss_average import LossAverage
from .progress import Progress
from .step import EpochTotals, FitSettings, Stepper, model_output as _output

__all__ = ["fit", "evaluate", "predict", "resolve_loss"]


# ----- evaluate and predict ----------------------------------------------------------------
def _forward_in_batches(model, X: np.ndarray, batch_size: int):
    """Outputs batch by batch in evaluation mode; stateful recurrent layers start every batch
    from zeros here (rows are independent sequences) and keep the state they carried."""
    with model.evaluating(), truncation.paused_state(truncation.stateful_layers(model)):
        for start in range(0, len(X), batch_size):
            yield start, _output(model(Tensor(X[start:start + batch_size])))


def predict(model, X, batch_size: int = 32) -> np.ndarray:
    """The model's outputs for every row of X, in evaluation mode and without a graph."""
    batch_size = check_positive_int(batch_size, "batch_size", "predict")
    X = cast_inputs(model, as_data_array(X, "X", "predict"))
    outputs = [output.data for _, output in _forward_in_batches(model, X, batch_size)]
    return np.concatenate(outputs, axis=0)


def evaluate(model, loss, X, y, batch_size: int = 32, metrics: Sequence = ()) -> dict:
    """The loss and each metric over the whole of (X, y), in evaluation mode:
    ``{"loss": ..., name: ...}``. The loss is that of the whole set whatever ``batch_size``
    (a weighted mean divides by the summed weights, a sum is the total: see
    ``annie.train.loss_average``); the metrics are computed on all the predictions at once.
    ``loss`` may be None to compute metrics only."""
    batch_size = check_positive_int(batch_size, "batch_size", "evaluate")
    X, y = prepare(model, X, y, "evaluate", check=True)
    loss_fn = resolve_loss(loss, "evaluate") if loss is not None else None
    average = LossAverage(loss_fn, "evaluate") if loss_fn is not None else None
    resolved = resolve_metrics(metrics, loss_fn, "evaluate")
    parts = counts = 0.0
    outputs = []
    for start, output in _forward_in_batches(model, X, batch_size):
        if loss_fn is not None:
            target = y[start:start + batch_size]
            part, count = average.share(float(loss_fn(output, Tensor(target)).data),
                                        output.data, target)
            parts, counts = parts + part, counts + count
        if resolved:
            outputs.append(output.data)
    results = {}
    if loss_fn is not None:
        results["loss"] = average.value(parts, counts)
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
        checkpoint_every: int | str = "epoch", resume: bool = False,
        checkpoint_seconds: float = 0.0) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent and return its History.

    Each step: prediction = model(X_batch); L = loss(prediction, y_batch); dL/dw by backward;
    optional clipping (``clip_grad_norm``: scale all gradients so their global L2 norm is at
    most the value; ``clip_grad_value``: clip each element); ``optimizer.step()``.
    ``loss`` is a function, a loss object, a loss class (made with its defaults, as in Keras:
    ``losses.CrossEntropy`` is ``losses.CrossEntropy()``) or a name (``"cross_entropy"``).
    ``metrics`` are names, functions ``(prediction, target)`` or classes of such callables.
    ``validation_split`` holds out the last fraction of the samples. ``seed`` calls
    ``annie.manual_seed(seed)`` first (repeatable shuffling and dropout). ``TerminateOnNaN``
    is always active. ``verbose``: 0 silent, 1 a progress bar
    (a widget in a notebook; one line per epoch when output is not a terminal), 2 one line per
    epoch (see ``annie.train.progress``). The epoch's ``loss`` and ``val_loss`` are those of the
    whole set, whatever the batch size (see ``annie.train.loss_average``).

    ``tbptt=k``: truncated backpropagation through time for sequences X (batch, T, features):
    one optimizer step per chunk of k time steps, the recurrent state carried (detached) from
    chunk to chunk (see ``annie.train.tbptt``). Recurrent layers built with ``stateful=True``
    carry their state from batch to batch; fit resets it at the start of every epoch.

    ``checkpoint_dir``: write a checkpoint there (atomically, replacing the previous one) at
    every epoch end (``checkpoint_every="epoch"``) or every N batches (``checkpoint_every=N``),
    at most once per ``checkpoint_seconds`` (default 0: every time; a write takes a few
    milliseconds, longer than an epoch of a small model, so e.g. 10 keeps its cost negligible),
    and always at the end. ``resume=True`` continues from that checkpoint: weights, optimizer,
    callbacks, RNG, position in the epoch and history, so the run ends exactly as an
    uninterrupted one (the ``BackupAndRestore`` callback does it).

    Around the optimizer steps everything is a callback (``annie.train.callbacks``), called in
    this order: the History, progress output (unless ``callbacks`` has its own ``Progress``),
    ``callbacks`` (with ``TerminateOnNaN``), then ``BackupAndRestore``.
    """
    if verbose not in (0, 1, 2):
        raise ConfigError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    if resume and checkpoint_dir is None:
        raise ConfigError("fit: resume=True needs checkpoint_dir (the folder of the checkpoint)")
    settings = _settings(model, optimizer, loss=loss, X=X, y=y, epochs=epochs,
                         batch_size=batch_size, validation_data=validation_data,
                         validation_split=validation_split, shuffle=shuffle, metrics=metrics,
                         clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value,
                         check_finite=check_finite, tbptt=tbptt)
    callbacks = list(callbacks)
    backups = [callback for callback in callbacks if isinstance(callback, BackupAndRestore)]
    if checkpoint_dir is not None:
        if backups:
            raise ConfigError("fit: give checkpoint_dir or a BackupAndRestore callback, not both")
        backups = [BackupAndRestore(checkpoint_dir, checkpoint_every, resume,
                                    checkpoint_seconds)]
    callbacks = [callback for callback in callbacks if callback not in backups]
    if not any(isinstance(callback, TerminateOnNaN) for callback in callbacks):
        callbacks.insert(0, TerminateOnNaN())
    progress = [Progress(verbose)] if verbose and not any(
        isinstance(callback, Progress) for callback in callbacks) else []
    history = History()
    callbacks = [history, *progress, *callbacks, *backups]
    if seed is not None:
        backend.manual_seed(seed)
    history.params = {"epochs": settings.epochs, "batch_size": settings.batch_size,
                      "samples": len(settings.X), "validation_samples":
                      0 if settings.validation is None else len(settings.validation[0])}
    state = FitState(model=model, optimizer=optimizer, history=history, epochs=settings.epochs,
                     settings=settings)
    callbacks = CallbackList(callbacks, state)
    stepper = Stepper(model, optimizer, settings)
    model.train()
    callbacks.on_train_begin()  # BackupAndRestore, last, may move the run to its checkpoint
    with truncation.carrying_state(list(settings.recurrent) if settings.tbptt else []):
        for epoch in range(state.epoch, settings.epochs):
            if state.stop_training:
                break
            _run_epoch(epoch, state, callbacks, stepper)
    callbacks.on_train_end()
    return history


def _settings(model, optimizer, *, loss, X, y, epochs, batch_size, validation_data,
              validation_split, shuffle, metrics, clip_grad_norm, clip_grad_value, check_finite,
              tbptt) -> FitSettings:
    """``fit``'s arguments checked and resolved into one settings object."""
    epochs = check_positive_int(epochs, "epochs", "fit")
    batch_size = check_positive_int(batch_size, "batch_size", "fit")
    for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                  or not value > 0):
            raise ConfigError(f"fit: {name} must be a positive number or None, got {value!r}")
    clip_grad_norm, clip_grad_value = (None if value is None else float(value)
                                       for value in (clip_grad_norm, clip_grad_value))
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise ConfigError(f"fit: optimizer must have step() and zero_grad() (an annie.optim "
                          f"optimizer), got {type(optimizer).__name__}")
    X, y = prepare(model, X, y, "fit", check_finite)
    X, y, validation = _split_validation(X, y, validation_data, validation_split, model,
                                         check_finite)
    tbptt = truncation.check_tbptt(tbptt, X, model)
    user_stateful = truncation.check_stateful(model, shuffle, len(X), batch_size)
    recurrent = truncation.recurrent_layers(model) if (tbptt or user_stateful) else []
    loss_fn = resolve_loss(loss, "fit")
    return FitSettings(X=X, y=y, validation=validation, epochs=epochs, batch_size=batch_size,
                       shuffle=shuffle, loss_fn=loss_fn, loss_average=LossAverage(loss_fn),
                       metrics=resolve_metrics(metrics, loss_fn, "fit"), metric_specs=tuple(metrics),
                       clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value,
                       tbptt=tbptt, keep_state=bool(user_stateful), recurrent=tuple(recurrent))


def _run_epoch(epoch: int, state: FitState, callbacks: CallbackList, stepper: Stepper) -> None:
    """One epoch: its batches (from where a resumed epoch stopped), then its logs (with
    validation) to the callbacks."""
    settings = state.settings
    state.epoch = epoch
    if state.totals is None:  # a fresh epoch (not one BackupAndRestore resumed midway)
        truncation.reset_states(truncation.stateful_layers(state.model))
        callbacks.on_epoch_begin(epoch)
        order = backend.rng().permutation(len(settings.X)) if settings.shuffle else None
        state.totals = EpochTotals(order=order, learning_rate=_current_lr(state.optimizer))
    totals = state.totals
    if totals.order is not None:
        X_epoch, y_epoch = settings.X[totals.order], settings.y[totals.order]
    else:
        X_epoch, y_epoch = settings.X, settings.y
    size = settings.batch_size
    for batch in range(totals.batch, settings.batches_per_epoch):
        loss_value = stepper.batch(X_epoch[batch * size:(batch + 1) * size],
                                   y_epoch[batch * size:(batch + 1) * size], totals)
        state.batches_done += 1
        callbacks.on_batch_end(batch, loss_value)
        if state.stop_training:
            break
    logs = _epoch_logs(state, totals)
    state.totals = None
    callbacks.on_epoch_end(epoch, logs)


def _epoch_logs(state: FitState, totals: EpochTotals) -> dict:
    """The epoch's loss and metrics, validation values, learning rate and clipping telemetry."""
    settings = state.settings
    logs = totals.logs(settings)
    if settings.validation is not None and not state.stop_training:
        with truncation.paused_state(list(settings.recurrent)):
            results = evaluate(state.model, settings.loss_fn, *settings.validation,
                               batch_size=max(settings.batch_size, 256),
                               metrics=settings.metric_specs)
        logs.update({f"val_{key}": value for key, value in results.items()})
        state.model.train()
    if totals.learning_rate is not None:
        logs["lr"] = totals.learning_rate
    if settings.clip_grad_norm is not None and totals.norms:
        logs["grad_norm"] = float(np.mean(totals.norms))
        logs["grad_norm_max"] = float(np.max(totals.norms))
    if settings.clip_grad_norm is not None or settings.clip_grad_value is not None:
        logs["clipped_fraction"] = totals.clipped / max(totals.steps, 1)
    return logs


def _current_lr(optimizer) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None
