"""Axis arguments: PyTorch's names (``dim``, ``keepdim``) with NumPy's (``axis``, ``keepdims``)
accepted as aliases, so ``x.sum(dim=1, keepdim=True)`` and ``x.sum(axis=1, keepdims=True)``
are the same call everywhere in annie's PyTorch-facing API."""
from __future__ import annotations

from ..errors import ConfigError


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
