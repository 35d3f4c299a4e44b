"""Axis arguments: PyTorch's names (``dim``, ``keepdim``) with NumPy's (``axis``, ``keepdims``)
accepted as aliases, so ``x.sum(dim=1, keepdim=True)`` and ``x.sum(axis=1, keepdims=True)``
are the same call everywhere in annie's PyTorch-facing API; ``checked_dim``/``checked_dims``
check a dim against a shape the same way for every op."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError


def pick(owner: str, name: str, value, alias_name: str, alias, default=None):
    """``value`` (the PyTorch-named argument) or its NumPy alias; giving both with different
    values is a ConfigError; neither gives ``default``."""
    if alias is None:
        return default if value is None else value
    if value is not None and value != alias:
        raise ConfigError(f"{owner}: got {name}={value!r} and {alias_name}={alias!r}; "
                          f"pass only one ({alias_name} is NumPy's name for {name})")
    return alias


def pick_dim(owner: str, dim, axis, default=None):
    """The axis argument from ``dim`` or its alias ``axis`` (``default`` when neither)."""
    return pick(owner, "dim", dim, "axis", axis, default)


def pick_keepdim(owner: str, keepdim, keepdims) -> bool:
    """``keepdim`` or its alias ``keepdims`` (False when neither)."""
    return bool(pick(owner, "keepdim", keepdim, "keepdims", keepdims, False))


def checked_dim(owner: str, dim, shape: tuple, *, new_axis: bool = False,
                name: str = "dim") -> int:
    """``dim`` as an axis index in [0, ndim), counted from the end when negative, for a tensor
    of ``shape`` (``new_axis``: a position where an axis is inserted, [0, ndim]). As in PyTorch,
    a dim outside [-ndim, ndim) is an error, never wrapped around: ConfigError when it is not
    an integer, ShapeError naming ``owner``, the argument (``name``: "dim" or "axis"), its
    value and the valid range when out of range."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise ConfigError(f"{owner}: {name} must be an integer, got {dim!r}")
    size = len(shape) + (1 if new_axis else 0)
    if not -size <= dim < size:
        valid = f"{-size} to {size - 1}" if size else "none: the tensor has no axes"
        raise ShapeError(f"{owner}: {name} {dim} is out of range for a tensor of shape "
                         f"{tuple(shape)} (valid: {valid})")
    return int(dim) % size


def checked_dims(owner: str, dim, shape: tuple, name: str = "dim") -> tuple[int, ...] | None:
    """``dim`` of a reduction checked: None (every axis), an int, or a tuple/list of ints each
    in range (``checked_dim``) and none named twice."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    checked = tuple(checked_dim(owner, item, shape, name=name) for item in dims)
    if len(set(checked)) != len(checked):
        raise ShapeError(f"{owner}: {name} {tuple(dims)} names an axis twice (tensor of shape "
                         f"{tuple(shape)})")
    return checked


def picked_dim(owner: str, dim, axis, shape: tuple, default=None, *,
               new_axis: bool = False) -> int:
    """``pick_dim`` then ``checked_dim``, naming in errors the argument the caller used."""
    name = "axis" if axis is not None and dim is None else "dim"
    return checked_dim(owner, pick_dim(owner, dim, axis, default), shape, new_axis=new_axis,
                       name=name)
