"""Recurrent workloads: many-to-one RNN/LSTM/GRU classifiers and a many-to-many character LSTM.

many-to-one: input (batch 64, 50 steps, 16 features) -> recurrent layer (hidden 128) -> the last
step's output -> Linear(128, 10) -> cross-entropy. char-lstm: ids (batch 32, 100 steps) ->
Embedding(65, 64) -> LSTM(64, 256) -> Linear(256, 65) at every step -> cross-entropy.
Each also times its ``floor``: the recurrent layer's BLAS calls alone (``floor.py``).
"""
from __future__ import annotations

from ..harness import Contender, Settings, WorkloadResult, measure
from .common import (adam_cross_entropy_step, annie_missing, copy_weights_to_torch, import_torch,
                     random_batches)
from .floor import recurrent_floor

N_BATCHES = 4
SEQUENCE = {"batch": 64, "steps": 50, "inputs": 16, "hidden": 128, "classes": 10}
TINY_SEQUENCE = {"batch": 3, "steps": 4, "inputs": 5, "hidden": 6, "classes": 3}
CHAR = {"batch": 32, "steps": 100, "embedding": 64, "hidden": 256, "vocab": 65}
TINY_CHAR = {"batch": 2, "steps": 5, "embedding": 4, "hidden": 6, "vocab": 7}
LAYER_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _annie_classifier(kind: str, sizes: dict):
    from annie import nn

    class SequenceClassifier(nn.Module):
        """Recurrent layer, then a Linear layer on the last step's output."""

        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, LAYER_NAMES[kind])(sizes["inputs"], sizes["hidden"],
                                                      batch_first=True)
            self.fc = nn.Linear(sizes["hidden"], sizes["classes"])

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.fc(output[:, -1])
    return SequenceClassifier()


def _torch_classifier(kind: str, sizes: dict):
    import torch

    class SequenceClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, LAYER_NAMES[kind])(sizes["inputs"], sizes["hidden"],
                                                            batch_first=True)
            self.fc = torch.nn.Linear(sizes["hidden"], sizes["classes"])

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.fc(output[:, -1])
    return SequenceClassifier()


def _annie_char_model(sizes: dict):
    from annie import nn

    class CharLSTM(nn.Module):
        """Embedding, LSTM, and a Linear layer at every step giving next-character logits."""

        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(sizes["vocab"], sizes["embedding"])
            self.rnn = nn.LSTM(sizes["embedding"], sizes["hidden"], batch_first=True)
            self.fc = nn.Linear(sizes["hidden"], sizes["vocab"])

        def forward(self, ids):
            output, _ = self.rnn(self.embedding(ids))
            return self.fc(output).reshape(-1, sizes["vocab"])
    return CharLSTM()


def _torch_char_model(sizes: dict):
    import torch

    class CharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(sizes["vocab"], sizes["embedding"])
            self.rnn = torch.nn.LSTM(sizes["embedding"], sizes["hidden"], batch_first=True)
            self.fc = torch.nn.Linear(sizes["hidden"], sizes["vocab"])

        def forward(self, ids):
            output, _ = self.rnn(self.embedding(ids))
            return self.fc(output).reshape(-1, sizes["vocab"])
    return CharLSTM()


def _compare(result: WorkloadResult, annie_model, torch_builder, batches, settings: Settings,
             floor=None):
    contenders = [] if floor is None else [Contender("floor", floor)]
    if annie_model is not None:
        contenders.append(Contender("annie", adam_cross_entropy_step("annie", annie_model, batches)))
    if import_torch() is not None:
        torch_model = torch_builder()
        if annie_model is not None:
            copy_weights_to_torch(annie_model, torch_model)
        contenders.append(Contender("torch", adam_cross_entropy_step("torch", torch_model, batches)))
    else:
        result.skipped["torch"] = "torch is not installed"
    # a recurrent step costs tens of milliseconds: fewer steps per timed block
    fewer = Settings(**{**settings.__dict__,
                        "steps_per_block": max(1, settings.steps_per_block // 4)})
    return measure(result, contenders, fewer)


def _run_classifier(kind: str, settings: Settings) -> WorkloadResult:
    import annie
    sizes = TINY_SEQUENCE if settings.tiny else SEQUENCE
    result = WorkloadResult(kind, f"train step, many-to-one {LAYER_NAMES[kind]} "
                                  f"batch {sizes['batch']}, {sizes['steps']} steps, "
                                  f"{sizes['inputs']} inputs, hidden {sizes['hidden']}")
    reason = annie_missing(f"nn.{LAYER_NAMES[kind]}", "losses.cross_entropy", "optim.Adam")
    if reason:  # PyTorch still runs, so its numbers are there to compare with
        result.skipped["annie"] = reason
    annie.manual_seed(settings.seed)
    inputs, labels = random_batches(N_BATCHES, (sizes["batch"], sizes["steps"], sizes["inputs"]),
                                    sizes["classes"], (sizes["batch"],), settings.seed)
    annie_model = None if reason else _annie_classifier(kind, sizes)
    floor = recurrent_floor(kind, sizes["steps"], sizes["batch"], sizes["inputs"], sizes["hidden"])
    return _compare(result, annie_model, lambda: _torch_classifier(kind, sizes),
                    list(zip(inputs, labels)), settings, floor)


def run_rnn(settings: Settings, results: dict) -> WorkloadResult:
    """Many-to-one tanh RNN classifier: seconds per training step."""
    return _run_classifier("rnn", settings)


def run_lstm(settings: Settings, results: dict) -> WorkloadResult:
    """Many-to-one LSTM classifier: seconds per training step."""
    return _run_classifier("lstm", settings)


def run_gru(settings: Settings, results: dict) -> WorkloadResult:
    """Many-to-one GRU classifier: seconds per training step."""
    return _run_classifier("gru", settings)


def run_char_lstm(settings: Settings, results: dict) -> WorkloadResult:
    """Character-level LSTM, loss at every step: seconds per training step."""
    import numpy as np

    import annie
    sizes = TINY_CHAR if settings.tiny else CHAR
    result = WorkloadResult("char-lstm", f"train step, many-to-many LSTM, vocab {sizes['vocab']}, "
                                         f"embedding {sizes['embedding']}, hidden "
                                         f"{sizes['hidden']}, batch {sizes['batch']}, "
                                         f"{sizes['steps']} steps")
    reason = annie_missing("nn.Embedding", "nn.LSTM", "losses.cross_entropy", "optim.Adam")
    if reason:
        result.skipped["annie"] = reason
    annie.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    shape = (sizes["batch"], sizes["steps"])
    batches = []
    for _ in range(N_BATCHES):
        ids = rng.integers(0, sizes["vocab"], size=shape).astype(np.int64)
        targets = np.roll(ids, -1, axis=1).reshape(-1)
        batches.append((ids, targets))
    annie_model = None if reason else _annie_char_model(sizes)
    floor = recurrent_floor("lstm", sizes["steps"], sizes["batch"], sizes["embedding"],
                            sizes["hidden"], input_grad=True)
    return _compare(result, annie_model, lambda: _torch_char_model(sizes), batches, settings,
                    floor)
