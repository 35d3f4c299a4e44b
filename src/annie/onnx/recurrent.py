"""Converters of the recurrent layers ``RNN``, ``LSTM`` and ``GRU``: one ONNX RNN/LSTM/GRU
node per stacked layer, both directions in one node, ``lengths`` as ``sequence_lens``.

The gate blocks are reordered: annie (PyTorch) stacks LSTM gates as i, f, g, o and ONNX as
i, o, f, c (c is annie's g); GRU gates r, z, n against ONNX's z, r, h, where ONNX's
``linear_before_reset=1`` is annie's n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). ONNX's B
is [Wb; Rb], the input and hidden biases side by side. Each node reads (time, batch, features)
and writes Y (time, directions, batch, hidden), rearranged to (time, batch, directions * hidden)
for the next layer.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn.rnn import RecurrentLayer
from .graph import Graph, Value
from .registry import ExportError, register_converter, run_annie

ONNX_OP = {nn.RNN: "RNN", nn.LSTM: "LSTM", nn.GRU: "GRU"}
# ONNX's gate blocks, each given as the index of annie's block that goes there
ONNX_GATES = {nn.RNN: [0], nn.LSTM: [0, 3, 1, 2], nn.GRU: [1, 0, 2]}


def _reorder(array: np.ndarray, order: list[int], hidden: int) -> np.ndarray:
    """annie's gate blocks (rows of ``hidden``) in ONNX's order."""
    return np.concatenate([array[index * hidden:(index + 1) * hidden] for index in order])


def _layer_weights(module: RecurrentLayer, layer: int) -> tuple[np.ndarray, ...]:
    """W (directions, gates*hidden, in), R (directions, gates*hidden, hidden) and
    B (directions, 2*gates*hidden) of one stacked layer, in ONNX's layout and gate order."""
    order, hidden = ONNX_GATES[type(module)], module.hidden_size
    weights, recurrents, biases = [], [], []
    for suffix in module._suffixes():
        weight_ih, weight_hh, bias_ih, bias_hh = module._layer_parameters(layer, suffix)
        weights.append(_reorder(weight_ih.data, order, hidden))
        recurrents.append(_reorder(weight_hh.data, order, hidden))
        rows = len(order) * hidden
        biases.append(np.concatenate([
            _reorder(bias_ih.data, order, hidden) if bias_ih is not None else np.zeros(rows),
            _reorder(bias_hh.data, order, hidden) if bias_hh is not None else np.zeros(rows)]))
    return np.stack(weights), np.stack(recurrents), np.stack(biases)


def _attributes(module: RecurrentLayer) -> dict:
    directions = 2 if module.bidirectional else 1
    attributes = {"hidden_size": module.hidden_size,
                  "direction": "bidirectional" if module.bidirectional else "forward"}
    if type(module) is nn.GRU:
        attributes["linear_before_reset"] = 1
    if type(module) is nn.RNN:
        attributes["activations"] = ["Relu" if module.nonlinearity == "relu" else "Tanh"] \
            * directions
    return attributes


def recurrent_nodes(graph: Graph, module: RecurrentLayer, x: str, lengths: str | None,
                    name: str) -> tuple[str, list[str], list[str]]:
    """The nodes of every stacked layer for time-major ``x``; returns the output
    (time, batch, directions * hidden) and, per layer, the final h (and c) of each direction,
    (directions, batch, hidden) each."""
    if module.stateful:
        raise ExportError(f"cannot export {name} ({type(module).__name__}(stateful=True)): an "
                          f"ONNX graph carries no state from one call to the next; export a "
                          f"copy built with stateful=False")
    finals_h, finals_c = [], []
    layer_input = x
    for layer in range(module.num_layers):
        weight, recurrent, bias = _layer_weights(module, layer)
        node_name = f"{name}.l{layer}"
        inputs = [layer_input, graph.weight(weight, f"{node_name}.W"),
                  graph.weight(recurrent, f"{node_name}.R"), graph.weight(bias, f"{node_name}.B")]
        if lengths is not None:
            inputs.append(lengths)
        outputs = graph.node(ONNX_OP[type(module)], inputs, node_name,
                             outputs=3 if type(module) is nn.LSTM else 2,
                             **_attributes(module))
        finals_h.append(outputs[1])
        if type(module) is nn.LSTM:
            finals_c.append(outputs[2])
        steps = graph.op("Transpose", [outputs[0]], f"{node_name}.steps", perm=[0, 2, 1, 3])
        layer_input = graph.op("Reshape", [steps, graph.ints([0, 0, -1], "keep2_merge")],
                               f"{node_name}.output")
    return layer_input, finals_h, finals_c


def _stack(graph: Graph, names: list[str], name: str) -> str:
    return names[0] if len(names) == 1 else graph.op("Concat", names, name, axis=0)


@register_converter(nn.RNN, nn.LSTM, nn.GRU)
def recurrent_layer(graph: Graph, module: RecurrentLayer, inputs: list, name: str) -> list:
    """(output, h_n) or (output, h_n, c_n) for inputs [x] or [x, lengths]."""
    x = inputs[0]
    lengths = inputs[1] if len(inputs) > 1 else None
    time_major = x.name
    if module.batch_first:
        time_major = graph.op("Transpose", [x.name], f"{name}.time_major", perm=[1, 0, 2])
    output, finals_h, finals_c = recurrent_nodes(graph, module, time_major,
                                                 lengths.name if lengths else None, name)
    if module.batch_first:
        output = graph.op("Transpose", [output], f"{name}.batch_first", perm=[1, 0, 2])
    names = [output, _stack(graph, finals_h, f"{name}.h_n")]
    if finals_c:
        names.append(_stack(graph, finals_c, f"{name}.c_n"))
    keywords = {"lengths": lengths.example} if lengths is not None else {}
    examples = run_annie(module, x.example, **keywords)
    return [Value(value_name, example) for value_name, example in zip(names, examples)]
