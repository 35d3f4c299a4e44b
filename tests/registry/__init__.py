"""One registry of every differentiable op, activation, loss and layer; tests/test_registry.py
walks it (float64 gradcheck, forward against a NumPy reference, dtype preserved).

Each area has its own file here defining ``CASES: list[Case]``; this package gathers them.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np


@dataclass
class Case:
    """One entry of the registry.

    fn:        takes annie Tensors (and constants), returns a Tensor (or tuple of Tensors).
    make_inputs(rng, dtype) -> list of ndarrays: float arrays become Tensors; other arrays
               (integer labels, masks) are passed as constants.
    reference: takes the same inputs as float64 ndarrays and returns the expected output array
               (a NumPy or closed-form formula written independently of annie), or None.
    grad_inputs: indices of inputs to gradcheck (default: every float input).
    batch:     indices of inputs whose first axis is the batch: tests/test_registry.py empties
               that axis (size 0) and expects what PyTorch gives, an empty (or reduced) result
               equal to the reference's on the empty inputs and zero-size gradients. Left empty
               where a size-0 first axis has no meaning (a reduction over it, a fixed index).
    """

    name: str
    fn: Callable
    make_inputs: Callable[[np.random.Generator, np.dtype], Sequence[np.ndarray]]
    reference: Callable | None = None
    grad_inputs: tuple[int, ...] | None = None
    atol: float = 1e-5
    rtol: float = 1e-3
    tags: tuple[str, ...] = field(default_factory=tuple)
    batch: tuple[int, ...] = ()


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    names = [case.name for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"registry: duplicate case names {sorted(duplicates)}")
    return cases
