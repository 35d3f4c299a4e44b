"""``draw_graph``: the computational graph behind a tensor, as micrograd's ``draw_dot`` draws it.

Every tensor is a box with its name (if it has one), shape and dtype, its value (small tensors)
or summary, and its gradient; every op is an oval with the op's name, between the tensors it
reads and the tensor it makes. The graph is Graphviz DOT text, always; with the ``graphviz``
Python package and the Graphviz program installed it is also rendered to SVG, PNG or PDF.

annie keeps gradients on leaves only (parameters and inputs, as PyTorch does), so after your own
``loss.backward()`` the leaves show their ``.grad``. ``draw_graph(loss, path, backward=True)``
runs ``loss.backward()`` itself and records on the way the gradient that reaches every tensor
in between, dL/d(node), which is what backpropagation computes at each step.
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Any

import numpy as np

from ..errors import ConfigError, ShapeError, check_non_negative_int
from ..tensor import Tensor

# the module itself (``annie.tensor`` the attribute is the function that makes a Tensor): its
# hook list, which backward calls at every op, and its placeholder for non-tensor inputs
tensor_module = importlib.import_module("annie.tensor")

RENDERED_FORMATS = ("svg", "png", "pdf")
TEXT_FORMATS = ("dot", "gv")


def _constant() -> Any:
    """The placeholder annie records for a non-tensor input of an op (drawn as nothing)."""
    return getattr(tensor_module, "_CONSTANT", None)


def _format_array(array: np.ndarray | None, max_values: int, what: str) -> str:
    """The values when there are few, else a one-line summary."""
    if array is None:
        return f"{what} -"
    array = np.asarray(array)
    if array.size <= max_values:
        text = np.array2string(array, separator=", ", max_line_width=10 ** 6,
                               formatter={"float_kind": lambda value: f"{value:.4g}"})
        return f"{what} {' '.join(text.split())}"
    values = array.astype(np.float64)
    if what == "grad":
        return f"grad norm {np.linalg.norm(values):.4g}"
    return f"{what} mean {values.mean():.4g}, std {values.std():.4g}"


def _escape(text: str) -> str:
    """Text safe inside a DOT record label."""
    for char in "\\{}|<>\"":
        text = text.replace(char, "\\" + char)
    return text


def _names_of(names) -> dict[int, str]:
    """id(tensor) -> name, from a dict {name: tensor} or a Module's named parameters."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    if not isinstance(names, dict):
        raise ConfigError(f"draw_graph: names must be a dict {{name: tensor}} or a Module, got "
                          f"{type(names).__name__}")
    return {id(value): str(key) for key, value in names.items()}


def _walk(root: Tensor) -> tuple[list, list]:
    """(tensors, ops) reachable from ``root`` backwards: tensors as (key, tensor), ops as
    (op, [input keys], output key, count of non-tensor inputs); a tensor made by an op is
    keyed by (op, output index)."""
    def key_of(item: Tensor):
        return ("op", id(item._ctx), item._index) if item._ctx is not None else ("leaf", id(item))

    constant = _constant()
    tensors = {key_of(root): root}
    ops, seen, stack = [], set(), []
    if root._ctx is not None:
        stack.append((root._ctx, key_of(root)))
    while stack:
        op, output_key = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        input_keys, others = [], 0
        for parent in op.parents:
            if parent is constant:  # a number (or None) given to the op: no tensor to draw
                others += 1
                continue
            key = key_of(parent)
            input_keys.append(key)
            tensors.setdefault(key, parent)
            if parent._ctx is not None:
                stack.append((parent._ctx, key))
        ops.append((op, input_keys, output_key, others))
    return list(tensors.items()), ops


def _backward_recording(root: Tensor) -> dict[int, list]:
    """Run ``root.backward()`` and return id(op) -> the gradients its outputs received
    (the ops of this thread's backward only: the hook list is process-wide)."""
    received: dict[int, list] = {}
    thread = threading.get_ident()

    def hook(phase, op, produced, grad_outputs):
        if phase == "backward" and threading.get_ident() == thread:
            received[id(op)] = [None if grad is None else np.array(grad, copy=True)
                                for grad in grad_outputs]

    tensor_module._anomaly_hooks.append(hook)
    try:
        root.backward()
    finally:
        tensor_module._anomaly_hooks.remove(hook)
    return received


def graph_dot(tensor: Tensor, backward: bool = False, names=None, max_values: int = 8,
              rankdir: str = "LR") -> str:
    """The DOT text of ``draw_graph`` (see there), without writing a file."""
    if not isinstance(tensor, Tensor):
        raise ConfigError(f"draw_graph: expected an annie Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ConfigError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    check_non_negative_int(max_values, "max_values", "draw_graph")
    received = {}
    if backward:
        if tensor.data.size != 1:
            raise ShapeError(f"draw_graph(backward=True): the tensor must hold one value (a "
                             f"loss), got shape {tensor.shape}")
        received = _backward_recording(tensor)
    labels = _names_of(names)
    tensors, ops = _walk(tensor)
    ids = {key: f"t{number}" for number, (key, _) in enumerate(tensors)}
    lines = ["digraph annie {", f"  rankdir={rankdir};", '  node [fontname="Helvetica", '
             'fontsize=10];']
    for key, item in tensors:
        grad = item.grad
        if key[0] == "op":
            grads = received.get(key[1])
            grad = grads[key[2]] if grads is not None else None
        kind = "tensor" if item._ctx is not None else ("leaf" if item.requires_grad else "input")
        name = labels.get(id(item)) or item.name
        fields = [f"{name} ({kind})" if name else kind,
                  f"shape {tuple(item.shape)} {item.dtype}",
                  _format_array(item.data, max_values, "data")]
        if item.requires_grad and (grad is not None or backward or item._ctx is None):
            fields.append(_format_array(grad, max_values, "grad"))
        label = " | ".join(_escape(field) for field in fields)
        if rankdir in ("TB", "BT"):  # a record's fields stack across the rank direction
            label = f"{{ {label} }}"
        lines.append(f'  {ids[key]} [shape=record, label="{label}"];')
    for number, (op, input_keys, output_key, others) in enumerate(ops):
        label = _escape(type(op).__name__)
        if others:
            label += f"\\n(+{others} non-tensor input{'s' if others > 1 else ''})"
        lines.append(f'  op{number} [shape=oval, style=filled, fillcolor="#eeeeee", '
                     f'label="{label}"];')
        for key in input_keys:
            lines.append(f"  {ids[key]} -> op{number};")
        lines.append(f"  op{number} -> {ids[output_key]};")
    if not backward and any(key[0] == "op" for key, _ in tensors) and tensor.requires_grad:
        lines.append('  labelloc=b; label="gradients of tensors made by ops are not kept; '
                     'draw_graph(loss, path, backward=True) records them";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path=None, *, backward: bool = False, names=None,
               max_values: int = 8, rankdir: str = "LR") -> str:
    """Draw the computational graph behind ``tensor``; returns its Graphviz DOT text.

    Each tensor is a box: its name (from ``names``, a dict {name: tensor} or a Module whose
    parameter names are used, or ``tensor.name``), "(leaf)" for a tensor that requires grad
    and was made by you, "(input)" for one that does not; shape and dtype; its values when it
    has at most ``max_values`` elements, else their mean and std; its gradient (values, or the
    norm). Each op is an oval named after its ``Function`` class, with edges from the tensors
    it reads to the tensor it makes.

    ``backward=True`` runs ``tensor.backward()`` first (a one-value tensor, the loss; the
    leaves' ``.grad`` accumulate as usual) and labels every tensor with dL/d(tensor). Without
    it the leaves show their current ``.grad``.

    ``path`` (optional): ``.dot`` / ``.gv`` writes the DOT text; ``.svg``, ``.png`` or ``.pdf``
    renders it, which needs the ``graphviz`` Python package (``pip install 'annie[graph]'``)
    and the Graphviz program ``dot`` (e.g. ``apt-get install graphviz``). Files are written
    atomically. Raises ConfigError for another suffix, a negative ``max_values`` or a missing
    package or program, and ShapeError for ``backward=True`` on a tensor with more than one
    value.
    """
    text = graph_dot(tensor, backward=backward, names=names, max_values=max_values,
                     rankdir=rankdir)
    if path is None:
        return text
    from ..io import atomic_write_bytes, atomic_write_text
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix in TEXT_FORMATS:
        atomic_write_text(path, text)
    elif suffix in RENDERED_FORMATS:
        atomic_write_bytes(path, render_dot(text, suffix))
    else:
        raise ConfigError(f"draw_graph: cannot write {os.fspath(path)!r}: the suffix must be one "
                          f"of {', '.join('.' + s for s in TEXT_FORMATS + RENDERED_FORMATS)}")
    return text


def render_dot(text: str, file_format: str) -> bytes:
    """DOT text rendered by Graphviz to ``file_format`` ("svg", "png" or "pdf") bytes."""
    if file_format not in RENDERED_FORMATS:
        raise ConfigError(f"render_dot: file_format must be one of {RENDERED_FORMATS}, got "
                          f"{file_format!r}")
    try:
        import graphviz
    except ImportError as error:
        raise ConfigError("draw_graph: rendering .svg/.png/.pdf needs the graphviz Python "
                          "package: pip install 'annie[graph]' (a .dot file needs nothing)") \
            from error
    try:
        return graphviz.Source(text).pipe(format=file_format)
    except graphviz.ExecutableNotFound as error:
        raise ConfigError("draw_graph: rendering needs the Graphviz program 'dot', which is "
                          "not installed (e.g. apt-get install graphviz, brew install "
                          "graphviz); a .dot file needs nothing") from error
