"""``Module.summary``: a table of a model's layers, as Keras prints it: each layer's name and
type, its output shape for a given input shape, its parameter count and whether it is trained,
then the totals.

Output shapes come from running the model once, in evaluation mode and without a graph, on
zeros of the input shape for a batch of 1 and again for a batch of 2: an axis whose size
follows the batch is shown as ``None``. Stateful recurrent layers run from zeros and keep the
state they carried.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, ShapeError, is_positive_int
from ..tensor import Tensor


@dataclass
class LayerRow:
    """One line of the table: a sub-module and what it owns itself (not its children)."""

    name: str  # the attribute name under its parent ("0", "encoder", "rnn")
    kind: str  # the class name
    depth: int  # 1 for the model's children, 2 for theirs, ...
    output_shape: str  # "(None, 8)"; "--" when no shapes were asked for or it never ran
    parameters: int  # numbers in its own parameters and buffers
    trainable: str  # "yes", "no", "partly" or "" (nothing of its own)


@dataclass
class ModelSummary:
    """What ``Module.summary`` returns; ``str()`` (and the notebook display) is the table."""

    model: str
    input_shape: tuple | None
    rows: list
    total: int  # every parameter and buffer element, each counted once
    trainable: int  # elements of parameters with requires_grad
    nbytes: int

    @property
    def non_trainable(self) -> int:
        """Elements of frozen parameters and of buffers (e.g. normalisation statistics)."""
        return self.total - self.trainable

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Param #", "Trainable")
        lines = [("  " * (row.depth - 1) + f"{row.name} ({row.kind})", row.output_shape,
                  f"{row.parameters:,}", row.trainable) for row in self.rows]
        widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(4)]

        def join(cells):
            return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                              cells[2].rjust(widths[2]), cells[3]]).rstrip()

        rule = "=" * (sum(widths) + 6)
        title = f"Model: {self.model}"
        if self.input_shape is not None:
            title += f", input {_format_shape((None, *self.input_shape))}"
        return "\n".join([title, rule, join(header), rule, *map(join, lines), rule,
                          f"Total params: {self.total:,} ({_format_bytes(self.nbytes)})",
                          f"Trainable params: {self.trainable:,}",
                          f"Non-trainable params: {self.non_trainable:,}"])

    __repr__ = __str__


def _format_bytes(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.2f} {unit}"
        count /= 1024
    return ""  # pragma: no cover


def _format_shape(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_format_shape(item) for item in shape) + "]"
    if shape is None:
        return "None"
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _shape_of(output):
    """A Tensor's shape; a list of shapes for a tuple or list (e.g. ``(output, h_n)``)."""
    if isinstance(output, (tuple, list)):
        return [_shape_of(item) for item in output]
    if output is None:
        return None
    return tuple(np.shape(getattr(output, "data", output)))


def _batch_free(one, two):
    """The shape from a batch of 1 with every axis that changed for a batch of 2 as None."""
    if isinstance(one, list):
        return [_batch_free(a, b) for a, b in zip(one, two)]
    if one is None or len(one) != len(two):
        return one
    return tuple(size if size == other else None for size, other in zip(one, two))


def _input_dtype(model):
    """int64 token ids for a model whose first layer with parameters is an Embedding, else
    the dtype of its parameters (float32 for a model without any)."""
    from ..backend import get_default_dtype
    from .embedding import Embedding
    for module in model.modules():
        params = list(module._own_parameters())
        if params:
            return np.int64 if isinstance(module, Embedding) else params[0][1].data.dtype
    return get_default_dtype()


def _record_shapes(model, input_shape: tuple, dtype, batch: int) -> dict:
    """Run the model on zeros of (batch, *input_shape); the first output shape of every
    sub-module that ran, by module id."""
    shapes: dict[int, object] = {}
    wrapped = []
    for module in model.modules():
        own = vars(module).get("forward")
        original = module.forward

        def forward(*args, _original=original, _module=module, **kwargs):
            output = _original(*args, **kwargs)
            shapes.setdefault(id(_module), _shape_of(output))
            return output

        object.__setattr__(module, "forward", forward)
        wrapped.append((module, own))
    carried = [(module, module.carried_state) for module in model.modules()
               if hasattr(module, "carried_state")]
    for module, _ in carried:  # run from zeros; the carried state is put back below
        module.carried_state = None
    try:
        with model.evaluating():
            model(Tensor(np.zeros((batch, *input_shape), dtype=dtype)))
    except Exception as error:
        raise ShapeError(f"summary: {type(model).__name__} rejected an input of shape "
                         f"{(batch, *input_shape)} (input_shape={input_shape} and a batch "
                         f"of {batch}): {error}") from error
    finally:
        for module, state in carried:
            module.carried_state = state
        for module, own in wrapped:
            if own is None:
                del module.forward
            else:
                object.__setattr__(module, "forward", own)
    return shapes


def _walk(module, depth: int):
    """(name, sub-module, depth) for every sub-module, depth first, as the table lists them."""
    for name, child in module.named_children():
        yield name, child, depth
        yield from _walk(child, depth + 1)


def summarize(model, input_shape=None, dtype=None) -> ModelSummary:
    """The summary of ``model`` (see ``Module.summary``)."""
    if input_shape is not None:
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        if not (isinstance(input_shape, (tuple, list))
                and all(is_positive_int(size) for size in input_shape)):
            raise ConfigError(f"summary: input_shape must be the shape of one sample, a tuple "
                              f"of positive ints such as (64,) or (time, features), got "
                              f"{input_shape!r}")
        input_shape = tuple(int(size) for size in input_shape)
        dtype = _input_dtype(model) if dtype is None else np.dtype(dtype)
        first, second = (_record_shapes(model, input_shape, dtype, batch) for batch in (1, 2))
    modules = list(_walk(model, 1)) or [(type(model).__name__, model, 1)]
    seen: set[int] = set()
    rows, total, trainable, nbytes = [], 0, 0, 0
    for name, module, depth in modules:
        own = [param for _, param in module._own_parameters() if id(param) not in seen]
        buffers = [value for key, value in module._buffers.items()
                   if isinstance(value, np.ndarray) and id(value) not in seen]
        seen.update(id(item) for item in [*own, *buffers])
        learned = sum(param.data.size for param in own if param.requires_grad)
        count = sum(param.data.size for param in own) + sum(value.size for value in buffers)
        total, trainable = total + count, trainable + learned
        nbytes += sum(param.data.nbytes for param in own) + sum(value.nbytes for value in buffers)
        if count == 0:
            flag = ""
        else:
            flag = "yes" if learned == count else ("no" if learned == 0 else "partly")
        shape = "--"
        if input_shape is not None and id(module) in first:
            shape = _format_shape(_batch_free(first[id(module)], second[id(module)]))
        rows.append(LayerRow(name, type(module).__name__, depth, shape, count, flag))
    return ModelSummary(type(model).__name__, input_shape, rows, total, trainable, nbytes)
