"""Nested Python values <-> JSON plus a dict of arrays, so state round-trips exactly.

JSON alone loses things a checkpoint needs: tuples become lists, integer dict keys become
strings (an optimizer's ``{"state": {0: ...}}``), NaN is not JSON, NumPy scalars and arrays are
not JSON at all. ``flatten`` writes such values as small tagged objects ``{"$t": tag, ...}`` and
moves every ndarray into a separate dict (stored as safetensors); ``unflatten`` undoes it.

    ndarray          {"$t": "array", "key": name in the arrays dict}
    tuple            {"$t": "tuple", "v": [...]}
    dict, keys not all str (or a key "$t")   {"$t": "dict", "v": [[key, value], ...]}
    float nan/inf    {"$t": "float", "v": "nan" | "inf" | "-inf"} (a NaN also keeps its "bits")
    NumPy scalar     {"$t": "scalar", "dtype": "float32", "v": value} (nan/inf: "bits")
    NumPy dtype      {"$t": "dtype", "v": "float64"}

Python ints stay ints (any size) and floats are written with ``repr``, which reads back to the
same float64 bit pattern.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Callable

import numpy as np

from ..errors import SerializationError

TAG = "$t"
_SCALAR_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                  "uint64", "float16", "float32", "float64"}


def _encode_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    if math.isnan(value):  # keep the sign and payload bits of the NaN
        return {TAG: "float", "v": "nan", "bits": struct.unpack("<Q", struct.pack("<d", value))[0]}
    return {TAG: "float", "v": "inf" if value > 0 else "-inf"}


def _decode_float(tagged: dict, fail: Callable[[str], Exception]) -> float:
    text, bits = tagged.get("v"), tagged.get("bits")
    if text not in ("nan", "inf", "-inf"):
        raise fail(f"invalid float tag value {text!r}")
    if bits is None:
        return float(text)
    if type(bits) is not int or not 0 <= bits < 2 ** 64:
        raise fail(f"invalid float bits {bits!r}")
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


class Flattener:
    """Turns one nested value into JSON-ready data, collecting its arrays in ``self.arrays``.

    ``encode_other(value, where)`` handles types this codec does not know (annie.io uses it for
    Modules); it returns the JSON form or raises SerializationError.
    """

    def __init__(self, allow_arrays: bool = True, encode_other: Callable | None = None):
        self.arrays: dict[str, np.ndarray] = {}
        self.allow_arrays = allow_arrays
        self.encode_other = encode_other

    def _array_key(self, where: str) -> str:
        key = where or "value"
        if key in self.arrays or key == "__metadata__":
            count = 1
            while f"{key}#{count}" in self.arrays:
                count += 1
            key = f"{key}#{count}"
        return key

    def encode(self, value: Any, where: str = "") -> Any:
        """The JSON form of ``value``; ``where`` names its place (for errors and array keys)."""
        if isinstance(value, np.generic):  # first: np.float64 is also a float
            dtype_name = np.dtype(type(value)).name
            if dtype_name not in _SCALAR_DTYPES:
                raise SerializationError(f"{where or 'value'}: NumPy scalars of dtype {dtype_name} "
                                         f"cannot be stored")
            if value.dtype.kind == "f" and not np.isfinite(value):  # exact bits of nan/inf
                unsigned = np.dtype(f"uint{8 * value.dtype.itemsize}")
                return {TAG: "scalar", "dtype": dtype_name,
                        "bits": int(np.asarray(value).view(unsigned))}
            return {TAG: "scalar", "dtype": dtype_name, "v": value.item()}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return _encode_float(float(value))
        if isinstance(value, np.ndarray):
            if not self.allow_arrays:
                raise SerializationError(f"{where or 'value'}: arrays cannot be stored here")
            if value.dtype.kind not in "biuf" or value.dtype.itemsize > 8:
                raise SerializationError(f"{where or 'value'}: arrays of dtype {value.dtype} "
                                         f"cannot be stored")
            key = self._array_key(where)
            self.arrays[key] = value
            return {TAG: "array", "key": key}
        if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
            return {TAG: "dtype", "v": np.dtype(value).name}
        if isinstance(value, list):
            return [self.encode(item, f"{where}.{i}" if where else str(i))
                    for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {TAG: "tuple", "v": [self.encode(item, f"{where}.{i}" if where else str(i))
                                        for i, item in enumerate(value)]}
        if isinstance(value, dict):
            return self._encode_dict(value, where)
        if self.encode_other is not None:
            return self.encode_other(value, where)
        raise SerializationError(f"{where or 'value'}: cannot store a {type(value).__name__} "
                                 f"(allowed: None, bool, int, float, str, list, tuple, dict, "
                                 f"ndarray, NumPy scalars and dtypes)")

    def _encode_dict(self, value: dict, where: str) -> Any:
        def place(key):
            return f"{where}.{key}" if where else str(key)

        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: self.encode(item, place(key)) for key, item in value.items()}
        pairs = []
        for key, item in value.items():
            pairs.append([self.encode(key, place(key)), self.encode(item, place(key))])
        return {TAG: "dict", "v": pairs}


class Unflattener:
    """Rebuilds values from ``Flattener``'s JSON form and the arrays read back from the file."""

    def __init__(self, arrays: dict[str, np.ndarray], fail: Callable[[str], Exception],
                 decode_other: Callable | None = None):
        self.arrays = arrays
        self.fail = fail
        self.decode_other = decode_other
        self.used: set[str] = set()

    def decode(self, value: Any) -> Any:
        """The Python value of a JSON form (depth already bounded by the file reader)."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, dict):
            raise self.fail(f"unexpected JSON value of type {type(value).__name__}")
        if TAG not in value:
            return {key: self.decode(item) for key, item in value.items()}
        tag = value[TAG]
        if tag == "array":
            key = value.get("key")
            if not isinstance(key, str) or key not in self.arrays:
                raise self.fail(f"refers to array {key!r}, which the file does not hold")
            self.used.add(key)
            return self.arrays[key]
        if tag == "tuple":
            return tuple(self.decode(item) for item in self._list(value, "tuple"))
        if tag == "dict":
            result = {}
            for pair in self._list(value, "dict"):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail("a dict entry is not a [key, value] pair")
                key = self.decode(pair[0])
                try:
                    result[key] = self.decode(pair[1])
                except TypeError:
                    raise self.fail(f"dict key {key!r} is not hashable") from None
            return result
        if tag == "float":
            return _decode_float(value, self.fail)
        if tag == "scalar":
            dtype_name = value.get("dtype")
            if dtype_name not in _SCALAR_DTYPES:
                raise self.fail(f"unsupported scalar dtype {dtype_name!r}")
            dtype = np.dtype(dtype_name)
            if "bits" in value:
                bits = value["bits"]
                if dtype.kind != "f" or type(bits) is not int or not 0 <= bits < 2 ** (8 * dtype.itemsize):
                    raise self.fail(f"invalid scalar bits {bits!r} for {dtype_name}")
                return np.array(bits, dtype=f"uint{8 * dtype.itemsize}").view(dtype)[()]
            plain = value.get("v")
            if not isinstance(plain, (bool, int, float)):
                raise self.fail(f"scalar value {plain!r} is not a number")
            try:
                return np.dtype(dtype_name).type(plain)
            except (OverflowError, ValueError) as error:
                raise self.fail(f"scalar {plain!r} does not fit {dtype_name}: {error}") from None
        if tag == "dtype":
            if value.get("v") not in _SCALAR_DTYPES:
                raise self.fail(f"unsupported dtype {value.get('v')!r}")
            return np.dtype(value["v"])
        if self.decode_other is not None:
            return self.decode_other(value)
        raise self.fail(f"unknown value tag {tag!r}")

    def _list(self, value: dict, tag: str) -> list:
        items = value.get("v")
        if not isinstance(items, list):
            raise self.fail(f"a {tag} value is not a list")
        return items


def flatten(value: Any, allow_arrays: bool = True) -> tuple[Any, dict[str, np.ndarray]]:
    """(JSON form, arrays) of a nested value; ``unflatten`` inverts it exactly."""
    flattener = Flattener(allow_arrays=allow_arrays)
    return flattener.encode(value), flattener.arrays


def unflatten(skeleton: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The nested value that ``flatten`` split into (skeleton, arrays)."""
    return Unflattener(arrays, lambda problem: SerializationError(problem)).decode(skeleton)
