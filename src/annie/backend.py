"""The default dtype and the random number generator.

Everything random in annie draws from :func:`rng`, so ``annie.manual_seed(n)`` makes a run repeatable.
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError, check_non_negative_int

_default_dtype = np.dtype(np.float32)
_generator = np.random.default_rng()

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def get_default_dtype() -> np.dtype:
    """The dtype given to tensors made from Python scalars and lists (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype for tensors made from Python scalars and lists: float32 or float64."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise ConfigError(f"set_default_dtype: dtype must be a float dtype, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random choice annie makes (initialisation, dropout, shuffling, sampling)."""
    global _generator
    _generator = np.random.default_rng(check_non_negative_int(seed, "seed", "manual_seed"))
    return _generator


def rng() -> np.random.Generator:
    """The generator every random choice in annie draws from."""
    return _generator


def get_rng_state() -> dict:
    """The state of annie's generator, as a JSON-serialisable dict (for exact resume)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore annie's generator from :func:`get_rng_state`'s dict."""
    global _generator
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    _generator = np.random.Generator(bit_generator)
