"""What every loss shares: the ``reduction`` argument, turning inputs into tensors of one dtype,
shape checks, and the ``Loss`` base of the class forms (``losses.MSE()``, ...).

A loss first computes one value per element (or per sample), then ``reduction`` says what to
return: "mean" (their average, the lecture's 1/N sum), "sum", or "none" (the values themselves).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, DTypeError, ShapeError, plain_numbers
from ..tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: Any, loss_name: str, extra: tuple[str, ...] = ()) -> str:
    """Return ``reduction`` if it is one of "mean", "sum", "none" (or ``extra``), else ConfigError."""
    allowed = REDUCTIONS + extra
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ConfigError(f"{loss_name}: reduction must be one of {', '.join(map(repr, allowed))}, "
                          f"got {reduction!r}")
    return reduction


def reduce(per_element: Tensor, reduction: str) -> Tensor:
    """Apply a checked reduction to per-element loss values: mean, sum, or leave them ("none")."""
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    return per_element


def as_prediction(prediction: Any, loss_name: str) -> Tensor:
    """The prediction as a floating-point Tensor (ndarrays keep their dtype)."""
    if not isinstance(prediction, Tensor):
        prediction = Tensor(prediction)
    if prediction.dtype.kind != "f":
        raise DTypeError(f"{loss_name}: prediction must be floating point, got dtype "
                         f"{prediction.dtype}")
    return prediction


def as_float_target(target: Any, prediction: Tensor, loss_name: str) -> Tensor | np.ndarray:
    """The target in the prediction's dtype: a Tensor that needs a gradient must already have it;
    constants (ndarrays, lists, tensors without grad) are converted."""
    if isinstance(target, Tensor):
        if target.requires_grad:
            if target.dtype != prediction.dtype:
                raise DTypeError(f"{loss_name}: target (requires_grad) has dtype {target.dtype}, "
                                 f"prediction has dtype {prediction.dtype}; make them the same")
            return target
        target = target.data
    target = np.asarray(target)
    if target.dtype.kind not in "biuf":
        raise DTypeError(f"{loss_name}: target must be numeric, got dtype {target.dtype}")
    return target.astype(prediction.dtype, copy=False)


def check_same_shape(prediction: Tensor, target: Tensor | np.ndarray, loss_name: str) -> None:
    """ShapeError unless prediction and target have the same shape (no silent broadcasting)."""
    if tuple(prediction.shape) != tuple(np.shape(target)):
        raise ShapeError(f"{loss_name}: prediction has shape {tuple(prediction.shape)} but target "
                         f"has shape {tuple(np.shape(target))}; they must be equal")


def weighted_term(weight: Any, term: np.ndarray) -> np.ndarray:
    """weight * term, with 0 wherever the weight is 0 even if the term is infinite or undefined
    (the convention 0 log 0 = 0 of ``xlogy``): a target, class weight or mask of 0 removes the
    term, so a masked logit of -inf costs nothing where it is not the target."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(weight) == 0, 0, weight * term).astype(term.dtype, copy=False)


def data_of(value: Any) -> Any:
    """The ndarray behind a Tensor (other values unchanged)."""
    return value.data if isinstance(value, Tensor) else value


class Loss:
    """Base of the class forms: a loss function with ``reduction`` and its options fixed.

    ``loss = losses.MSE(); value = loss(prediction, target)`` is ``losses.mse(prediction, target)``.
    """

    function: Callable[..., Tensor]
    extra_reductions: tuple[str, ...] = ()  # reductions beyond mean/sum/none this loss accepts

    def __init__(self, reduction: str = "mean", **options: Any):
        self.reduction = check_reduction(reduction, type(self).__name__, self.extra_reductions)
        self.options = options

    def __call__(self, prediction: Any, target: Any) -> Tensor:
        """The loss of ``prediction`` against ``target`` with this object's reduction and options."""
        return type(self).function(prediction, target, reduction=self.reduction, **self.options)

    def __repr__(self) -> str:
        options = "".join(f", {name}={_short(value)}" for name, value in self.options.items())
        return plain_numbers(f"{type(self).__name__}(reduction={self.reduction!r}{options})")


def _short(value: Any) -> str:
    if isinstance(value, (np.ndarray, Tensor)):
        return f"<array shape {tuple(np.shape(data_of(value)))}>"
    return repr(value)
