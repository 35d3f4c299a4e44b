"""Saving and loading without pickle: models, checkpoint state, and atomic writes.

``save(model, path)`` / ``load(path)`` store a whole model (JSON architecture + safetensors
weights) in one file; ``save_state`` / ``load_state`` store a nested checkpoint tree; every file
is written through ``atomic_write_bytes`` / ``atomic_write_text`` / ``atomic_open``.
"""
from .atomic import atomic_open, atomic_write_bytes, atomic_write_text, fsync_directory
from .codec import flatten, unflatten
from .format import FORMAT_VERSION, MAX_HEADER_BYTES
from .model import describe, load, save
from .registry import register_module, unregister_module
from .state import load_state, save_state

__all__ = ["save", "load", "save_state", "load_state", "atomic_open", "atomic_write_bytes",
           "atomic_write_text", "fsync_directory", "register_module", "unregister_module",
           "flatten", "unflatten", "describe", "FORMAT_VERSION", "MAX_HEADER_BYTES"]
