"""The converter registry: one function per layer class turns that layer into ONNX nodes.

A converter is ``convert(graph, module, inputs, name) -> outputs``: ``inputs`` and ``outputs``
are lists of :class:`~annie.onnx.graph.Value`; it adds its nodes to ``graph`` and computes its
outputs' example arrays by running the annie module itself (:func:`run_annie`). Lookup is by the
exact class: a subclass may compute something else, so it needs a converter of its own
(``@register_converter(MyLayer)``), and a layer without one is refused by name.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import AnnieError
from ..tensor import Tensor

CONVERTERS: dict[type, Callable] = {}


class ExportError(AnnieError, ValueError):
    """A model (or one of its layers) cannot be exported to ONNX; the message names it."""


def register_converter(*classes: type):
    """Decorator: use the decorated function to convert modules of exactly these classes."""
    def decorate(function: Callable) -> Callable:
        for cls in classes:
            CONVERTERS[cls] = function
        return function
    return decorate


def exportable_layers() -> list[str]:
    """The names of the layer classes that have a converter."""
    return sorted({cls.__name__ for cls in CONVERTERS})


def converter_for(module, name: str) -> Callable:
    """The converter of ``module``'s class; ExportError naming the module (``name`` in the
    model, e.g. ``model.2``) and its class when there is none."""
    converter = CONVERTERS.get(type(module))
    if converter is None:
        raise ExportError(f"cannot export {name} ({type(module).__name__}): annie has no ONNX "
                          f"converter for {type(module).__name__}; exportable layers are "
                          f"{', '.join(exportable_layers())} (add one with "
                          f"annie.onnx.register_converter)")
    return converter


def convert(graph, module, inputs: list, name: str) -> list:
    """Convert ``module`` (called ``name`` in the model) with its converter."""
    return converter_for(module, name)(graph, module, inputs, name)


def run_annie(module, *arrays, **keywords):
    """``module``'s output(s) for raw arrays, as arrays (a tuple stays a tuple, nested pairs
    such as an LSTM's (h_n, c_n) are flattened into it)."""
    result = module(*[Tensor(array) for array in arrays], **keywords)
    flat = []

    def collect(value):
        if isinstance(value, (tuple, list)):
            for item in value:
                collect(item)
        else:
            flat.append(np.asarray(value.data if isinstance(value, Tensor) else value))
    collect(result)
    return flat[0] if len(flat) == 1 and not isinstance(result, (tuple, list)) else tuple(flat)
