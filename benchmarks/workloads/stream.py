"""One step at a time: a recurrent model fed a stream, one new observation per call.

``stream-lstm``, ``stream-gru`` and ``stream-rnn``: a 1-layer layer (16 inputs, hidden 128,
batch 1, batch_first) called on x of shape (1, 1, 16) with the state it returned last time,
under no_grad, as an online model consumes a stream or a decoder emits a token; PyTorch runs the
same loop on the same weights. ``stream-cell``: an ``LSTMCell`` stepped the same way (the path
``RecurrentLayer.step`` and ``CharLanguageModel.generate`` take) against ``torch.nn.LSTMCell``.
Seconds per step."""
from __future__ import annotations

import numpy as np

from ..harness import Contender, Settings, WorkloadResult, measure
from .common import torch_twin

INPUTS, HIDDEN, CALLS = 16, 128, 50
LAYER_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _stream(call, inputs: list, state):
    """A closure feeding every input in turn, carrying the state from call to call."""
    def run():
        carried = state
        for x in inputs:
            _, carried = call(x, carried)
    return run


def _inputs(settings: Settings, calls: int) -> list:
    rng = np.random.default_rng(settings.seed)
    return [rng.standard_normal((1, 1, INPUTS)).astype(np.float32) for _ in range(calls)]


def run_stream_layer(kind: str, settings: Settings) -> WorkloadResult:
    """Seconds per one-step call of a 1-layer ``kind`` layer, state carried."""
    import annie
    hidden = 8 if settings.tiny else HIDDEN
    result = WorkloadResult(f"stream-{kind}", f"one-step calls of a 1-layer {LAYER_NAMES[kind]}, "
                                              f"hidden {hidden}, batch 1, state carried")
    annie.manual_seed(settings.seed)
    layer = getattr(annie.nn, LAYER_NAMES[kind])(INPUTS, hidden)
    arrays = _inputs(settings, CALLS)
    inputs = [annie.tensor(x) for x in arrays]

    def annie_call(x, state):
        with annie.no_grad():
            return layer(x, state)
    contenders = [Contender("annie", _stream(annie_call, inputs, None), steps=CALLS)]
    twin = torch_twin(result, layer, lambda torch: getattr(torch.nn, LAYER_NAMES[kind])(
        INPUTS, hidden, batch_first=True))
    if twin is not None:
        import torch
        torch_inputs = [torch.from_numpy(x) for x in arrays]

        def torch_call(x, state):
            with torch.no_grad():
                return twin(x, state)
        contenders.append(Contender("torch", _stream(torch_call, torch_inputs, None),
                                    steps=CALLS))
    return measure(result, contenders, settings)


def run_stream_cell(settings: Settings, results: dict) -> WorkloadResult:
    """Seconds per step of an LSTMCell (hidden 128, batch 1), its state carried."""
    import annie
    hidden = 8 if settings.tiny else HIDDEN
    result = WorkloadResult("stream-cell", f"LSTMCell steps, hidden {hidden}, batch 1, "
                                           f"state carried")
    annie.manual_seed(settings.seed)
    cell = annie.nn.LSTMCell(INPUTS, hidden)
    arrays = [x[0] for x in _inputs(settings, CALLS)]
    zeros = np.zeros((1, hidden), dtype=np.float32)
    inputs = [annie.tensor(x) for x in arrays]

    def annie_call(x, state):
        with annie.no_grad():
            state = cell(x, state)
        return state[0], state
    contenders = [Contender("annie", _stream(annie_call, inputs,
                                             (annie.tensor(zeros), annie.tensor(zeros))),
                            steps=CALLS)]
    twin = torch_twin(result, cell, lambda torch: torch.nn.LSTMCell(INPUTS, hidden))
    if twin is not None:
        import torch
        torch_inputs = [torch.from_numpy(x) for x in arrays]

        def torch_call(x, state):
            with torch.no_grad():
                state = twin(x, state)
            return state[0], state
        start = (torch.from_numpy(zeros), torch.from_numpy(zeros))
        contenders.append(Contender("torch", _stream(torch_call, torch_inputs, start),
                                    steps=CALLS))
    return measure(result, contenders, settings)


def run_stream_lstm(settings: Settings, results: dict) -> WorkloadResult:
    return run_stream_layer("lstm", settings)


def run_stream_gru(settings: Settings, results: dict) -> WorkloadResult:
    return run_stream_layer("gru", settings)


def run_stream_rnn(settings: Settings, results: dict) -> WorkloadResult:
    return run_stream_layer("rnn", settings)
