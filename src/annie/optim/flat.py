"""One contiguous array per parameter group, so that an optimizer step is a few vectorised calls.

Every update rule of this package is elementwise, so one ``_update`` call on the concatenation
of a group's parameters, gradients and state equals one call per parameter. ``FlatGroup`` keeps
that concatenation without copying at each step:

- each parameter's ``.data`` is rebound (once) to a view into one flat array ``flat_param``;
- each per-parameter state array (``optimizer.state[param]["exp_avg"]``, ...) is a view into a
  flat state array, so ``optimizer.state`` and ``state_dict()`` keep PyTorch's per-parameter
  layout and values;
- each step copies the gradients into one flat buffer (one ``np.concatenate(..., out=)``).

Anything that replaces one of these arrays (``load_state_dict``, ``Module.to``, user code
assigning ``param.data`` or a state entry) is noticed by an identity check at the next step,
and the layout is built again from the current arrays. The per-parameter dicts stay the source
of truth for the counters (``step``, ...): the flat update runs only when they agree across
the group.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor

InitState = Callable[[np.ndarray, dict], dict]


class FlatGroup:
    """The parameters of one group and their state as views into flat arrays."""

    def __init__(self, params: list[Tensor], states: list[dict[str, Any]],
                 flat_param: np.ndarray, flat_state: dict[str, Any]) -> None:
        self.params = params
        self.states = states  # the per-parameter dicts held in optimizer.state
        self.flat_param = flat_param
        self.flat_grad = np.empty_like(flat_param)
        self.flat_state = flat_state
        self.views = [param.data for param in params]
        # per parameter: the (key, view) pairs its state dict must still hold
        self.state_views: list[tuple[tuple[str, np.ndarray], ...]] = [() for _ in params]
        self.state_sizes = [len(state) for state in states]
        self._bound_arrays: dict[str, np.ndarray] = {}
        self.share_new_state_arrays()

    def is_current(self, params: list[Tensor], state: dict[Tensor, dict[str, Any]]) -> bool:
        """True while every parameter's data and state arrays are still this layout's views."""
        if len(params) != len(self.views):
            return False
        for param, view, param_state, state_views, size in zip(
                params, self.views, self.states, self.state_views, self.state_sizes):
            if param.data is not view or state.get(param) is not param_state \
                    or len(param_state) != size:
                return False
            for key, array in state_views:
                if param_state[key] is not array:
                    return False
        return True

    def common_scalars(self) -> bool:
        """Copy the counters (``step``, ...) of the per-parameter states into ``flat_state``;
        False when they differ between parameters (their updates cannot be one call)."""
        first = self.states[0]
        for key, value in first.items():
            if isinstance(value, np.ndarray):
                continue
            for other in self.states[1:]:
                if other.get(key) != value:
                    return False
            self.flat_state[key] = value
        return True

    def gather_grads(self, grads: list[np.ndarray]) -> np.ndarray:
        """The gradients concatenated into the flat gradient buffer."""
        return np.concatenate(grads, axis=None, out=self.flat_grad)

    def share_new_state_arrays(self) -> None:
        """Publish the flat state after an update: counters into every per-parameter dict, and
        per-parameter views of any flat state array the update created or replaced."""
        for key, value in self.flat_state.items():
            if not isinstance(value, np.ndarray):
                for param_state in self.states:
                    param_state[key] = value
            elif self._bound_arrays.get(key) is not value:
                self._bound_arrays[key] = value
                for param_state, view in zip(self.states, _split(value, self.views)):
                    param_state[key] = view
                self.state_views = [
                    tuple((name, param_state[name]) for name in self._bound_arrays)
                    for param_state in self.states]
        self.state_sizes = [len(state) for state in self.states]


def build_flat_group(params: list[Tensor], state: dict[Tensor, dict[str, Any]],
                     group: dict[str, Any], init_state: InitState) -> FlatGroup | None:
    """Rebind ``params`` (and their state, if any) to views into flat arrays; None when they
    cannot share one update: mixed dtypes, state present for some parameters only, or states
    whose entries or counters differ."""
    dtype = params[0].data.dtype
    if dtype.kind != "f" or any(param.data.dtype != dtype for param in params):
        return None
    states = [state.get(param) for param in params]
    fresh = all(param_state is None for param_state in states)
    if not fresh and not _compatible(states, params):
        return None
    flat_param = np.concatenate([param.data for param in params], axis=None)
    for param, view in zip(params, _split(flat_param, [p.data for p in params])):
        param.data = view
    if fresh:
        flat_state = init_state(flat_param, group)
        states = [{} for _ in params]
        for param, param_state in zip(params, states):
            state[param] = param_state
    else:
        flat_state = {key: (np.concatenate([s[key] for s in states], axis=None)
                            if isinstance(value, np.ndarray) else value)
                      for key, value in states[0].items()}
    return FlatGroup(params, states, flat_param, flat_state)


def _compatible(states: list[dict[str, Any] | None], params: list[Tensor]) -> bool:
    """Every parameter has state with the same entries, equal counters, arrays shaped like it."""
    first = states[0]
    if first is None:
        return False
    for param, param_state in zip(params, states):
        if param_state is None or param_state.keys() != first.keys():
            return False
        for key, value in param_state.items():
            if isinstance(value, np.ndarray):
                if value.shape != param.data.shape:
                    return False
            elif value != first[key]:
                return False
    return True


def _split(flat: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """Views into ``flat``, one per array of ``like``, with its shape, in order."""
    views, offset = [], 0
    for array in like:
        views.append(flat[offset:offset + array.size].reshape(array.shape))
        offset += array.size
    return views
