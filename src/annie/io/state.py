"""Checkpoint state: any nested dict of arrays and JSON values in one file, exactly.

A training checkpoint is a tree: the model's ``state_dict``, the optimizer's state in
PyTorch's layout (``{"state": {0: {"step": 3, "exp_avg": array}}, "param_groups": [...]}``),
scheduler and callback state, ``annie.backend.get_rng_state()``, epoch and batch position,
history. ``save_state`` stores every array of the tree as a safetensors tensor and the rest of
the tree as JSON in the file's metadata (see ``codec.py``); ``load_state`` gives the same tree
back: ints stay ints, floats are bit-exact, tuples stay tuples, integer keys stay integers.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import format as file_format
from .atomic import atomic_write_bytes
from .codec import Flattener, Unflattener


def save_state(path: str | os.PathLike, state: Any, meta: Any = None) -> None:
    """Write a nested ``state`` (and optional nested ``meta``) to ``path`` atomically."""
    flattener = Flattener(allow_arrays=True)
    fields = {"state": flattener.encode(state, "state"), "meta": flattener.encode(meta, "meta")}
    atomic_write_bytes(path, file_format.encode(flattener.arrays, "state", fields))


def load_state(path: str | os.PathLike, *,
               max_header_bytes: int = file_format.MAX_HEADER_BYTES) -> tuple[Any, Any]:
    """(state, meta) as given to ``save_state``; SerializationError for a bad file."""
    path = Path(path)

    def fail(problem: str):
        return file_format.SerializationError(f"cannot load {str(path)!r}: {problem}")

    arrays, metadata = file_format.decode(path, "state", max_header_bytes)
    if "state" not in metadata:
        raise fail("the file has no state")
    unflattener = Unflattener(arrays, fail)
    state = unflattener.decode(file_format.parse_json(metadata["state"], path, "state"))
    meta = unflattener.decode(file_format.parse_json(metadata.get("meta", "null"), path, "meta"))
    unused = sorted(set(arrays) - unflattener.used)
    if unused:
        raise fail(f"arrays {unused[:5]} are not referenced by the state")
    return state, meta
