"""The annie file: a safetensors file whose metadata says ``"format": "annie"``.

Layout (safetensors): 8 bytes little-endian header length N, N bytes of JSON header, then the
raw tensor bytes. The header maps each tensor name to ``{"dtype", "shape", "data_offsets"}``
and holds ``"__metadata__"``: string -> string, where annie keeps

    format          "annie"
    format_version  "1" (an integer; a file from a newer annie is refused with a clear message)
    kind            "model" (annie.save) or "state" (annie.io.save_state)
    sha256          hex digest of every other metadata entry and every tensor (name, dtype,
                    shape, bytes): a flipped bit anywhere in the file is detected
    other keys      JSON text (architecture, state skeleton, user metadata)

Reading never trusts the file: the header length is bounded before anything is read, the JSON
depth is bounded, every tensor entry is checked against the file size, and only then are the
bytes handed to ``safetensors.numpy``. No code from the file is ever run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from ..errors import SerializationError

FORMAT_NAME = "annie"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024 * 1024  # largest JSON header annie agrees to read
MAX_JSON_DEPTH = 100  # deepest nesting of lists/objects annie agrees to decode
MAX_NDIM = 64

# safetensors dtype code <-> NumPy dtype (bfloat16 and float8 have no NumPy dtype)
DTYPE_CODES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16,
               "I16": np.int16, "U32": np.uint32, "I32": np.int32, "U64": np.uint64,
               "I64": np.int64, "F16": np.float16, "F32": np.float32, "F64": np.float64}

# first bytes of files people mistake for model files
_FOREIGN_SIGNATURES = [(b"\x89PNG", "a PNG image"), (b"PK\x03\x04", "a zip archive (a PyTorch "
                       ".pt file or a NumPy .npz file?)"), (b"\x93NUMPY", "a NumPy .npy file"),
                       (b"\x80", "a Python pickle"), (b"\x89HDF", "an HDF5 (Keras .h5) file"),
                       (b"{", "a JSON text file"), (b"\xff\xd8\xff", "a JPEG image")]


def _fail(path: str | os.PathLike, problem: str) -> SerializationError:
    return SerializationError(f"cannot load {str(path)!r}: {problem}")


def _little_endian(array: np.ndarray) -> np.ndarray:
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def digest(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """SHA-256 over the metadata entries (except ``sha256``) and the tensors, in name order."""
    hasher = hashlib.sha256()
    for key in sorted(metadata):
        if key != "sha256":
            hasher.update(json.dumps([key, metadata[key]]).encode("utf-8"))
    for name in sorted(tensors):
        array = _little_endian(np.asarray(tensors[name]))
        hasher.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode("utf-8"))
        hasher.update(array.reshape(-1).view(np.uint8))
    return hasher.hexdigest()


def seal(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The file bytes for ``tensors`` and metadata strings, with the ``sha256`` entry added."""
    prepared = {name: _little_endian(np.asarray(array)) for name, array in tensors.items()}
    metadata = dict(metadata)
    metadata["sha256"] = digest(prepared, metadata)
    return safetensors.numpy.save(prepared, metadata=metadata)


def encode(tensors: dict[str, np.ndarray], kind: str, fields: dict[str, Any]) -> bytes:
    """The bytes of an annie file holding ``tensors`` and ``fields`` (each stored as JSON)."""
    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION), "kind": kind}
    for key, value in fields.items():
        try:
            metadata[key] = json.dumps(value, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise SerializationError(f"cannot save field {key!r} as JSON: {error}") from error
    for name, array in tensors.items():
        if np.asarray(array).dtype.type not in DTYPE_CODES.values():
            raise SerializationError(f"cannot save array {name!r}: dtype {np.asarray(array).dtype} "
                                     f"is not one of "
                                     f"{sorted(np.dtype(t).name for t in DTYPE_CODES.values())}")
    return seal(tensors, metadata)


def check_depth(value: Any, path: str | os.PathLike, what: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise _fail(path, f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def parse_json(text: str, path: str | os.PathLike, what: str) -> Any:
    """``json.loads`` that turns every failure (including nesting bombs) into SerializationError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _fail(path, f"{what} is nested too deeply to read") from None
    except ValueError as error:
        raise _fail(path, f"{what} is not valid JSON ({error})") from None
    check_depth(value, path, what)
    return value


def _identify_foreign(first_bytes: bytes) -> str:
    for signature, description in _FOREIGN_SIGNATURES:
        if first_bytes.startswith(signature):
            return f"; it looks like {description}, not an annie file"
    if first_bytes and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in first_bytes):
        # an annie file starts with a header length, never with 8 printable characters
        return (f"; it looks like a text file (it starts with {first_bytes.decode()!r}), not an "
                f"annie file")
    return ""


def _check_entry(path, name: str, entry: Any, data_length: int) -> tuple[int, int]:
    """Validate one tensor entry of the header; return its (begin, end) byte offsets."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _fail(path, f"tensor {name!r} has a malformed header entry")
    dtype_code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype_code not in DTYPE_CODES:
        raise _fail(path, f"tensor {name!r} has unsupported dtype {dtype_code!r}")
    if (not isinstance(shape, list) or len(shape) > MAX_NDIM
            or not all(type(size) is int and size >= 0 for size in shape)):
        raise _fail(path, f"tensor {name!r} has an invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(offset) is int for offset in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise _fail(path, f"tensor {name!r} has invalid data offsets {offsets!r}")
    expected = int(np.prod(shape, dtype=object)) * np.dtype(DTYPE_CODES[dtype_code]).itemsize
    if offsets[1] - offsets[0] != expected:
        raise _fail(path, f"tensor {name!r} of shape {tuple(shape)} and dtype {dtype_code} needs "
                          f"{expected} bytes but its offsets {offsets} span "
                          f"{offsets[1] - offsets[0]}")
    if offsets[1] > data_length:
        raise _fail(path, f"file is truncated: tensor {name!r} ends at byte {offsets[1]} of the "
                          f"data section, which has only {data_length} bytes")
    return offsets[0], offsets[1]


def decode(path: str | os.PathLike, kind: str,
           max_header_bytes: int = MAX_HEADER_BYTES) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read and validate an annie file of ``kind``: (tensors, metadata strings)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise _fail(path, f"file is truncated or empty ({len(prefix)} bytes; an annie "
                                  f"file starts with an 8-byte header length)")
            header_length = int.from_bytes(prefix, "little")
            if header_length > max_header_bytes:
                raise _fail(path, f"header declares {header_length} bytes, more than the limit of "
                                  f"{max_header_bytes} (max_header_bytes)" + _identify_foreign(prefix))
            if 8 + header_length > size:
                raise _fail(path, f"file is truncated: header declares {header_length} bytes but "
                                  f"the file has only {size - 8} after the length"
                                  + _identify_foreign(prefix))
            header_bytes = handle.read(header_length)
            data = handle.read()
    except IsADirectoryError:
        raise _fail(path, "it is a folder (a model folder holds model.annie)") from None
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except PermissionError:
        raise _fail(path, "permission denied") from None
    try:
        header_text = header_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "header is not UTF-8 text" + _identify_foreign(prefix)) from None
    header = parse_json(header_text, path, "header")
    if not isinstance(header, dict):
        raise _fail(path, "header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if (not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME
            or not all(isinstance(value, str) for value in metadata.values())):
        raise _fail(path, "not an annie file (its metadata has no \"format\": \"annie\"; a "
                          "plain safetensors file holds weights only: use "
                          "model.load_state_dict(safetensors.numpy.load_file(path)))")
    version_text = metadata.get("format_version", "")
    if not version_text.isdigit() or int(version_text) < 1:
        raise _fail(path, f"invalid format_version {version_text!r}")
    if int(version_text) > FORMAT_VERSION:
        raise _fail(path, f"written with format_version {version_text} by a newer annie; this "
                          f"annie reads format_version {FORMAT_VERSION} or older: upgrade annie")
    if metadata.get("kind") != kind:
        hint = {"model": "annie.load", "state": "annie.io.load_state"}.get(metadata.get("kind"))
        raise _fail(path, f"holds {metadata.get('kind')!r}, not {kind!r}"
                          + (f"; read it with {hint}" if hint else ""))
    spans = sorted(_check_entry(path, name, entry, len(data)) for name, entry in header.items())
    position = 0
    for begin, end in spans:
        if begin != position:
            raise _fail(path, f"tensor data is not contiguous (a gap or overlap at byte {begin})")
        position = end
    if position != len(data):
        raise _fail(path, f"data section has {len(data)} bytes but the tensors cover {position}")
    try:
        tensors = safetensors.numpy.load(prefix + header_bytes + data)
    except Exception as error:  # safetensors' own checks: anything it refuses is a bad file
        raise _fail(path, f"safetensors refused the file ({error})") from None
    if metadata.get("sha256") != digest(tensors, metadata):
        raise _fail(path, "file is corrupted: its contents do not match its sha256 checksum")
    return tensors, metadata
