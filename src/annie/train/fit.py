"""``fit``, ``evaluate`` and ``predict``: the training loop of the lecture in one place.

One step of mini-batch gradient descent: forward pass, loss, backward pass (dL/dw for every
weight), optimizer update w <- w - lr * (update from dL/dw). One epoch shows every training
sample once, in a fresh random order when ``shuffle`` is on.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Iterable, Sequence

import numpy as np

from .. import backend
from ..errors import ConfigError, DataError, ShapeError
from ..tensor import Tensor, no_grad
from .callbacks import Callback, FitState, TerminateOnNaN
from .history import History
from .metrics import get_metric
from .progress import Progress


# ----- checking and preparing the inputs ---------------------------------------------------
def _as_data_array(value, name: str, who: str) -> np.ndarray:
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise DataError(f"{who}: {name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise DataError(f"{who}: {name} is empty (shape {array.shape})")
    return array


def _check_finite(array: np.ndarray, name: str, who: str) -> None:
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise DataError(f"{who}: {name} contains NaN or inf (first at index {tuple(bad)}, value "
                        f"{array[tuple(bad)]}); clean the data or pass check_finite=False")


def _model_dtype(model) -> np.dtype:
    params = model.parameters()
    return params[0].data.dtype if params else backend.get_default_dtype()


def _prepare(model, X, y, who: str, check_finite: bool) -> tuple[np.ndarray, np.ndarray]:
    X = _as_data_array(X, "X", who)
    y = _as_data_array(y, "y", who)
    if len(X) != len(y):
        raise ShapeError(f"{who}: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                         f"(shape {y.shape})")
    if check_finite:
        _check_finite(X, "X", who)
        _check_finite(y, "y", who)
    dtype = _model_dtype(model)
    if X.dtype != dtype and X.dtype.kind in "biuf":
        X = X.astype(dtype)
    if y.dtype.kind == "f" and y.dtype != dtype:
        y = y.astype(dtype)
    return X, y


def resolve_loss(loss) -> Callable:
    """A loss given as a function, a loss object or a name -> a callable (prediction, target)."""
    if isinstance(loss, str):
        from .. import losses
        resolved = losses.get_loss(loss)
        return resolved() if isinstance(resolved, type) else resolved
    if not callable(loss):
        raise ConfigError(f"loss must be a function, a loss object or a name, got "
                          f"{type(loss).__name__}")
    return loss


def _check_positive_int(value, name: str, who: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{who}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _output(prediction):
    """The prediction of a model that returns ``(output, state)`` is its output."""
    return prediction[0] if type(prediction) is tuple else prediction


# ----- evaluate and predict ----------------------------------------------------------------
def _forward_in_batches(model, X: np.ndarray, batch_size: int):
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                yield start, _output(model(Tensor(X[start:start + batch_size])))
    finally:
        model.train(was_training)


def predict(model, X, batch_size: int = 32) -> np.ndarray:
    """The model's outputs for every row of X, in evaluation mode and without a graph."""
    batch_size = _check_positive_int(batch_size, "batch_size", "predict")
    X = _as_data_array(X, "X", "predict")
    dtype = _model_dtype(model)
    if X.dtype != dtype:
        X = X.astype(dtype)
    outputs = [output.data for _, output in _forward_in_batches(model, X, batch_size)]
    return np.concatenate(outputs, axis=0)


def evaluate(model, loss, X, y, batch_size: int = 32, metrics: Sequence = ()) -> dict:
    """Mean loss and each metric over (X, y), in evaluation mode: {"loss": ..., name: ...}.
    ``loss`` may be None to compute metrics only."""
    batch_size = _check_positive_int(batch_size, "batch_size", "evaluate")
    X, y = _prepare(model, X, y, "evaluate", check_finite=True)
    loss_fn = resolve_loss(loss) if loss is not None else None
    resolved = [get_metric(metric) for metric in metrics]
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
        X_val, y_val = _prepare(model, *validation_data, "fit (validation_data)", check_finite)
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


def _clip_by_value(params: list, clip_value: float) -> float:
    """Clip every gradient element to [-clip_value, clip_value]; return the largest |g| before."""
    largest = 0.0
    for param in params:
        if param.grad is not None:
            largest = max(largest, float(np.max(np.abs(param.grad))))
            np.clip(param.grad, -clip_value, clip_value, out=param.grad)
    return largest


def fit(model, loss, optimizer, X, y, epochs: int, batch_size: int = 32,
        validation_data: tuple | None = None, validation_split: float = 0.0,
        shuffle: bool = True, metrics: Sequence = (), callbacks: Iterable[Callback] = (),
        clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
        verbose: int = 1, seed: int | None = None, check_finite: bool = True) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent and return its History.

    Each step: prediction = model(X_batch); L = loss(prediction, y_batch); dL/dw by backward;
    optional clipping (``clip_grad_norm``: scale all gradients so their global L2 norm is at
    most the value; ``clip_grad_value``: clip each element); ``optimizer.step()``.
    ``loss`` is a function, a loss object or a name (``"cross_entropy"``). ``metrics`` are names
    or functions ``(prediction, target)``. ``validation_split`` holds out the last fraction of
    the samples. ``seed`` calls ``annie.manual_seed(seed)`` first (repeatable shuffling and
    dropout). ``TerminateOnNaN`` is always active. ``verbose``: 0 silent, 1 a progress bar
    (one line per epoch when output is not a terminal), 2 one line per epoch.
    """
    epochs = _check_positive_int(epochs, "epochs", "fit")
    batch_size = _check_positive_int(batch_size, "batch_size", "fit")
    if verbose not in (0, 1, 2):
        raise ConfigError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ConfigError(f"fit: {name} must be a positive number or None, got {value!r}")
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise ConfigError(f"fit: optimizer must have step() and zero_grad() (an annie.optim "
                          f"optimizer), got {type(optimizer).__name__}")
    X, y = _prepare(model, X, y, "fit", check_finite)
    X, y, validation = _split_validation(X, y, validation_data, validation_split, model,
                                         check_finite)
    n_train = len(X)
    if batch_size > n_train:
        raise ConfigError(f"fit: batch_size={batch_size} is larger than the {n_train} "
                          f"training samples")
    loss_fn = resolve_loss(loss)
    resolved_metrics = [get_metric(metric) for metric in metrics]
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
    # only callbacks that override on_batch_end cost anything per batch
    batch_callbacks = [c for c in callbacks if type(c).on_batch_end is not Callback.on_batch_end]
    params = [p for p in model.parameters() if p.requires_grad]
    if clip_grad_norm is not None:
        from ..nn.utils import clip_grad_norm_
    n_batches = math.ceil(n_train / batch_size)
    progress = Progress(verbose, epochs, n_batches)

    model.train()
    for callback in callbacks:
        callback.on_train_begin()
    for epoch in range(epochs):
        state.epoch = epoch
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        learning_rate = _current_lr(optimizer)
        progress.epoch_begin(epoch)
        started = time.perf_counter()
        if shuffle:
            order = backend.rng().permutation(n_train)
            X_epoch, y_epoch = X[order], y[order]
        else:
            X_epoch, y_epoch = X, y
        loss_sum, seen, outputs, norms, clipped = 0.0, 0, [], [], 0
        for batch in range(n_batches):
            start = batch * batch_size
            X_batch = X_epoch[start:start + batch_size]
            y_batch = y_epoch[start:start + batch_size]
            prediction = _output(model(Tensor(X_batch)))
            loss_tensor = loss_fn(prediction, Tensor(y_batch))
            loss_value = float(loss_tensor.data)
            if math.isfinite(loss_value):
                optimizer.zero_grad()
                loss_tensor.backward()
                if clip_grad_norm is not None:
                    norm = float(clip_grad_norm_(params, clip_grad_norm))
                    norms.append(norm)
                    clipped += norm > clip_grad_norm
                if clip_grad_value is not None:
                    largest = _clip_by_value(params, clip_grad_value)
                    clipped += largest > clip_grad_value
                optimizer.step()
                loss_sum += loss_value * len(X_batch)
                seen += len(X_batch)
            if resolved_metrics:
                outputs.append(prediction.data)
            for callback in batch_callbacks:
                callback.on_batch_end(batch, loss_value)
            if state.stop_training:
                break
            if progress.wants_running_values(batch):
                running = {"loss": loss_sum / max(seen, 1)}
                running.update(_metric_values(resolved_metrics, outputs, y_epoch))
                progress.batch_end(batch, running)
            else:
                progress.batch_end(batch, None)

        logs = {"loss": loss_sum / seen if seen else math.nan}
        logs.update(_metric_values(resolved_metrics, outputs, y_epoch))
        if validation is not None and not state.stop_training:
            results = evaluate(model, loss_fn, validation[0], validation[1],
                               batch_size=max(batch_size, 256), metrics=metrics)
            logs.update({f"val_{key}": value for key, value in results.items()})
            model.train()
        if learning_rate is not None:
            logs["lr"] = learning_rate
        if clip_grad_norm is not None and norms:
            logs["grad_norm"] = float(np.mean(norms))
            logs["grad_norm_max"] = float(np.max(norms))
        if clip_grad_norm is not None or clip_grad_value is not None:
            logs["clipped_fraction"] = clipped / max(batch + 1, 1)
        history.append(epoch, logs)
        progress.epoch_end(epoch, logs, time.perf_counter() - started)
        if not state.stop_training:
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
        if state.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end()
    history.stop_reason = state.stop_reason
    if state.stop_reason is not None:
        progress.message(f"stopped: {state.stop_reason}")
    return history


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
