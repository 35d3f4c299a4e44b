"""Reader for IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout: two zero bytes, one type-code byte, one byte with the number of dimensions d, then d
big-endian uint32 sizes, then the values in row-major order, big-endian.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from ..errors import DataError, SerializationError
from .files import file_problem

IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_file(path) -> tuple[str, bytes]:
    """The bytes of the file at ``path``, gunzipped when it starts with the gzip magic bytes."""
    path = os.fspath(path)
    problem = file_problem(path)
    if problem:
        raise DataError(f"load_idx: {path!r} {problem}")
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise SerializationError(f"load_idx: {path!r} is a damaged gzip file: {error}") \
                from None
    return path, raw


def load_idx(path) -> np.ndarray:
    """The array stored in an IDX file, in native byte order (MNIST images come back as uint8)."""
    path, raw = _read_file(path)
    if len(raw) < 4:
        raise SerializationError(f"load_idx: {path!r} is too short ({len(raw)} bytes) to hold "
                                 f"the 4-byte IDX header")
    if raw[0] != 0 or raw[1] != 0:
        raise SerializationError(f"load_idx: {path!r} is not an IDX file: the magic number "
                                 f"must start with two zero bytes, got {raw[:4].hex()}")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise SerializationError(f"load_idx: {path!r} has unknown IDX type code 0x{type_code:02X} "
                                 f"(known: {known})")
    if ndim == 0:
        raise SerializationError(f"load_idx: {path!r} declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise SerializationError(f"load_idx: {path!r} is truncated: its header declares {ndim} "
                                 f"dimensions ({header_size} header bytes) but the file has "
                                 f"{len(raw)} bytes")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says"
        raise SerializationError(f"load_idx: {path!r} is {problem}: shape {shape} of {dtype.name} "
                                 f"needs {expected} bytes, the file has {len(raw)}")
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def load_mnist_idx(images_path, labels_path, flatten: bool = True,
                   scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-format images and labels: (X float32, y int64).

    X is (n, rows * cols) with ``flatten=True`` else (n, rows, cols); pixels are divided by 255
    into [0, 1] with ``scale=True``, else kept as 0..255.
    """
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"load_mnist_idx: images file {os.fspath(images_path)!r} must hold a 3-D "
                        f"array (n, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"load_mnist_idx: labels file {os.fspath(labels_path)!r} must hold a 1-D "
                        f"array (n,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"load_mnist_idx: {len(images)} images but {len(labels)} labels")
    if labels.dtype.kind not in "iu":
        raise DataError(f"load_mnist_idx: labels must be integers, got dtype {labels.dtype}")
    X = images.astype(np.float32)
    if scale:
        X /= 255.0
    if flatten:
        X = X.reshape(len(X), -1)
    return X, labels.astype(np.int64)
