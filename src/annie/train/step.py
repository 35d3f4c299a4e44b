"""One training step of ``fit``: forward, loss, backward, clipping, optimizer update (one per
chunk of time steps with truncated BPTT), the settings of a run and the running totals of an
epoch."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, DTypeError, ShapeError
from ..tensor import Tensor, no_grad
from . import tbptt as truncation
from .inputs import loss_error
from .loss_average import LossAverage


def model_output(prediction):
    """The prediction of a model that returns ``(output, state)`` is its output."""
    return prediction[0] if type(prediction) is tuple else prediction


def _clip_by_value(params: list, clip_value: float) -> float:
    """Clip every gradient element to [-clip_value, clip_value]; return the largest |g| before."""
    largest = 0.0
    for param in params:
        if param.grad is not None:
            largest = max(largest, float(np.max(np.abs(param.grad))))
            np.clip(param.grad, -clip_value, clip_value, out=param.grad)
    return largest


@dataclass(frozen=True, eq=False)
class FitSettings:
    """The checked arguments of one ``fit`` run: training data, loss, metrics, batching,
    clipping and truncated BPTT (see ``fit`` for each)."""

    X: np.ndarray
    y: np.ndarray
    validation: tuple | None  # (X_val, y_val)
    epochs: int
    batch_size: int
    shuffle: bool
    loss_fn: object
    loss_average: LossAverage
    metrics: list  # (name, metric(prediction, target)) pairs
    metric_specs: tuple  # the metrics as the user gave them (for evaluate on validation data)
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None
    tbptt: int | None = None
    keep_state: bool = False  # the user's stateful layers carry their state across batches
    recurrent: tuple = ()  # the layers that carry a state (with tbptt or stateful layers)

    @property
    def batches_per_epoch(self) -> int:
        """ceil(training samples / batch_size): the last batch may be shorter."""
        return math.ceil(len(self.X) / self.batch_size)


@dataclass
class EpochTotals:
    """The running numbers of one epoch: the next batch, the loss's summed parts and counts
    (``LossAverage``), predictions (for the metrics), gradient norms, clipped and attempted
    optimizer steps, the shuffling order and the learning rate at its start. A checkpoint taken
    mid-epoch stores them."""

    order: np.ndarray | None = None
    learning_rate: float | None = None
    batch: int = 0
    loss_parts: float = 0.0
    loss_counts: float = 0.0
    outputs: list = field(default_factory=list)
    norms: list = field(default_factory=list)
    clipped: int = 0
    steps: int = 0

    def targets(self, y: np.ndarray, count: int) -> np.ndarray:
        """The targets of the epoch's first ``count`` samples, in its order."""
        return y[self.order[:count]] if self.order is not None else y[:count]

    def logs(self, settings: FitSettings) -> dict:
        """The epoch's loss and metrics over its batches so far: ``{"loss": ..., name: ...}``."""
        logs = {"loss": settings.loss_average.value(self.loss_parts, self.loss_counts)}
        if settings.metrics and self.outputs:
            prediction = np.concatenate(self.outputs, axis=0)
            target = self.targets(settings.y, len(prediction))
            logs.update({name: metric(prediction, target) for name, metric in settings.metrics})
        return logs

    def state_dict(self) -> dict:
        """The totals as a checkpoint tree (predictions joined into one array)."""
        return {"order": self.order, "learning_rate": self.learning_rate, "batch": self.batch,
                "loss_parts": self.loss_parts, "loss_counts": self.loss_counts,
                "outputs": np.concatenate(self.outputs, axis=0) if self.outputs else None,
                "norms": list(self.norms), "clipped": self.clipped, "steps": self.steps}

    @classmethod
    def from_state(cls, state: dict) -> "EpochTotals":
        """The totals saved by :meth:`state_dict`."""
        outputs = [] if state["outputs"] is None else [state["outputs"]]
        return cls(**{**state, "outputs": outputs, "norms": list(state["norms"])})


class Stepper:
    """One training batch: forward, loss, backward, clipping, optimizer step; with ``tbptt``
    one such step per chunk of time steps."""

    def __init__(self, model, optimizer, settings: FitSettings):
        self.model, self.optimizer, self.settings = model, optimizer, settings
        self.loss_fn, self.average = settings.loss_fn, settings.loss_average
        self.clip_grad_norm, self.clip_grad_value = settings.clip_grad_norm, settings.clip_grad_value
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.metrics_unchecked = bool(settings.metrics)
        if self.clip_grad_norm is not None:
            from ..nn.utils import clip_grad_norm_
            self.clip_grad_norm_ = clip_grad_norm_

    def step(self, X_part, y_part, totals: EpochTotals) -> tuple[float, tuple, np.ndarray]:
        """One optimizer step on (X_part, y_part), skipped when the loss is not finite, and
        when every target is ignored (``ignore_index``: no loss term, reported as 0).
        Returns the loss, its share of the epoch's loss (``LossAverage.share``) and the
        prediction."""
        prediction = model_output(self.model(Tensor(X_part)))
        try:
            loss_tensor = self.loss_fn(prediction, Tensor(y_part))
        except (ShapeError, DTypeError, DataError) as error:
            raise loss_error(error, "fit", totals.batch, prediction.shape, y_part.shape,
                             self.settings.y) from None
        loss_value = float(loss_tensor.data)
        share = self.average.share(loss_value, prediction.data, y_part)
        if share[1] == 0:  # every target ignored: no loss term, nothing to learn from
            return 0.0, share, prediction.data
        totals.steps += 1
        if math.isfinite(loss_value):
            self.optimizer.zero_grad()
            loss_tensor.backward()
            if self.clip_grad_norm is not None:
                norm = float(self.clip_grad_norm_(self.params, self.clip_grad_norm))
                totals.norms.append(norm)
                totals.clipped += norm > self.clip_grad_norm
            if self.clip_grad_value is not None:
                largest = _clip_by_value(self.params, self.clip_grad_value)
                totals.clipped += largest > self.clip_grad_value
            self.optimizer.step()
        return loss_value, share, prediction.data

    def batch(self, X_batch, y_batch, totals: EpochTotals) -> float:
        """Train on one batch and add it to ``totals`` (its loss when finite, its prediction
        when there are metrics); returns the batch's loss."""
        if self.settings.tbptt is None:
            loss_value, (part, count), prediction = self.step(X_batch, y_batch, totals)
        else:
            loss_value, (part, count), prediction = self._chunks(X_batch, y_batch, totals)
        if math.isfinite(loss_value):
            totals.loss_parts += part
            totals.loss_counts += count
        if self.settings.metrics:
            totals.outputs.append(prediction)
            if self.metrics_unchecked:
                self._check_metrics(prediction, y_batch)
        totals.batch += 1
        return loss_value

    def _check_metrics(self, prediction: np.ndarray, target: np.ndarray) -> None:
        """The metrics given by name, once on the first batch: one that does not fit the task
        (r2 on class scores, accuracy on values) is refused after one step, naming itself, not
        at the end of the first epoch."""
        self.metrics_unchecked = False
        for spec, (_, metric) in zip(self.settings.metric_specs, self.settings.metrics):
            if isinstance(spec, str):
                metric(prediction, target)

    def _chunks(self, X_batch, y_batch, totals: EpochTotals) -> tuple[float, tuple, np.ndarray]:
        """Truncated BPTT: one step per chunk of ``tbptt`` time steps (see ``annie.train.tbptt``)."""
        if not self.settings.keep_state:  # new sequences: start from zeros
            truncation.reset_states(self.settings.recurrent)
        steps = X_batch.shape[1]
        pieces = truncation.chunks(steps, self.settings.tbptt)
        if not truncation.targets_per_step(y_batch, steps):
            with no_grad():  # the earlier chunks only carry the state forward
                for piece in pieces[:-1]:
                    self.model(Tensor(X_batch[:, piece]))
            return self.step(X_batch[:, pieces[-1]], y_batch, totals)
        if len(pieces) == 1:
            return self.step(X_batch, y_batch, totals)
        part = count = 0.0
        outputs = []
        for piece in pieces:  # the batch's loss: its chunks' shares added up
            _, (chunk_part, chunk_count), output = self.step(X_batch[:, piece],
                                                             y_batch[:, piece], totals)
            part, count = part + chunk_part, count + chunk_count
            outputs.append(output)
        loss_value = self.average.value(part, count)
        return loss_value, (part, count), np.concatenate(outputs, axis=1)
