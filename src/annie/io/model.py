"""``save(model, path)`` and ``load(path)``: a whole model in one file, without pickle.

The file (see ``format.py``) holds the weights as safetensors tensors (``state_dict`` names,
dtypes kept) and, in its metadata, the architecture as JSON: for every module its registered
class name and the arguments its constructor was called with (``Module._init_args``), nested
modules written the same way. Loading calls those registered constructors with those
arguments, then puts the saved arrays in place. Nothing in the file is ever executed.

Limits: changes made to a model after construction (replacing a layer, changing ``p`` of a
Dropout) are not in the constructor arguments; ``save`` rebuilds the model once to check that
the names and shapes of the weights come back the same, and refuses to save otherwise.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..errors import AnnieError, SerializationError
from ..nn.container import ModuleList, Sequential
from ..nn.module import Module, element_budget
from . import format as file_format
from . import registry
from .atomic import atomic_write_bytes, atomic_write_text
from .codec import TAG, Flattener, Unflattener

BUILD_MARGIN_ELEMENTS = 1 << 20  # values a rebuild may make beyond twice the file's
MODEL_FILE_NAME = "model.annie"  # the file inside a model folder
ARCHITECTURE_FILE_NAME = "architecture.json"  # a readable copy beside it (not read back)


# ----- architecture ----------------------------------------------------------------------
def _constructor_arguments(module: Module) -> tuple[tuple, dict]:
    if type(module) is Sequential:  # containers may have grown after construction
        return tuple(module.children()), {}
    if type(module) is ModuleList:
        return (list(module.children()),), {}
    recorded = vars(module).get("_init_args")
    if recorded is None:
        return (), {}
    return tuple(recorded["args"]), dict(recorded["kwargs"])


def describe(module: Module, where: str = "model") -> dict:
    """The JSON architecture of ``module``: class name and constructor arguments, recursively."""
    def encode_other(value: Any, place: str) -> Any:
        if isinstance(value, Module):
            return describe(value, place)
        raise SerializationError(
            f"cannot save {place}: a constructor argument of type {type(value).__name__} is "
            f"not storable (use numbers, strings, lists, dicts, dtypes or Modules)")

    args, kwargs = _constructor_arguments(module)
    flattener = Flattener(allow_arrays=False, encode_other=encode_other)
    return {TAG: "module", "class": registry.name_of(type(module), where),
            "args": [flattener.encode(value, f"{where}.args[{i}]") for i, value in enumerate(args)],
            "kwargs": {key: flattener.encode(value, f"{where}.{key}")
                       for key, value in kwargs.items()}}


def _decode(spec: Any, fail, decode_module) -> tuple[str, type, list, dict]:
    """(class name, registered class, args, kwargs) of one module description; nested module
    descriptions become ``decode_module(description)``."""
    def decode_other(value: dict) -> Any:
        if value.get(TAG) != "module":
            raise fail(f"unknown value tag {value.get(TAG)!r} in the architecture")
        return decode_module(value)

    if not isinstance(spec, dict) or spec.get(TAG) != "module":
        raise fail("architecture is not a module description")
    name, args, kwargs = spec.get("class"), spec.get("args"), spec.get("kwargs")
    if not isinstance(name, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
        raise fail("architecture entry needs 'class' (str), 'args' (list), 'kwargs' (object)")
    cls = registry.lookup(name)
    if cls is None:
        raise fail(f"architecture names class {name!r}, which is not registered; import the "
                   f"code that defines it and decorate it with @annie.io.register_module")
    unflattener = Unflattener({}, fail, decode_other)
    args = [unflattener.decode(value) for value in args]
    kwargs = {key: unflattener.decode(value) for key, value in kwargs.items()}
    return name, cls, args, kwargs


def build(spec: Any, fail) -> Module:
    """A fresh Module from ``describe``'s JSON; ``fail(problem)`` makes the error to raise."""
    name, cls, args, kwargs = _decode(spec, fail, lambda child: build(child, fail))
    try:
        return cls(*args, **kwargs)
    except Exception as error:  # a constructor refusing the file's arguments
        raise fail(f"rebuilding {name} from the saved arguments failed: "
                   f"{type(error).__name__}: {error}") from None


class _Unbuilt:
    """A nested module description that the shape check walks without building it."""

    def __init__(self, spec: Any):
        self.spec = spec


def declared_layout(spec: Any, fail, prefix: str = "") -> dict[str, tuple]:
    """Name -> shape of every parameter that the architecture ``spec`` declares without
    building anything: the layers with ``parameter_shapes`` (Linear, Embedding, LayerNorm),
    also inside Sequential and ModuleList. Other modules are left to the build's size bound."""
    name, cls, args, kwargs = _decode(spec, fail, _Unbuilt)
    if cls is Sequential or cls is ModuleList:
        children = args if cls is Sequential else (list(args[0]) if args else [])
        layout: dict[str, tuple] = {}
        for index, child in enumerate(children):
            if isinstance(child, _Unbuilt):
                layout.update(declared_layout(child.spec, fail, f"{prefix}{index}."))
        return layout
    if cls.parameter_shapes is None:
        return {}
    try:
        shapes = cls.parameter_shapes(*args, **kwargs)
    except Exception as error:  # arguments the constructor would refuse
        raise fail(f"the architecture gives {name} invalid arguments: "
                   f"{type(error).__name__}: {error}") from None
    return {prefix + key: tuple(shape) for key, shape in shapes.items()}


def _check_before_building(architecture: Any, tensors: dict[str, np.ndarray], fail) -> None:
    """Refuse an architecture whose declared parameters are not the file's tensors, before
    anything is built (a file cannot make annie allocate a layer its weights do not fill)."""
    declared = declared_layout(architecture, fail)
    missing = sorted(set(declared) - set(tensors))
    if missing:
        raise fail(f"weights do not match the architecture: missing {missing}")
    for name, shape in declared.items():
        if tuple(tensors[name].shape) != shape:
            raise fail(f"tensor {name!r} has shape {tuple(tensors[name].shape)} in the file but "
                       f"the architecture needs {shape}")


def _build_keeping_rng(spec: Any, fail) -> Module:
    """``build`` without disturbing annie's random generator (constructors draw weights)."""
    generator = backend.rng()
    saved = generator.bit_generator.state
    try:
        return build(spec, fail)
    finally:
        generator.bit_generator.state = saved
        if backend.rng() is not generator:  # a constructor reseeded: restore the state too
            backend.set_rng_state(saved)


def _layout(model: Module) -> dict[str, tuple]:
    return {name: tuple(np.shape(value)) for name, value in model.state_dict().items()}


# ----- save and load ---------------------------------------------------------------------
def save(model: Module, path: str | os.PathLike, *, folder: bool = False,
         verify: bool = True) -> None:
    """Write ``model`` (architecture + weights) to ``path`` atomically, in one file.

    With ``folder=True``, ``path`` is a folder holding ``model.annie`` and a readable
    ``architecture.json``. ``verify`` rebuilds the model once to check it comes back whole.
    """
    if not isinstance(model, Module):
        raise SerializationError(f"annie.save: model must be an annie.nn.Module, "
                                 f"got {type(model).__name__}")
    architecture = describe(model)
    weights = model.state_dict()
    if verify:
        def fail(problem: str) -> SerializationError:
            return SerializationError(f"cannot save model: {problem}")

        rebuilt = _layout(_build_keeping_rng(architecture, fail))
        if rebuilt != _layout(model):
            raise SerializationError(
                f"cannot save model: rebuilding {type(model).__name__} from its constructor "
                f"arguments gives weights {rebuilt} but the model has {_layout(model)}; was a "
                f"layer replaced or added after construction?")
    fields = {"architecture": architecture, "training": bool(model.training)}
    data = file_format.encode(weights, "model", fields)
    path = Path(path)
    if folder:
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path / MODEL_FILE_NAME, data)
        atomic_write_text(path / ARCHITECTURE_FILE_NAME, json.dumps(architecture, indent=2) + "\n")
        return
    atomic_write_bytes(path, data)


def load(path: str | os.PathLike, *,
         max_header_bytes: int = file_format.MAX_HEADER_BYTES) -> Module:
    """Rebuild the model saved at ``path`` (a file, or a folder from ``save(folder=True)``).

    Raises SerializationError naming the file and the problem for a truncated, corrupted,
    foreign or hostile file; never runs code from the file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE_NAME

    def fail(problem: str) -> SerializationError:
        return SerializationError(f"cannot load {str(path)!r}: {problem}")

    tensors, metadata = file_format.decode(path, "model", max_header_bytes)
    if "architecture" not in metadata:
        raise fail("the file has no architecture")
    architecture = file_format.parse_json(metadata["architecture"], path, "architecture")
    training = file_format.parse_json(metadata.get("training", "true"), path, "training flag")
    if not isinstance(training, bool):
        raise fail(f"the training flag must be true or false, got {training!r}")
    _check_before_building(architecture, tensors, fail)
    # The rest of the architecture is built with at most about the values the file holds
    # (doubled, with a margin: a constructor may make temporary parameters, as an orthogonal
    # initialisation does), so no layer it did not declare can be larger than its weights.
    stored = sum(int(array.size) for array in tensors.values())
    with element_budget(2 * stored + BUILD_MARGIN_ELEMENTS):
        model = _build_keeping_rng(architecture, fail)
    expected = _layout(model)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise fail(f"weights do not match the architecture: missing {missing}, "
                   f"unexpected {unexpected}")
    for name, shape in expected.items():
        if tensors[name].shape != shape:
            raise fail(f"tensor {name!r} has shape {tensors[name].shape} in the file but the "
                       f"architecture needs {shape}")
    _put_arrays(model, tensors)
    model.train(training)
    return model


def _put_arrays(model: Module, tensors: dict[str, np.ndarray]) -> None:
    """Install the file's arrays as they are (their dtype is kept, e.g. after ``model.double()``)."""
    parameters = dict(model.named_parameters())
    modules = dict(model.named_modules())
    for name, array in tensors.items():
        array = np.array(array, copy=True)  # writable and owned
        if name in parameters:
            parameters[name].data = array
            parameters[name].grad = None
            continue
        owner, _, attribute = name.rpartition(".")
        try:
            modules[owner].register_buffer(attribute, array)
        except (KeyError, AnnieError) as error:  # pragma: no cover - layout checked above
            raise SerializationError(f"cannot place buffer {name!r}: {error}") from None
