"""How a recurrent kernel sees a batch: time-major, longest sequence first, and for the reverse
direction each sequence reversed within its own length.

Sorting by length (as PyTorch's packed sequences do) makes the sequences still running at step t
a prefix of the batch, rows ``[:active[t]]``, so every step works on contiguous slices and
padded steps are simply skipped: they change neither outputs, final states nor gradients.
"""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError, DTypeError, ShapeError


def check_lengths(lengths, steps: int, batch: int, owner: str) -> np.ndarray | None:
    """Validate ``lengths``: integers in 1..steps, one per sequence (shape (batch,))."""
    if lengths is None:
        return None
    if hasattr(lengths, "data") and not isinstance(lengths, np.ndarray):
        lengths = lengths.data  # an annie Tensor
    array = np.asarray(lengths)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and array.size and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise DTypeError(f"{owner}: lengths must be integers, got dtype {array.dtype}")
    if array.shape != (batch,):
        raise ShapeError(f"{owner}: lengths must have shape ({batch},) (one per sequence in the "
                         f"batch), got shape {array.shape}")
    if batch and (array.min() < 1 or array.max() > steps):
        bad = array[(array < 1) | (array > steps)][0]
        raise ConfigError(f"{owner}: every length must be in 1..{steps} (the number of time "
                          f"steps), got {int(bad)}")
    return array.astype(np.int64, copy=False)


def unpermute(array: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """Undo ``array = original[index]`` along the first axis (None: nothing to undo)."""
    if index is None:
        return array
    result = np.empty_like(array)
    result[index] = array
    return result


class SequenceLayout:
    """The map between the caller's (time, batch, ...) arrays and the kernel's order."""

    def __init__(self, steps: int, batch: int, lengths: np.ndarray | None, reverse: bool):
        self.steps, self.batch, self.reverse = steps, batch, reverse
        self.order = None        # kernel row j holds caller row order[j]
        self.time_index = None   # kernel step t of row j reads caller step time_index[t, j]
        if lengths is None:
            self.active = [batch] * steps
            self.padded = False
            return
        order = np.argsort(-lengths, kind="stable")
        if np.any(order != np.arange(batch)):
            self.order = order
        sorted_lengths = lengths[order]
        step_numbers = np.arange(steps)
        self.active = (sorted_lengths[None, :] > step_numbers[:, None]).sum(axis=1).tolist()
        self.padded = self.active[-1] < batch
        if reverse and self.padded:
            within = step_numbers[:, None] < sorted_lengths[None, :]
            self.time_index = np.where(within, sorted_lengths[None, :] - 1 - step_numbers[:, None],
                                       step_numbers[:, None])

    def _rows(self) -> np.ndarray:
        return self.order if self.order is not None else np.arange(self.batch)

    def to_kernel(self, array: np.ndarray) -> np.ndarray:
        """(time, batch, ...) in the caller's order -> the kernel's order."""
        if self.time_index is not None:
            return array[self.time_index, self._rows()[None, :]]
        if self.order is not None:
            array = array[:, self.order]
        return array[::-1] if self.reverse else array

    def from_kernel(self, array: np.ndarray) -> np.ndarray:
        """(time, batch, ...) in the kernel's order -> the caller's order."""
        if self.time_index is None and self.order is None:
            return array[::-1] if self.reverse else array
        if self.time_index is None and self.reverse:
            array = array[::-1]
        result = np.empty_like(array)
        if self.time_index is not None:
            result[self.time_index, self._rows()[None, :]] = array
        else:
            result[:, self.order] = array
        return result

    def batch_to_kernel(self, array: np.ndarray) -> np.ndarray:
        """(batch, ...) in the caller's order -> the kernel's order."""
        return array if self.order is None else array[self.order]

    def batch_from_kernel(self, array: np.ndarray) -> np.ndarray:
        """(batch, ...) in the kernel's order -> the caller's order."""
        return unpermute(array, self.order)

    def zero_padding(self, outputs: np.ndarray, in_place: bool = False) -> np.ndarray:
        """Kernel-order (time, batch, ...) ``outputs`` with the steps after each sequence's end
        set to zero (a copy unless ``in_place``)."""
        if not self.padded:
            return outputs
        if not in_place:
            outputs = outputs.copy()
        for t, active in enumerate(self.active):
            outputs[t, active:] = 0
        return outputs


class ScratchPool:
    """Large scratch arrays handed back after a backward pass and reused by the next forward of
    the same shape: memory fresh from the operating system costs a page fault per 4 KiB on its
    first write, which for a recurrent kernel's per-step writes can cost as much as the math."""

    def __init__(self, per_shape: int = 4, shapes: int = 8):
        self.per_shape, self.shapes = per_shape, shapes
        self._free: dict[tuple, list[np.ndarray]] = {}

    def take(self, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` (a reused one when there is one)."""
        free = self._free.get((shape, np.dtype(dtype)))
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took the last one
                pass
        return np.empty(shape, dtype=dtype)

    def give(self, *arrays: np.ndarray) -> None:
        """Hand back arrays from ``take`` that nothing refers to any more."""
        if self.per_shape == 0 or self.shapes == 0:
            return
        for array in arrays:
            key = (array.shape, array.dtype)
            if key not in self._free and len(self._free) >= self.shapes:
                self._free.pop(next(iter(self._free)), None)  # forget the oldest shape
            free = self._free.setdefault(key, [])
            if len(free) < self.per_shape:
                free.append(array)
