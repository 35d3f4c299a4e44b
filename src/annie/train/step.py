"""One training step of ``fit``: forward, loss, backward, clipping, optimizer update (one per
chunk of time steps with truncated BPTT), and the running totals of an epoch."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, DTypeError, ShapeError
from ..tensor import Tensor, no_grad
from . import tbptt as truncation
from .inputs import loss_error


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





@dataclass
class EpochTotals:
    """The running numbers of one epoch: summed loss, samples seen, predictions (for the
    metrics), gradient norms, clipped and attempted optimizer steps, the shuffling order and the
    learning rate at its start. A checkpoint taken mid-epoch stores them."""

    order: np.ndarray | None = None
    learning_rate: float | None = None
    loss_sum: float = 0.0
    seen: int = 0
    outputs: list = field(default_factory=list)
    norms: list = field(default_factory=list)
    clipped: int = 0
    steps: int = 0

    def state_dict(self) -> dict:
        """The totals as a checkpoint tree (predictions joined into one array)."""
        return {"order": self.order, "learning_rate": self.learning_rate,
                "loss_sum": self.loss_sum, "seen": self.seen,
                "outputs": np.concatenate(self.outputs, axis=0) if self.outputs else None,
                "norms": list(self.norms), "clipped": self.clipped, "steps": self.steps}

    @classmethod
    def from_state(cls, state: dict) -> "EpochTotals":
        """The totals saved by :meth:`state_dict`."""
        outputs = [] if state["outputs"] is None else [state["outputs"]]
        return cls(order=state["order"], learning_rate=state["learning_rate"],
                   loss_sum=state["loss_sum"], seen=state["seen"], outputs=outputs,
                   norms=list(state["norms"]), clipped=state["clipped"], steps=state["steps"])


class Stepper:
    """One training batch: forward, loss, backward, clipping, optimizer step; with ``tbptt``
    one such step per chunk of time steps."""

    def __init__(self, model, loss_fn, optimizer, y: np.ndarray, clip_grad_norm,
                 clip_grad_value, tbptt: int | None, keep_state: bool, recurrent: list):
        self.model, self.loss_fn, self.optimizer, self.y = model, loss_fn, optimizer, y
        self.clip_grad_norm, self.clip_grad_value = clip_grad_norm, clip_grad_value
        self.tbptt, self.keep_state, self.recurrent = tbptt, keep_state, recurrent
        self.params = [p for p in model.parameters() if p.requires_grad]
        if clip_grad_norm is not None:
            from ..nn.utils import clip_grad_norm_
            self.clip_grad_norm_ = clip_grad_norm_

    def step(self, X_part, y_part, totals: EpochTotals, batch: int) -> tuple[float, np.ndarray]:
        """One optimizer step on (X_part, y_part); skipped when the loss is not finite."""
        prediction = model_output(self.model(Tensor(X_part)))
        try:
            loss_tensor = self.loss_fn(prediction, Tensor(y_part))
        except (ShapeError, DTypeError, DataError) as error:
            raise loss_error(error, "fit", batch, prediction.shape, y_part.shape, self.y) from None
        loss_value = float(loss_tensor.data)
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
        return loss_value, prediction.data

    def batch(self, X_batch, y_batch, totals: EpochTotals, batch: int) -> tuple[float, np.ndarray]:
        """Train on one batch; returns its loss and the model's prediction for it."""
        if self.tbptt is None:
            return self.step(X_batch, y_batch, totals, batch)
        if not self.keep_state:  # new sequences: start from zeros
            truncation.reset_states(self.recurrent)
        steps = X_batch.shape[1]
        pieces = truncation.chunks(steps, self.tbptt)
        if not truncation.targets_per_step(y_batch, steps):
            with no_grad():  # the earlier chunks only carry the state forward
                for piece in pieces[:-1]:
                    self.model(Tensor(X_batch[:, piece]))
            return self.step(X_batch[:, pieces[-1]], y_batch, totals, batch)
        losses, outputs = [], []
        for piece in pieces:
            loss_value, output = self.step(X_batch[:, piece], y_batch[:, piece], totals, batch)
            losses.append(loss_value)
            outputs.append(output)
        if len(pieces) == 1:
            return losses[0], outputs[0]
        # the batch's loss: the chunk losses weighted by their number of time steps
        weighted = sum(value * (piece.stop - piece.start) for value, piece in zip(losses, pieces))
        return weighted / steps, np.concatenate(outputs, axis=1)


