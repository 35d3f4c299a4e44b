"""``export_run(run_dir, path)``: the model of an ``annie train`` run folder as an ONNX file
(what ``annie export RUN_DIR --onnx FILE`` does), and ``example_input(model)``, a batch of one
made from the model's own input layer.

A run folder's ``model.annie`` holds the whole model with the preprocessing inside it
(``nn.Normalization`` layers; a forecaster's ``scale``), so the ONNX model reads the same raw
features, or the raw series. What ``run.json`` says about the run (task, model type, class
names, feature columns) goes into the ONNX file's metadata as JSON under ``annie_run``.

A forecasting run folder written before the scale moved into the model keeps it in
``run.json`` (``info.scale``: its model reads the series divided by it); its export puts that
scale inside, so the ONNX model reads and answers in the series' units all the same.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import nn
from ..errors import ConfigError
from ..nn.rnn import RecurrentLayer
from .export import DEFAULT_OPSET, export
from .registry import ExportError, converter_for

MODEL_FILE = "model.annie"  # the files of a run folder that export reads
RUN_FILE = "run.json"
EXAMPLE_STEPS = 4  # time steps of the example sequence (the exported time axis is dynamic)


def _first_layer(model):
    """The first module of ``model`` that reads its input (containers opened)."""
    while isinstance(model, nn.Sequential) and len(model):
        model = model[0]
    return model


def example_input(model) -> np.ndarray:
    """A batch of one that ``model`` takes, built from its input layer: (1, in_features) for a
    Linear, (1, T, input_size) floats or (1, T) token ids for recurrent models. ExportError
    when the input size cannot be read from the model."""
    first = _first_layer(model)
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, nn.SequenceEncoder):
        if encoder.embedding is not None:
            return np.ones((1, EXAMPLE_STEPS), dtype=np.int64)
        return np.zeros((1, EXAMPLE_STEPS, encoder.input_size), dtype=np.float32)
    if isinstance(first, RecurrentLayer):
        shape = (1, EXAMPLE_STEPS) if first.batch_first else (EXAMPLE_STEPS, 1)
        return np.zeros(shape + (first.input_size,), dtype=np.float32)
    if isinstance(first, nn.Linear):
        return np.zeros((1, first.in_features), dtype=np.float32)
    if hasattr(nn, "Normalization") and isinstance(first, nn.Normalization):
        return np.zeros((1, first.num_features), dtype=np.float32)
    if isinstance(first, nn.LayerNorm):
        return np.zeros((1, *first.normalized_shape), dtype=np.float32)
    raise ExportError(f"cannot tell the input shape of {type(model).__name__} (it starts with "
                      f"{type(first).__name__}); call annie.onnx.export(model, path, "
                      f"example_input) with an example batch")


def _read_summary(path: str) -> dict:
    """run.json's fields (an empty dict when it cannot be read as a JSON object)."""
    try:
        with open(path, encoding="utf-8") as handle:
            summary = json.load(handle)
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _check_not_a_run_file(run_dir: str, path: str) -> None:
    """ConfigError when ``path`` is an existing file of the run folder other than an ONNX file
    (``--onnx RUN/model.annie`` would replace the run's model)."""
    folder, target = os.path.realpath(run_dir), os.path.realpath(path)
    if os.path.isfile(target) and not target.endswith(".onnx") \
            and os.path.commonpath([folder, target]) == folder:
        raise ConfigError(f"{path!r} is the run folder's own file "
                          f"{os.path.relpath(target, folder)!r}; the ONNX file must not replace "
                          f"it (write e.g. {os.path.join(run_dir, 'model.onnx')!r})")


def export_run(run_dir: str | os.PathLike, path: str | os.PathLike, *,
               opset: int = DEFAULT_OPSET):
    """Export the model of run folder ``run_dir`` (its ``model.annie``) to the ONNX file
    ``path``; returns the ``onnx.ModelProto``. ConfigError when ``run_dir`` holds no model or
    ``path`` is one of the run folder's own files, ExportError when the model cannot be
    exported."""
    from ..io import load
    run_dir = os.fspath(run_dir)
    model_path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise ConfigError(f"{run_dir!r} is not a run folder: {MODEL_FILE} is missing")
    _check_not_a_run_file(run_dir, os.fspath(path))
    model = load(model_path)
    converter_for(model, "model")
    summary = _read_summary(os.path.join(run_dir, RUN_FILE))
    info = summary.get("info")
    outside = info.get("scale") if isinstance(info, dict) else None
    if isinstance(model, nn.SequenceRegressor) and outside is not None and model.scale == 1.0:
        model.scale = float(outside)  # an older run folder: the scale was kept outside
    described = {key: summary[key] for key in ("task", "model_type", "info")
                 if summary.get(key) is not None}
    metadata = {"annie_run": json.dumps(described)} if described else {}
    return export(model, path, example_input(model), opset=opset, metadata=metadata)
