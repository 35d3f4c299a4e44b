"""``gradient_flow(model, loss, X, y)``: how large dL/dh_t is at every time step of every
recurrent layer, and for the other layers (an MLP) the gradient and activation statistics.

Recurrent layers and cells: the fused kernels hold h_t only inside one op, so for the
measurement every recurrent module runs through its public per-step seam,
``with module.stepwise(watch):`` (``nn.rnn_cells.Stepwise``): one step at a time with the cell
formula and its own parameters (nothing is copied). The watch passes every h_t through an
identity op, a "probe", whose backward records the gradient it receives: the total derivative
dL/dh_t = dL/d output_t + dL/dh_{t+1} * dh_{t+1}/dh_t. The model's own ``forward`` runs
unchanged, so any Sequential or user Module containing RNN/LSTM/GRU layers (stacked,
bidirectional, with lengths) or cells called in a loop works.

Other layers (every module without sub-modules whose output is one tensor): its output is
probed too, giving ||dL/d output||, the output's mean and standard deviation, the fraction of
dead units (zero for every sample in the batch, the dead-ReLU fraction) and ||dL/dW||.
Existing ``.grad`` arrays of the parameters are left as they were.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ConfigError, ShapeError
from ..nn.module import Module
from ..nn.rnn_cells import Stepwise
from ..registry import as_callable
from ..tensor import Function, Tensor, enable_grad

_MISSING = object()


class Probe(Function):
    """Identity y = h whose backward hands dL/dh to ``record(grad)`` and passes it on."""

    def forward(ctx, h, record=None):
        ctx.record = record
        return h

    def backward(ctx, grad_output):
        ctx.record(grad_output)
        return grad_output


class _StepRecorder:
    """The dL/dh_t arrays of one (layer, direction), one slot per step of every call."""

    def __init__(self):
        self.calls: list[list] = []  # per call of the layer: per caller time step, grad or None

    def new_call(self, steps: int) -> list:
        slots = [None] * steps
        self.calls.append(slots)
        return slots

    def norms(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean over the batch of per-sample L2 norms, batch-total L2 norm) per step."""
        per_sample, total = [], []
        for slots in self.calls:
            for grad in slots:
                if grad is None:  # the loss does not depend on this state
                    per_sample.append(0.0)
                    total.append(0.0)
                    continue
                flat = grad.reshape(grad.shape[0], -1).astype(np.float64)
                per_sample.append(float(np.linalg.norm(flat, axis=1).mean()))
                total.append(float(np.linalg.norm(flat)))
        return np.asarray(per_sample), np.asarray(total)


def _probe(h: Tensor, slots: list, index: int) -> Tensor:
    def record(grad):
        slots[index] = np.array(grad, copy=True)
    return Probe.apply(h, record=record)


def _probing_watch(recorders: dict, module_name: str, fallback: str):
    """A ``Stepwise`` watch that probes h_t of every step, one recorder per key (the module's
    name, then its (layer, direction) name: "rnn.l0"; ``fallback`` for a nameless cell), a
    new row of slots per sequence."""

    def watch(name: str, steps: int):
        key = ".".join(part for part in (module_name, name) if part) or fallback
        slots = recorders.setdefault(key, _StepRecorder()).new_call(steps)

        def on_state(t: int, state: tuple) -> tuple:
            return (_probe(state[0], slots, t), *state[1:])
        return on_state

    return watch


@dataclass
class _LayerRecord:
    name: str
    module: Module
    outputs: list = field(default_factory=list)   # output arrays, one per call
    grads: list = field(default_factory=list)     # dL/d output per call (None: no gradient)


def _probing_leaf_forward(original, record: _LayerRecord):
    """A stand-in for a leaf module's ``forward`` that probes its output tensor."""

    def forward(*args, **kwargs):
        result = original(*args, **kwargs)
        if not isinstance(result, Tensor) or not result.requires_grad:
            return result
        index = len(record.outputs)
        record.outputs.append(result.data)
        record.grads.append(None)
        return _probe(result, record.grads, index)

    return forward


def _statistics(record: _LayerRecord) -> dict:
    """Activation and gradient statistics of one leaf module's recorded calls."""
    outputs = [np.asarray(out, dtype=np.float64) for out in record.outputs]
    values = np.concatenate([out.reshape(-1) for out in outputs])
    units = [out.reshape(-1, out.shape[-1]) if out.ndim > 1 else out.reshape(-1, 1)
             for out in outputs]
    same_width = len({u.shape[1] for u in units}) == 1
    dead = (float(np.mean(np.all(np.concatenate(units) == 0, axis=0))) if same_width
            else float("nan"))
    grads = [g for g in record.grads if g is not None]
    grad_norm = (float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
                 if grads else 0.0)
    weight = vars(record.module).get("weight")
    weight_norm = (float(np.linalg.norm(weight.grad.astype(np.float64)))
                   if isinstance(weight, Tensor) and weight.grad is not None else float("nan"))
    return {"output_grad_norm": grad_norm, "activation_mean": float(values.mean()),
            "activation_std": float(values.std()), "dead_fraction": dead,
            "weight_grad_norm": weight_norm}


class GradientFlow:
    """What ``gradient_flow`` measured.

    Recurrent layers (keys like ``"rnn.l0"``, ``"rnn.l0_reverse"``, arrays in the caller's time
    order, t = 0 first): ``hidden_grad_norm[key][t]`` = mean over the batch of ||dL/dh_t|| per
    sample, ``hidden_grad_norm_total[key][t]`` = ||dL/dh_t|| of the whole batch.
    Other layers (one entry per layer in ``layer_names``): ``weight_grad_norm`` (NaN when the
    layer has no weight), ``output_grad_norm``, ``activation_mean``, ``activation_std`` and
    ``dead_fraction`` (units that are 0 for every sample).
    """

    def __init__(self, loss: float, hidden_grad_norm: dict, hidden_grad_norm_total: dict,
                 layer_names: list, layer_types: list, layer_stats: list):
        self.loss = loss
        self.hidden_grad_norm: dict[str, np.ndarray] = hidden_grad_norm
        self.hidden_grad_norm_total: dict[str, np.ndarray] = hidden_grad_norm_total
        self.layer_names: list[str] = layer_names
        self.layer_types: list[str] = layer_types
        for key in ("weight_grad_norm", "output_grad_norm", "activation_mean", "activation_std",
                    "dead_fraction"):
            setattr(self, key, np.asarray([stats[key] for stats in layer_stats], dtype=np.float64))

    def vanishing_ratio(self, key: str | None = None) -> float:
        """||dL/dh_1|| / ||dL/dh_T|| (mean per-sample norms, caller's time order) of a recurrent
        layer (default: the first); far below 1 means the gradient vanishes toward early steps."""
        if not self.hidden_grad_norm:
            raise ConfigError("vanishing_ratio: the model has no recurrent layer")
        key = next(iter(self.hidden_grad_norm)) if key is None else key
        if key not in self.hidden_grad_norm:
            raise ConfigError(f"vanishing_ratio: no recurrent layer {key!r}; "
                              f"measured {list(self.hidden_grad_norm)}")
        norms = self.hidden_grad_norm[key]
        return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("inf")

    def summary(self) -> str:
        """A readable table: per recurrent layer the norms at a few steps, per other layer the
        gradient and activation statistics."""
        lines = [f"gradient flow (loss {self.loss:.6g})"]
        for key, norms in self.hidden_grad_norm.items():
            steps = len(norms)
            picks = sorted({0, steps // 4, steps // 2, (3 * steps) // 4, steps - 1})
            shown = ", ".join(f"t={t + 1}: {norms[t]:.3g}" for t in picks)
            lines.append(f"  {key}: ||dL/dh_t|| over {steps} steps: {shown}; "
                         f"ratio t=1/t={steps}: {self.vanishing_ratio(key):.3g}")
        if self.layer_names:
            width = max(len(name) for name in ["layer", *self.layer_names]) + 2
            lines.append(f"  {'layer':<{width}}{'type':<12}{'|dL/dW|':>11}{'|dL/dout|':>11}"
                         f"{'act mean':>11}{'act std':>11}{'dead':>7}")
            for i, name in enumerate(self.layer_names):
                weight = ("-" if np.isnan(self.weight_grad_norm[i])
                          else f"{self.weight_grad_norm[i]:.3g}")
                dead = "-" if np.isnan(self.dead_fraction[i]) else f"{self.dead_fraction[i]:.0%}"
                lines.append(f"  {name:<{width}}{self.layer_types[i]:<12}{weight:>11}"
                             f"{self.output_grad_norm[i]:>11.3g}{self.activation_mean[i]:>11.3g}"
                             f"{self.activation_std[i]:>11.3g}{dead:>7}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"GradientFlow(recurrent={list(self.hidden_grad_norm)}, "
                f"layers={self.layer_names})")

    def plot(self, path, title: str | None = None) -> None:
        """Save a PNG: ||dL/dh_t|| against t on a log axis (one line per recurrent layer and
        direction) and/or per-layer bars of the gradient norms. Needs matplotlib."""
        from .plots import plot_gradient_flow
        plot_gradient_flow(self, path, title=title)


def _patch(module: Module, attribute: str, replacement, patched: list) -> None:
    patched.append((module, attribute, vars(module).get(attribute, _MISSING)))
    object.__setattr__(module, attribute, replacement)


def _restore(patched: list) -> None:
    for module, attribute, previous in reversed(patched):
        if previous is _MISSING:
            vars(module).pop(attribute, None)
        else:
            object.__setattr__(module, attribute, previous)


def gradient_flow(model: Module, loss: Callable, X, y, **forward_kwargs) -> GradientFlow:
    """Run ``loss(model(X), y)`` forward and backward once and measure the gradient flow:
    ||dL/dh_t|| for every time step t of every recurrent layer and direction, and per other
    layer ||dL/dW||, ||dL/d output||, the output's mean/std and its dead-unit fraction.
    A model returning ``(output, state)`` is scored on ``output``; ``forward_kwargs`` (e.g.
    ``lengths=``) go to the model. The model's mode (train/eval) and existing grads are kept."""
    if not isinstance(model, Module):
        raise ConfigError(f"gradient_flow: model must be an annie.nn.Module, "
                          f"got {type(model).__name__}")
    if isinstance(loss, str):
        from .. import losses
        loss = losses.get_loss(loss)
    loss = as_callable(loss, "loss", "gradient_flow")
    recorders: dict[str, _StepRecorder] = {}
    records: list[_LayerRecord] = []
    patched: list = []
    stepwise = contextlib.ExitStack()
    seen: set[int] = set()
    for name, module in model.named_modules():
        if id(module) in seen:
            continue
        seen.add(id(module))
        if isinstance(module, Stepwise):  # recurrent layers and cells: the per-step seam
            watch = _probing_watch(recorders, name, type(module).__name__)
            stepwise.enter_context(module.stepwise(watch))
        elif not any(True for _ in module.children()):
            record = _LayerRecord(name or type(module).__name__, module)
            records.append(record)
            _patch(module, "forward", _probing_leaf_forward(module.forward, record), patched)
    params = model.parameters()
    saved_grads = [param.grad for param in params]
    try:
        for param in params:
            param.grad = None
        with enable_grad():
            inputs = X if isinstance(X, Tensor) else Tensor(np.asarray(X))
            prediction = model(inputs, **forward_kwargs)
            if type(prediction) is tuple:
                prediction = prediction[0]
            target = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
            loss_tensor = loss(prediction, target)
        if not isinstance(loss_tensor, Tensor) or loss_tensor.size != 1:
            raise ShapeError(f"gradient_flow: the loss must be a one-element tensor, got "
                             f"{getattr(loss_tensor, 'shape', type(loss_tensor).__name__)}")
        if loss_tensor.requires_grad:
            loss_tensor.backward()
        used = [record for record in records if record.outputs]
        stats = [_statistics(record) for record in used]
    finally:
        stepwise.close()
        _restore(patched)
        for param, grad in zip(params, saved_grads):
            param.grad = grad
    norms = {key: recorder.norms() for key, recorder in recorders.items()}
    return GradientFlow(float(loss_tensor.data), {k: v[0] for k, v in norms.items()},
                        {k: v[1] for k, v in norms.items()},
                        [record.name for record in used],
                        [type(record.module).__name__ for record in used], stats)


def activation_statistics(model: Module, X, **forward_kwargs) -> dict[str, dict[str, float]]:
    """Forward X once (no backward) and return, per layer without sub-modules, the output's
    mean, std and dead-unit fraction (units 0 for every sample): {name: {"mean", "std", "dead"}}."""
    if not isinstance(model, Module):
        raise ConfigError(f"activation_statistics: model must be an annie.nn.Module, "
                          f"got {type(model).__name__}")
    records: list[_LayerRecord] = []
    patched: list = []
    seen: set[int] = set()
    for name, module in model.named_modules():
        if id(module) in seen or any(True for _ in module.children()):
            continue
        seen.add(id(module))
        record = _LayerRecord(name or type(module).__name__, module)
        records.append(record)
        original = module.forward

        def forward(*args, _original=original, _record=record, **kwargs):
            result = _original(*args, **kwargs)
            if isinstance(result, Tensor):
                _record.outputs.append(result.data)
            return result
        _patch(module, "forward", forward, patched)
    try:
        from ..tensor import no_grad
        with no_grad():
            model(X if isinstance(X, Tensor) else Tensor(np.asarray(X)), **forward_kwargs)
    finally:
        _restore(patched)
    result = {}
    for record in records:
        if record.outputs:
            stats = _statistics(record)
            result[record.name] = {"mean": stats["activation_mean"], "std": stats["activation_std"],
                                   "dead": stats["dead_fraction"]}
    return result
