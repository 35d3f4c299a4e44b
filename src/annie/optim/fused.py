"""Adam's update as one compiled loop over the elements (the ``fast`` extra's numba), which
``Adam._update`` runs instead of its NumPy passes where it can (``adam_update``).

The NumPy update in ``adam.py`` is the reference and stays the readable one. Its 12 passes over
the arrays (scale, add, square, sqrt, divide, ...) each read and write whole arrays, and each is
a NumPy call; one loop reads every element once. A whole ``Adam.step()`` of one float32 group,
one thread, idle machine: 131,072 values 141 us with the NumPy update, 37 us with the loop;
235,146 (the 784-256-128-10 MLP) 250 us against 62 us; 9,610 (the 64-128-10 MLP) 15.8 against
8.3 us.

It runs for arrays of at least ``MIN_VALUES`` values. Loading numba costs a process 0.34 s at
its first step (0.58 s the first time, compiling) and about 120 MB of memory (peak RSS of an
MLP run 49 MB -> 164 MB), which a small model's steps never pay back: the 7.5 us a step saved
at 9,610 values repay the start-up after 45,000 steps, the 103 us at 131,072 values after 3,300
(seven epochs of MNIST at batch 128), the 188 us at 235,146 after 1,800.

The loop does each element's arithmetic in the NumPy update's order, with the same roundings:
no fused multiply-adds (numba's default), the scalars cast to the arrays' dtype as NumPy casts a
Python float (both take the settings as Python floats, whatever their type). So both give the
same bits (the tests compare them with ``array_equal``). Unlike NumPy, the loop raises no
floating-point warnings and ignores ``np.errstate`` (as the compiled recurrent loops do): a
gradient of 1e30 overflows to the same inf without the warning. Like those loops, it is skipped
when numba is missing or ``ANNIE_NUMBA=0``.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np

MIN_VALUES = 1 << 17  # the smallest array the loop runs for (see above)

# numba's options, in this file so that an edit recompiles (numba's disk cache checks the source
# file of the function it compiled, not the options). No fastmath: the NumPy update's roundings.
NUMBA_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


def adam_elements(param, grad, exp_avg, exp_avg_sq, l2, maximize, decay, weight_decay, beta1,
                  one_minus_beta1, beta2, one_minus_beta2, eps_term, minus_step_size):
    """Adam's step (without AMSGrad) on 1-D arrays, element by element, in place
    (``Adam``'s docstring has the rule; the scalars as ``adam_update`` makes them). The flags
    hold for the whole loop and their branches touch no memory, so the compiler turns them into
    selects and the loop into vector instructions."""
    for i in range(param.shape[0]):
        p = param[i] * decay  # AdamW's theta * (1 - lr * weight_decay); decay = 1 otherwise
        g = -grad[i] if maximize else grad[i]
        if l2:
            g = p * weight_decay + g  # (+ (-grad) rounds as - grad: NumPy's order)
        m = exp_avg[i] * beta1 + g * one_minus_beta1
        v = exp_avg_sq[i] * beta2 + (g * one_minus_beta2) * g  # (scale g) g: no overflow in g^2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = p + (m / (math.sqrt(v) + eps_term)) * minus_step_size


def enabled() -> bool:
    """True when the compiled loop is used: numba is installed and ANNIE_NUMBA is not 0."""
    return os.environ.get("ANNIE_NUMBA", "1") != "0" and compiled_adam() is not None


@functools.lru_cache(maxsize=None)
def compiled_adam():
    """``adam_elements`` compiled by numba (cached on disk), or None without numba."""
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(**NUMBA_OPTIONS)(adam_elements)


def adam_update(param: np.ndarray, grad: np.ndarray, state: dict, group: dict, beta1: float,
                beta2: float, step_size: float, eps_term: float) -> bool:
    """Run Adam's step on ``param`` and ``state`` in one compiled loop and return True; return
    False with nothing changed where the loop does not apply (fewer than ``MIN_VALUES``
    values, numba off or missing, AMSGrad, a dtype other than float32/float64, arrays not
    C-contiguous or of different shapes or dtypes, a read-only array). ``beta1``, ``beta2``,
    ``step_size`` and ``eps_term`` are ``Adam._update``'s Python floats."""
    if group["amsgrad"] or param.size < MIN_VALUES or not enabled():
        return False
    dtype = param.dtype
    arrays = (param, grad, state["exp_avg"], state["exp_avg_sq"])
    if dtype not in (np.float32, np.float64) or any(
            array.dtype != dtype or array.shape != param.shape or not array.flags.c_contiguous
            or not array.flags.writeable for array in arrays):
        return False
    lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
    decoupled = group.get("decoupled_weight_decay", False)
    scalar = dtype.type  # a Python float cast to the arrays' dtype, as NumPy's ufuncs cast it
    # x * 1 is x for every float (NaN and -0 included), so "no decoupled decay" is decay 1
    decay = scalar(1 - lr * weight_decay) if decoupled and weight_decay != 0 else scalar(1)
    loop = compiled_adam()
    loop(*(array.reshape(-1) for array in arrays),  # views: every array is C-contiguous
         not decoupled and weight_decay != 0, bool(group["maximize"]), decay,
         scalar(weight_decay), scalar(beta1), scalar(1 - beta1), scalar(beta2),
         scalar(1 - beta2), scalar(eps_term), scalar(-step_size))
    return True
