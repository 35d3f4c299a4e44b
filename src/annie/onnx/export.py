"""``export(model, path, example_input)``: an annie model as an ONNX file, and ``export_run``
for a run folder.

The model is converted in evaluation mode (dropout off) by the registry's converters, checked
with ``onnx.checker`` (with shape inference), and written atomically. Weights and float
inputs/outputs are float32; token ids are int64. Axis 0 of every input is a dynamic ``batch``
axis, and for recurrent models the time axis is dynamic too (``time``); the outputs' dynamic
axes are found by running annie on inputs of another batch size and length.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper

from .. import __version__, nn
from ..errors import ConfigError
from ..io.atomic import atomic_write_bytes
from ..nn.module import Module
from ..nn.rnn import RecurrentLayer
from ..tensor import Tensor
from ..train.inputs import cast_inputs, takes_token_ids
from . import layers, models, recurrent  # noqa: F401 - they register the converters
from .graph import Graph, Value
from .registry import ExportError, convert, run_annie

DEFAULT_OPSET = 17  # LayerNormalization's first opset; onnxruntime >= 1.11 runs it


def _takes_lengths(model: Module) -> bool:
    return isinstance(model, (RecurrentLayer, nn.SequenceClassifier, nn.SequenceRegressor,
                              nn.SequenceTagger))


def _is_recurrent(model: Module) -> bool:
    return any(isinstance(module, RecurrentLayer) for module in model.modules())


def _as_example(example_input, model: Module) -> np.ndarray:
    array = np.asarray(example_input.data if isinstance(example_input, Tensor) else example_input)
    if array.dtype.kind not in "iuf" or array.ndim == 0 or array.shape[0] == 0:
        raise ExportError(f"export: example_input must be a non-empty numeric array with a batch "
                          f"axis, got dtype {array.dtype} and shape {array.shape}")
    if array.dtype.kind in "iu" and takes_token_ids(model):
        return array.astype(np.int64)
    return cast_inputs(model, array)  # floats (integers too, for a model that reads floats)


def _input_axes(model: Module, example: np.ndarray) -> tuple[int, int | None]:
    """(batch axis, time axis or None) of the model's input."""
    recurrent = _is_recurrent(model) and example.ndim >= 2
    if isinstance(model, RecurrentLayer) and not model.batch_first:
        return 1, 0
    return 0, (1 if recurrent else None)


def _grown(example: np.ndarray, lengths, axis: int, batch_axis: int):
    """The example with one more row along ``axis`` (a copy of the first), and its lengths
    (one more sequence when the batch grew; a step added at the end lies past every length)."""
    bigger = np.concatenate([example, np.take(example, [0], axis=axis)], axis=axis)
    if lengths is not None and axis == batch_axis:
        lengths = np.concatenate([lengths, lengths[:1]])
    return bigger, lengths


def _annie_outputs(model: Module, example: np.ndarray, lengths) -> tuple:
    keywords = {} if lengths is None else {"lengths": lengths}
    result = run_annie(model, example, **keywords)
    return result if isinstance(result, tuple) else (result,)


def _dynamic_dims(model: Module, example: np.ndarray, lengths, batch_axis: int,
                  time_axis: int | None) -> list[list]:
    """For each output, its shape with the axes that follow the input's batch size (``batch``)
    and length (``time``) named instead of numbered."""
    base = [list(output.shape) for output in _annie_outputs(model, example, lengths)]
    dims = [list(shape) for shape in base]
    changes = [("batch", batch_axis)] + ([("time", time_axis)] if time_axis is not None else [])
    for label, axis in changes:
        grown, grown_lengths = _grown(example, lengths, axis, batch_axis)
        for output_dims, shape, other in zip(dims, base, _annie_outputs(model, grown,
                                                                        grown_lengths)):
            for index, (size, new_size) in enumerate(zip(shape, other.shape)):
                if size != new_size:
                    output_dims[index] = label
    return dims


def _value_info(name: str, dtype, dims: list) -> onnx.ValueInfoProto:
    element = TensorProto.INT64 if np.dtype(dtype).kind in "iu" else TensorProto.FLOAT
    return helper.make_tensor_value_info(name, element, dims)


def export(model: Module, path: str | os.PathLike, example_input, *, lengths=None,
           opset: int = DEFAULT_OPSET, metadata: dict | None = None) -> onnx.ModelProto:
    """Write ``model`` as an ONNX file at ``path`` and return the ``onnx.ModelProto``.

    ``example_input``: one batch the model accepts (floats, or int token ids for models that
    start with an Embedding); it fixes the sizes of the non-dynamic axes. ``lengths``: example
    lengths (batch,) for recurrent layers and sequence models; given, the graph takes a second
    input ``lengths`` (int64, (batch,)), the true length of each right-padded sequence (ONNX's
    ``sequence_lens``). Outputs are named ``output`` (and ``h_n``, ``c_n`` for a bare
    RNN/LSTM/GRU). ``metadata`` strings go to the model's metadata_props.

    Raises ExportError naming the layer that has no converter (or cannot be exported, e.g. a
    stateful recurrent layer), or for an example input the model cannot take.
    """
    if not isinstance(model, Module):
        hint = "; a fitted annie.sklearn estimator: export its model_ (it outputs logits or " \
               "values)" if isinstance(getattr(model, "model_", None), Module) else ""
        raise ExportError(f"export: model must be an annie Module, got "
                          f"{type(model).__name__}{hint}")
    newest = onnx.defs.onnx_opset_version()  # what the installed onnx (and its checker) knows
    if not isinstance(opset, int) or not DEFAULT_OPSET <= opset <= newest:
        raise ConfigError(f"export: opset must be an int from {DEFAULT_OPSET} to {newest}, "
                          f"got {opset!r}")
    example = _as_example(example_input, model)
    if lengths is not None:
        if not _takes_lengths(model):
            raise ExportError(f"export: lengths given, but {type(model).__name__} takes no "
                              f"lengths (recurrent layers and sequence models do)")
        lengths = np.asarray(lengths, dtype=np.int64)
    with model.evaluating():
        onnx_model = _build(model, example, lengths, opset, metadata or {})
    onnx.checker.check_model(onnx_model, full_check=True)
    atomic_write_bytes(os.fspath(path), onnx_model.SerializeToString())
    return onnx_model


def _build(model: Module, example: np.ndarray, lengths, opset: int,
           metadata: dict) -> onnx.ModelProto:
    graph = Graph()
    graph.unique("input")
    inputs = [Value("input", example)]
    batch_axis, time_axis = _input_axes(model, example)
    input_dims: list = list(example.shape)
    input_dims[batch_axis] = "batch"
    if time_axis is not None:
        input_dims[time_axis] = "time"
    graph_inputs = [_value_info("input", example.dtype, input_dims)]
    if lengths is not None:
        graph.unique("lengths")
        inputs.append(Value(graph.op("Cast", ["lengths"], "lengths_int32", to=TensorProto.INT32),
                            lengths))
        graph_inputs.append(_value_info("lengths", np.int64, ["batch"]))
    outputs = convert(graph, model, inputs, "model")
    expected = _annie_outputs(model, example, lengths)
    if len(outputs) != len(expected) or any(
            value.example.shape != reference.shape for value, reference in zip(outputs, expected)):
        raise ExportError(f"export: the converted {type(model).__name__} does not give annie's "
                          f"output shapes on the example input")
    names = ["output"] if len(outputs) == 1 else ["output", "h_n", "c_n"][:len(outputs)]
    dims = _dynamic_dims(model, example, lengths, batch_axis, time_axis)
    graph_outputs = []
    for value, name, output_dims in zip(outputs, names, dims):
        graph.unique(name)
        graph.nodes.append(helper.make_node("Identity", [value.name], [name],
                                            name=graph.unique(f"{name}_identity")))
        graph_outputs.append(_value_info(name, np.float32, output_dims))
    info = {"annie_version": __version__, "annie_model": type(model).__name__, **metadata}
    return graph.model(graph_inputs, graph_outputs, opset, repr(model), info)
