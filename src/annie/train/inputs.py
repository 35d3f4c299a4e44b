"""Checking what ``fit``/``evaluate``/``predict`` are given: data arrays, the loss, integer
arguments, and a clear message when the loss rejects a batch (naming the model's output shape,
the target's shape and, for class labels, the offending sample of y)."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from .. import backend
from ..errors import DataError, DTypeError, ShapeError
from ..registry import as_callable
from ..tensor import Tensor
from .loss_average import unwrap_loss


def _is_frame(value) -> bool:
    """True for a pandas DataFrame or Series (recognised without importing pandas)."""
    return hasattr(value, "to_numpy") and hasattr(value, "dtypes")


def _frame_array(frame, name: str, who: str) -> np.ndarray:
    """A DataFrame's or Series' values as an ndarray; DataError naming non-numeric columns."""
    dtypes = frame.dtypes if hasattr(frame.dtypes, "items") else {frame.name: frame.dtypes}
    text = [str(column) for column, dtype in dtypes.items()
            if getattr(dtype, "kind", "O") not in "biuf"]
    if text:
        raise DataError(f"{who}: {name} must be numeric; column(s) {text} of the DataFrame are "
                        f"not (encode text labels as numbers first)")
    array = frame.to_numpy()
    if array.dtype == object:  # pandas' nullable numbers: missing values become NaN
        array = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    return array


def as_data_array(value, name: str, who: str) -> np.ndarray:
    """``value`` (ndarray, Tensor, pandas DataFrame or Series, nested lists) as a non-empty
    numeric ndarray, else DataError."""
    if isinstance(value, Tensor):
        array = value.data
    elif _is_frame(value):
        array = _frame_array(value, name, who)
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise DataError(f"{who}: {name} is not a rectangular array: {error}") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise DataError(f"{who}: {name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise DataError(f"{who}: {name} is empty (shape {array.shape})")
    return array


def check_finite(array: np.ndarray, name: str, who: str) -> None:
    """DataError naming the first NaN/inf element of a float array."""
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise DataError(f"{who}: {name} contains NaN or inf (first at index {tuple(bad)}, value "
                        f"{array[tuple(bad)]}); clean the data or pass check_finite=False")


def model_dtype(model) -> np.dtype:
    """The dtype of the model's first parameter (the default dtype for a model without any)."""
    params = model.parameters()
    return params[0].data.dtype if params else backend.get_default_dtype()


def takes_token_ids(model) -> bool:
    """True when the first layer with parameters is an ``Embedding``: the model reads integer
    token ids, so its integer X must not be cast to floats."""
    from ..nn.embedding import Embedding
    for module in model.modules():
        if next(module._own_parameters(), None) is not None:
            return isinstance(module, Embedding)
    return False


def cast_inputs(model, X: np.ndarray) -> np.ndarray:
    """X cast to the model's float dtype, except integer X for a model that reads token ids
    (``takes_token_ids``), which is kept as it is."""
    dtype = model_dtype(model)
    if X.dtype == dtype or (X.dtype.kind in "iu" and takes_token_ids(model)):
        return X
    return X.astype(dtype)


def prepare(model, X, y, who: str, check: bool) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) checked (numeric, non-empty, same length, finite when ``check``) and cast: X to
    the model's dtype (integer token ids for an Embedding-first model stay integer, see
    ``cast_inputs``) and float y too; integer y (class labels) stays integer."""
    X = as_data_array(X, "X", who)
    y = as_data_array(y, "y", who)
    if len(X) != len(y):
        raise ShapeError(f"{who}: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                         f"(shape {y.shape})")
    if check:
        check_finite(X, "X", who)
        check_finite(y, "y", who)
    dtype = model_dtype(model)
    X = cast_inputs(model, X)
    if y.dtype.kind == "f" and y.dtype != dtype:
        y = y.astype(dtype)
    return X, y


class OneOutputTarget(functools.partial):
    """A loss that reads a target of shape (n, ...) as (n, ..., 1) when the model gives one
    output per sample, shape (n, ..., 1), as Keras does: ``y`` of shape (n,) trains a model
    ending in ``Linear(k, 1)`` with MSE, BCE or hinge. Every other shape pair goes to the loss
    unchanged (which names any mismatch). A ``functools.partial`` of the loss without
    arguments, so whoever inspects the loss (``loss_average``) sees the loss itself, its
    options and its reduction."""

    def __call__(self, prediction, target):
        target_shape = tuple(np.shape(target.data if isinstance(target, Tensor) else target))
        shape = tuple(prediction.shape)
        if len(shape) == len(target_shape) + 1 and shape[-1] == 1 \
                and shape[:-1] == target_shape:
            values = target.data if isinstance(target, Tensor) else np.asarray(target)
            target = Tensor(values.reshape(shape))
        return super().__call__(prediction, target)

    @property
    def options(self) -> dict:
        """The options of the loss object inside (none for a plain function)."""
        return getattr(self.func, "options", {})

    @property
    def reduction(self) -> str:
        """The reduction of the loss object inside ("mean" for a plain function)."""
        return getattr(self.func, "reduction", "mean")


def resolve_loss(loss, who: str = "fit") -> Callable:
    """A loss given as a function, a loss object, a loss class (made with its defaults:
    ``losses.CrossEntropy`` is ``losses.CrossEntropy()``) or a name -> a callable
    (prediction, target) that also accepts a target of shape (n,) for a model with one output
    (``OneOutputTarget``)."""
    if isinstance(loss, OneOutputTarget):
        return loss
    if isinstance(loss, functools.partial):  # keep one flat partial: the loss and its options
        return OneOutputTarget(loss.func, *loss.args, **loss.keywords)
    if isinstance(loss, str):
        from .. import losses
        loss = losses.get_loss(loss)
    return OneOutputTarget(as_callable(loss, "loss", who))


def takes_binary_logits(loss_fn) -> bool:
    """True for losses whose prediction is one logit/score per sample with its decision at 0
    (binary_cross_entropy_with_logits, hinge), given as the function or its class form."""
    from .. import losses
    function, _ = unwrap_loss(loss_fn)
    return function in (losses.binary_cross_entropy_with_logits, losses.hinge)


def _metric_inputs(loss_fn) -> Callable | None:
    """How the loss's (prediction, target) become the metrics' (None: unchanged):

    - after a loss that takes binary logits, metrics see sigmoid(prediction) (a probability:
      sigmoid(s) >= 0.5 exactly when s >= 0), so they threshold at the loss's decision
      boundary; hinge targets -1/+1 are read as the classes 0/1;
    - targets equal to the loss's ``ignore_index`` become -100, the label the metrics leave out
      (padded steps are not targets)."""
    from .. import losses, nn
    from ..functional import sigmoid
    from .metrics import IGNORED_LABEL
    function, options = unwrap_loss(loss_fn)
    binary = function in (losses.binary_cross_entropy_with_logits, losses.hinge)
    ignore_index = options.get("ignore_index", IGNORED_LABEL) if function in (
        losses.cross_entropy, losses.nll_loss, nn.sequence_cross_entropy) else IGNORED_LABEL
    if not binary and ignore_index == IGNORED_LABEL:
        return None

    def convert(prediction, target):
        if binary:
            prediction = sigmoid(Tensor(np.asarray(prediction))).data
        target = np.asarray(target)
        if function is losses.hinge:
            target = (target > 0).astype(np.int64)
        elif ignore_index != IGNORED_LABEL:
            target = np.where(target == ignore_index, IGNORED_LABEL, target)
        return prediction, target
    return convert


def resolve_metrics(metrics, loss_fn=None, who: str = "fit") -> list:
    """``(name, metric(prediction, target))`` for each metric (see ``get_metric``: a name, a
    function, or a class made with its defaults), seeing the loss's prediction and target as a
    metric reads them (``_metric_inputs``: probabilities after binary logits, hinge's -1/+1 as
    classes, the loss's ignored targets left out). A metric's ShapeError or DataError (such as
    a regression metric's on class scores) is raised with ``who`` in front."""
    from .metrics import get_metric
    convert = _metric_inputs(loss_fn) if loss_fn is not None else None

    def called(metric):
        def wrapped(prediction, target):
            if convert is not None:
                prediction, target = convert(prediction, target)
            try:
                return metric(prediction, target)
            except (ShapeError, DataError) as error:
                raise type(error)(f"{who}: {error}") from None
        return wrapped
    return [(name, called(metric)) for name, metric in
            (get_metric(metric, who) for metric in metrics)]


def _first_bad_label(y: np.ndarray, num_classes: int) -> str:
    """' y[i] = v is outside [0, C)' for the first such sample of the whole y, or ''."""
    if y.dtype.kind not in "iu":
        return ""
    bad = (y != -100) & ((y < 0) | (y >= num_classes))  # -100: the losses' ignore_index
    if not np.any(bad):
        return ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = index[0] if len(index) == 1 else index
    return (f"; the first such label of y is y[{where}] = {y[index]}, outside [0, "
            f"{num_classes}) for the model's {num_classes} outputs")


def loss_error(error: Exception, who: str, batch: int, prediction_shape: tuple,
               target_shape: tuple, y: np.ndarray) -> Exception:
    """The loss's error on one training batch, retold with the shapes involved: the model's
    output, the batch's target and the whole y (and the first bad class label of y)."""
    detail = ""
    if isinstance(error, DataError) and len(prediction_shape) >= 2:
        detail = _first_bad_label(y, prediction_shape[1])
    message = (f"{who}: the loss rejected training batch {batch + 1} (model output shape "
               f"{tuple(prediction_shape)}, target shape {tuple(target_shape)}, y shape "
               f"{y.shape}): {error}{detail}")
    for kind in (ShapeError, DTypeError, DataError):
        if isinstance(error, kind):
            return kind(message)
    return type(error)(message)
