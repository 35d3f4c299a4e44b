"""Truncated backpropagation through time (TBPTT) and stateful recurrent layers in ``fit``.

The protocol: a recurrent layer (``annie.nn.RNN``/``LSTM``/``GRU``) with ``stateful=True``
starts each call from the final state of its previous call, detached, so gradients flow only
within one call; ``reset_state()`` forgets it. Any model built from such layers takes part,
whatever its forward returns.

``fit(..., tbptt=k)``: each batch of sequences X (batch, T, features) is cut into chunks of k
time steps; the layers carry their state from chunk to chunk (reset at the start of each batch
unless the user made them stateful) and the optimizer steps once per chunk, so dL/dw flows back
at most k steps. Targets per step (y of shape (batch, T, ...)) are cut the same way; a target
per sequence is compared with the output of the last chunk only (the earlier chunks just move
the state forward, without a graph).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from ..errors import ConfigError, ShapeError, is_positive_int


def recurrent_layers(model) -> list:
    """Every sub-module of ``model`` that can carry a state (has ``stateful``/``reset_state``)."""
    return [module for module in model.modules()
            if hasattr(module, "reset_state") and hasattr(module, "stateful")]


def stateful_layers(model) -> list:
    """The recurrent layers the user made stateful."""
    return [layer for layer in recurrent_layers(model) if layer.stateful]


def reset_states(layers: list) -> None:
    """Forget the carried state of each layer."""
    for layer in layers:
        layer.reset_state()


@contextlib.contextmanager
def carrying_state(layers: list) -> Iterator[None]:
    """Make ``layers`` stateful for the duration of the block, then restore their setting (and
    forget the state of those that were not stateful before)."""
    before = [layer.stateful for layer in layers]
    for layer in layers:
        layer.stateful = True
    try:
        yield
    finally:
        for layer, was_stateful in zip(layers, before):
            layer.stateful = was_stateful
            if not was_stateful:
                layer.reset_state()


@contextlib.contextmanager
def paused_state(layers: list) -> Iterator[None]:
    """Run the block (e.g. validation) with ``layers`` not stateful, each call from zeros, then
    give them back their setting and the state they carried."""
    saved = [(layer.stateful, layer.carried_state) for layer in layers]
    for layer in layers:
        layer.stateful = False
    try:
        yield
    finally:
        for layer, (was_stateful, carried) in zip(layers, saved):
            layer.stateful = was_stateful
            layer.carried_state = carried


def check_tbptt(tbptt, X: np.ndarray, model) -> int | None:
    """``tbptt`` as a chunk length, after checking the model and X can use it."""
    if tbptt is None:
        return None
    if not is_positive_int(tbptt):
        raise ConfigError(f"fit: tbptt must be a positive integer (time steps per chunk) or "
                          f"None, got {tbptt!r}")
    if X.ndim != 3:
        raise ShapeError(f"fit: tbptt needs sequences X of shape (batch, time, features), got "
                         f"X of shape {X.shape}")
    if not recurrent_layers(model):
        raise ConfigError(f"fit: tbptt={tbptt} needs a model with recurrent layers (annie.nn.RNN, "
                          f"LSTM or GRU) to carry the state; {type(model).__name__} has none")
    return int(tbptt)


def check_stateful(model, shuffle: bool, n_train: int, batch_size: int) -> list:
    """The user's stateful layers, after checking the data order keeps sequences aligned."""
    layers = stateful_layers(model)
    if not layers:
        return layers
    if shuffle:
        raise ConfigError("fit: the model has stateful recurrent layers (row i of a batch "
                          "continues row i of the previous batch), so pass shuffle=False")
    if n_train % batch_size:
        raise ConfigError(f"fit: stateful recurrent layers need every batch to have the same "
                          f"size, but {n_train} training samples do not split into batches of "
                          f"{batch_size}")
    return layers


def targets_per_step(y: np.ndarray, steps: int) -> bool:
    """Whether y holds one target per time step: shape (batch, T, ...)."""
    return y.ndim >= 2 and y.shape[1] == steps


def chunks(steps: int, length: int) -> list[slice]:
    """The time slices [0, k), [k, 2k), ... covering ``steps`` steps (the last may be shorter)."""
    return [slice(start, min(start + length, steps)) for start in range(0, steps, length)]
