"""``detect_anomaly()``: stop at the first op whose forward or backward produces NaN or inf.

Inside the context every op's forward outputs and every op's backward gradients are checked
(``annie.tensor`` calls the hooks in ``annie.tensor._anomaly_hooks``); the first non-finite
value raises ``NumericalError`` naming the op (its Function class), the phase, and the shapes of
its inputs and outputs. Checking costs one pass over every array, so use it to debug, not to
train.

    with annie.detect_anomaly():
        loss = losses.mse(model(x), y)
        loss.backward()          # NumericalError: "... Log (forward) produced nan ..."
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import NumericalError
from ..tensor import _anomaly_hooks  # the list annie.tensor calls; changed in place only

class AnomalyError(NumericalError):
    """NaN or inf found by ``detect_anomaly``; ``op``, ``phase``, ``input_shapes``,
    ``output_shapes`` say where."""

    def __init__(self, message: str, op: str, phase: str, input_shapes: list, output_shapes: list):
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.input_shapes = input_shapes
        self.output_shapes = output_shapes


def _is_finite(array: Any) -> bool:
    if array is None:
        return True
    array = np.asarray(array)
    if array.dtype.kind not in "fc":
        return True
    return bool(np.isfinite(array).all())


def _bad_kind(array: np.ndarray) -> str:
    has_nan = bool(np.isnan(array).any())
    has_inf = bool(np.isinf(array).any())
    return "nan and inf" if has_nan and has_inf else ("nan" if has_nan else "inf")


def _describe(arrays: Sequence[Any] | None) -> str:
    """``(2, 3) float32, (3,) float32 [nan]`` for a list of arrays (constants shown as such)."""
    if arrays is None:
        return "unknown"
    parts = []
    for array in arrays:
        if array is None:
            parts.append("none")
            continue
        value = np.asarray(array)
        flag = "" if _is_finite(value) else f" [{_bad_kind(value)}]"
        parts.append(f"{value.shape} {value.dtype}{flag}")
    return ", ".join(parts) if parts else "none"


class _AnomalyHook:
    """Called by annie.tensor as hook(phase, ctx, produced, received): in forward the op's
    outputs and its input arrays, in backward the gradients for its inputs and the gradients it
    received; raises on the first NaN/inf among ``produced``."""

    def __init__(self, check_forward: bool, check_backward: bool):
        self.check_forward = check_forward
        self.check_backward = check_backward

    def __call__(self, phase: str, ctx: Any, arrays: tuple, received: Sequence) -> None:
        if phase == "forward" and not self.check_forward:
            return
        if phase == "backward" and not self.check_backward:
            return
        bad = [i for i, array in enumerate(arrays) if not _is_finite(array)]
        if not bad:
            return
        op = type(ctx).__name__
        if phase == "forward":
            inputs = list(received)
            outputs = list(arrays)
            where = f"output {bad[0]}"
            finite_inputs = inputs is not None and all(_is_finite(item) for item in inputs)
            cause = ("its inputs are finite, so this op made the non-finite value" if finite_inputs
                     else "its inputs already hold nan/inf (from data or a computation "
                          "outside annie's ops)" if inputs is not None else "")
        else:
            parents = getattr(ctx, "parents", ())
            inputs = [parent.data for parent in parents]
            outputs = list(received)
            where = f"gradient for input {bad[0]}"
            finite_grads = outputs is not None and all(_is_finite(item) for item in outputs)
            cause = ("the gradient it received is finite, so its backward made the non-finite "
                     "value" if finite_grads else "")
        message = (f"detect_anomaly: {op} ({phase}) produced {_bad_kind(np.asarray(arrays[bad[0]]))} "
                   f"in its {where}, shape {np.shape(arrays[bad[0]])}; inputs: {_describe(inputs)}; "
                   f"{'outputs' if phase == 'forward' else 'gradients received'}: "
                   f"{_describe(outputs)}")
        if cause:
            message += f"; {cause}"
        raise AnomalyError(message, op, phase,
                           [np.shape(item) for item in inputs] if inputs is not None else None,
                           [np.shape(item) for item in outputs if item is not None]
                           if outputs is not None else None)


@contextlib.contextmanager
def detect_anomaly(check_forward: bool = True, check_backward: bool = True) -> Iterator[None]:
    """Context (or decorator) that raises NumericalError at the first op whose forward output or
    backward gradient holds NaN or inf, naming the op, the phase and the shapes involved.
    Process-wide, as PyTorch's anomaly mode: while it is on, the ops of every thread are
    checked (``no_grad`` instead holds per thread)."""
    hook = _AnomalyHook(check_forward, check_backward)
    hooks = _anomaly_hooks
    hooks.append(hook)
    try:
        yield
    finally:
        for index, installed in enumerate(hooks):
            if installed is hook:
                del hooks[index]
                break
