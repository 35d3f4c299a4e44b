"""``Graph``: the ONNX graph an export builds, and ``Value``, one tensor flowing through it.

Converters add nodes and initializers through ``Graph``; every ``Value`` carries, beside its
ONNX name, the array annie computes for it on the example input (``example``), so a converter
knows the exact shape and dtype of what it receives and can check its own output against annie.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

EXPORT_DTYPE = np.float32  # weights and float inputs/outputs of every exported graph


@dataclass
class Value:
    """A tensor of the graph: its ONNX ``name`` and annie's array for it on the example input."""

    name: str
    example: np.ndarray


class Graph:
    """Nodes and initializers of the graph being exported, with unique names."""

    def __init__(self):
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()
        self._constants: dict = {}

    def unique(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``, ... if taken (every name is used once)."""
        base = base.replace(".", "_") or "value"
        name, count = base, 0
        while name in self._used:
            count += 1
            name = f"{base}_{count}"
        self._used.add(name)
        return name

    def node(self, op_type: str, inputs: list[str], name: str, outputs: int = 1,
             **attributes) -> list[str]:
        """Add one node; returns the names of its ``outputs`` outputs (derived from ``name``).
        An empty string in ``inputs`` is an omitted optional input (ONNX's convention)."""
        node_name = self.unique(name)
        output_names = [node_name] if outputs == 1 else \
            [self.unique(f"{node_name}_out{i}") for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, output_names, name=node_name,
                                           **attributes))
        return output_names

    def op(self, op_type: str, inputs: list[str], name: str, **attributes) -> str:
        """Add a node with one output; returns its name."""
        return self.node(op_type, inputs, name, **attributes)[0]

    def weight(self, array: np.ndarray, name: str, dtype=EXPORT_DTYPE) -> str:
        """Add ``array`` (cast to ``dtype``, float32 by default) as an initializer."""
        initializer_name = self.unique(name)
        array = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        self.initializers.append(numpy_helper.from_array(array, initializer_name))
        return initializer_name

    def ints(self, values, name: str = "const") -> str:
        """An int64 initializer (shapes, axes, indices), shared by every user of equal values."""
        key = ("int64", tuple(int(v) for v in np.ravel(values)), np.ndim(values))
        if key not in self._constants:
            self._constants[key] = self.weight(np.asarray(values, dtype=np.int64), name,
                                               dtype=np.int64)
        return self._constants[key]

    def scalar(self, value: float, name: str = "const") -> str:
        """A float32 scalar initializer, shared by every user of the same value."""
        key = ("float", float(value))
        if key not in self._constants:
            self._constants[key] = self.weight(np.float32(value), name)
        return self._constants[key]

    def model(self, inputs: list, outputs: list, opset: int, doc: str,
              metadata: dict) -> onnx.ModelProto:
        """The finished ``ModelProto`` with these graph inputs and outputs (value infos)."""
        graph = helper.make_graph(self.nodes, "annie", inputs, outputs, self.initializers,
                                  doc_string=doc)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="annie", doc_string=doc)
        helper.set_model_props(model, {key: str(value) for key, value in metadata.items()})
        return model
