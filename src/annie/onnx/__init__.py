"""ONNX export: ``annie.onnx.export(model, path, example_input)`` writes an annie model as an ONNX
file that onnxruntime (or any ONNX runtime) runs without annie; ``export_run(run_dir, path)``
exports the model of an ``annie train`` run folder.

Exported: ``Sequential`` stacks of Linear, every activation, Dropout (as in evaluation),
LayerNorm, Flatten, Embedding and Normalization; ``RNN``/``LSTM``/``GRU`` (stacked,
bidirectional, with ``lengths``); ``SequenceClassifier``, ``SequenceRegressor`` and
``SequenceTagger``. One converter per layer class (``register_converter``); a layer without
one is refused by name (``ExportError``). Needs ``pip install "annie[onnx]"``.
"""
try:
    import onnx  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("annie.onnx needs the onnx package: pip install 'annie[onnx]'") from error

from .export import DEFAULT_OPSET, export
from .registry import ExportError, exportable_layers, register_converter
from .runs import example_input, export_run

__all__ = ["export", "export_run", "example_input", "ExportError", "register_converter",
           "exportable_layers", "DEFAULT_OPSET"]
