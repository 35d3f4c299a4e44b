"""Converters of the sequence models: ``SequenceClassifier`` and ``SequenceRegressor``
(many-to-one, a linear head on the last layer's final hidden state; the regressor's ``loc``
and ``scale`` as Sub and Div before the encoder and Mul and Add after the head) and
``SequenceTagger``
(many-to-many, the head on every step's output).

The encoder embeds token ids (Gather) or takes the features as they are ((batch, time) gets a
feature axis when input_size is 1); with a ``padding_idx`` and no ``lengths`` input, each
sequence's length is counted in the graph as annie does: the number of non-padding tokens.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn.sequence_models import SequenceEncoder, last_hidden
from ..tensor import Tensor
from .graph import Graph, Value
from .layers import linear
from .recurrent import recurrent_nodes
from .registry import register_converter, run_annie


def _token_lengths(graph: Graph, tokens: str, padding_idx: int, name: str) -> str:
    """int32 (batch,): the tokens of each row that are not ``padding_idx``."""
    padding = graph.ints(padding_idx, f"{name}.padding_idx")
    is_token = graph.op("Not", [graph.op("Equal", [tokens, padding], f"{name}.is_padding")],
                        f"{name}.is_token")
    counts = graph.op("ReduceSum", [graph.op("Cast", [is_token], f"{name}.ones", to=7),
                                    graph.ints([1], "axis1")], f"{name}.counts", keepdims=0)
    return graph.op("Cast", [counts], f"{name}.lengths", to=6)  # 7 int64, 6 int32


def _encode(graph: Graph, encoder: SequenceEncoder, inputs: list, name: str):
    """The encoder's nodes; returns the output (time, batch, directions * hidden), the last
    layer's final hidden state (directions, batch, hidden) and annie's (output, h_n)."""
    x = inputs[0]
    lengths = inputs[1].name if len(inputs) > 1 else None
    if encoder.embedding is not None:
        features = graph.op("Gather", [graph.weight(encoder.embedding.weight.data,
                                                    f"{name}.embedding.weight"), x.name],
                            f"{name}.embedding", axis=0)
        if lengths is None and encoder.padding_idx is not None:
            lengths = _token_lengths(graph, x.name, encoder.padding_idx, name)
    elif x.example.ndim == 2:
        features = graph.op("Unsqueeze", [x.name, graph.ints([-1], "axis_last")],
                            f"{name}.features")
    else:
        features = x.name
    time_major = graph.op("Transpose", [features], f"{name}.time_major", perm=[1, 0, 2])
    output, finals_h, _ = recurrent_nodes(graph, encoder.rnn, time_major, lengths, f"{name}.rnn")
    keywords = {"lengths": inputs[1].example} if len(inputs) > 1 else {}
    return output, finals_h[-1], run_annie(encoder, x.example, **keywords)


def _last_hidden(graph: Graph, encoder: SequenceEncoder, final_h: str, h_n, name: str) -> Value:
    """(batch, directions * hidden): the final hidden state, both directions side by side."""
    if encoder.bidirectional:
        batch_major = graph.op("Transpose", [final_h], f"{name}.directions_last", perm=[1, 0, 2])
        merged = graph.op("Reshape", [batch_major, graph.ints([0, -1], "keep1_merge")],
                          f"{name}.last_hidden")
    else:
        merged = graph.op("Squeeze", [final_h, graph.ints([0], "axis0")], f"{name}.last_hidden")
    h_n = tuple(Tensor(array) for array in h_n) if isinstance(h_n, tuple) else Tensor(h_n)
    return Value(merged, last_hidden(h_n, encoder.bidirectional).data)


def _scalar_op(graph: Graph, op: str, x: Value, value: float, name: str) -> Value:
    """x op value (Sub, Div, Mul or Add with a float32 scalar): a SequenceRegressor's
    standardising of its input and its forecast's way back to the series' units."""
    operand = np.float32(value)
    example = {"Sub": np.subtract, "Div": np.divide, "Mul": np.multiply,
               "Add": np.add}[op](x.example, operand)
    return Value(graph.op(op, [x.name, graph.scalar(value, f"{name}.{op.lower()}_operand")],
                          f"{name}.{op.lower()}"), example)


@register_converter(nn.SequenceClassifier, nn.SequenceRegressor)
def many_to_one(graph: Graph, module, inputs: list, name: str) -> list:
    """Logits or forecasts W h_T + b from the last real step's hidden state; a regressor with
    a ``loc`` or ``scale`` standardises its input, (x - loc) / scale (Sub, Div), and maps its
    forecast back, loc + scale * y (Mul, Add); each node only where it changes something."""
    loc, scale = getattr(module, "loc", 0.0), getattr(module, "scale", 1.0)
    x = inputs[0]
    if loc != 0.0:
        x = _scalar_op(graph, "Sub", x, loc, f"{name}.input")
    if scale != 1.0:
        x = _scalar_op(graph, "Div", x, scale, f"{name}.input")
    inputs = [x, *inputs[1:]]
    _, final_h, (_, *h_n) = _encode(graph, module.encoder, inputs, f"{name}.encoder")
    hidden = _last_hidden(graph, module.encoder, final_h,
                          tuple(h_n) if len(h_n) > 1 else h_n[0], name)
    output = linear(graph, module.head, [hidden], f"{name}.head")[0]
    if scale != 1.0:
        output = _scalar_op(graph, "Mul", output, scale, f"{name}.output")
    if loc != 0.0:
        output = _scalar_op(graph, "Add", output, loc, f"{name}.output")
    if type(module) is nn.SequenceRegressor and module.output_size == 1:
        output = Value(graph.op("Squeeze", [output.name, graph.ints([1], "axis1")],
                                f"{name}.squeeze"), output.example[:, 0])
    return [output]


@register_converter(nn.SequenceTagger)
def tagger(graph: Graph, module: nn.SequenceTagger, inputs: list, name: str) -> list:
    """Per-step tag logits W h_t + b, (batch, time, num_tags)."""
    output, _, (annie_output, *_) = _encode(graph, module.encoder, inputs, f"{name}.encoder")
    batch_major = graph.op("Transpose", [output], f"{name}.batch_first", perm=[1, 0, 2])
    return linear(graph, module.head, [Value(batch_major, np.asarray(annie_output))],
                  f"{name}.head")
