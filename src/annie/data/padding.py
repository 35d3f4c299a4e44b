"""``pad_sequences``: a list of variable-length sequences as one padded array plus the lengths
that the recurrent layers take (``model(x, lengths=lengths)``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..backend import get_default_dtype
from ..errors import ConfigError, DataError, ShapeError, check_positive_int


def pad_sequences(sequences: Sequence, maxlen: int | None = None, padding: str = "post",
                  value: float = 0.0, truncating: str = "post") -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of shapes (length_i, ...) into (batch, maxlen, ...) filled with ``value``
    and return (padded, lengths); lengths[i] = min(length_i, maxlen). ``padding="post"`` puts the
    padding after each sequence (what ``lengths=`` expects), ``"pre"`` before it; sequences
    longer than ``maxlen`` keep their first (``truncating="post"``) or last (``"pre"``) steps.
    Float lists become the default dtype; arrays keep theirs (e.g. integer token ids)."""
    for name, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ConfigError(f"pad_sequences: {name} must be 'pre' or 'post', got {option!r}")
    check_positive_int(maxlen, "maxlen", "pad_sequences", allow_none=True)
    arrays, any_array = [], False
    for i, sequence in enumerate(sequences):
        array = np.asarray(sequence)
        if array.ndim == 0:
            raise ShapeError(f"pad_sequences: sequence {i} is a scalar, "
                             f"expected shape (length, ...)")
        if array.shape[0] == 0:
            raise DataError(f"pad_sequences: sequence {i} is empty")
        arrays.append(array)
        any_array = any_array or isinstance(sequence, np.ndarray)
    if not arrays:
        raise DataError("pad_sequences: no sequences given")
    feature_shape = arrays[0].shape[1:]
    for i, array in enumerate(arrays):
        if array.shape[1:] != feature_shape:
            raise ShapeError(f"pad_sequences: sequence {i} has step shape {array.shape[1:]}, "
                             f"sequence 0 has {feature_shape}")
    lengths = np.array([array.shape[0] for array in arrays], dtype=np.int64)
    steps = int(lengths.max()) if maxlen is None else int(maxlen)
    dtype = np.result_type(*arrays)
    if dtype.kind == "f" and not any_array:
        dtype = get_default_dtype()
    if dtype.kind in "iub" and value != int(value):
        raise ConfigError(f"pad_sequences: value={value!r} cannot be stored in the sequences' "
                          f"integer dtype {dtype}")
    padded = np.full((len(arrays), steps, *feature_shape), value, dtype=dtype)
    for i, array in enumerate(arrays):
        if array.shape[0] > steps:
            array = array[:steps] if truncating == "post" else array[-steps:]
        if padding == "post":
            padded[i, :array.shape[0]] = array
        else:
            padded[i, steps - array.shape[0]:] = array
    return padded, np.minimum(lengths, steps)
