"""MLP workloads: training steps of mlp-small and mlp-mnist, and predict-1 (one-sample latency).

Every library trains the same network (annie's initial weights copied into PyTorch and
scikit-learn) on the same fixed batches: float32, ReLU, cross-entropy, Adam lr 1e-3.
"""
from __future__ import annotations

import numpy as np

from ..harness import Contender, Settings, WorkloadResult, measure
from .common import (adam_cross_entropy_step, annie_missing, copy_weights_to_torch,
                     import_sklearn_mlp, import_torch, random_batches)

N_BATCHES = 8
ANNIE_NEEDS = ("nn.ReLU", "losses.cross_entropy", "optim.Adam")

# name -> (layer widths, batch size); the tiny sizes keep the smoke test fast.
SIZES = {
    "mlp-small": ((64, 128, 10), 32),
    "mlp-mnist": ((784, 256, 128, 10), 128),
}
TINY_SIZES = {
    "mlp-small": ((8, 16, 3), 4),
    "mlp-mnist": ((12, 8, 6, 3), 4),
}


def sizes_for(name: str, settings: Settings) -> tuple[tuple, int]:
    return (TINY_SIZES if settings.tiny else SIZES)[name]


def build_annie_mlp(widths: tuple):
    """Linear-ReLU-...-Linear as an annie Sequential (names 0.weight, 2.weight, ...)."""
    from annie import nn
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_torch_mlp(widths: tuple):
    """The same network in PyTorch."""
    import torch
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def annie_training_step(model, inputs: list, labels: list):
    """A closure doing one Adam step of ``model`` on the next fixed batch."""
    return adam_cross_entropy_step("annie", model, list(zip(inputs, labels)))


def torch_training_step(model, inputs: list, labels: list):
    """The same step in PyTorch."""
    return adam_cross_entropy_step("torch", model, list(zip(inputs, labels)))


def build_sklearn_mlp(widths: tuple, batch_size: int, annie_model, inputs, labels):
    """MLPClassifier with the same hidden layers, Adam lr 1e-3, no L2 penalty, no shuffling,
    initialised by one partial_fit and then given annie's initial weights."""
    mlp_classifier = import_sklearn_mlp()
    model = mlp_classifier(hidden_layer_sizes=widths[1:-1], activation="relu", solver="adam",
                           learning_rate_init=1e-3, batch_size=batch_size, alpha=0.0,
                           shuffle=False, random_state=0)
    model.partial_fit(inputs[0], labels[0], classes=np.arange(widths[-1]))
    linears = [module for module in annie_model if hasattr(module, "weight")]
    for i, linear in enumerate(linears):
        model.coefs_[i][...] = linear.weight.data.T
        model.intercepts_[i][...] = linear.bias.data
    return model


def _run_training(name: str, description: str, settings: Settings) -> WorkloadResult:
    import annie
    result = WorkloadResult(name, description)
    widths, batch_size = sizes_for(name, settings)
    result.extra["widths"] = list(widths)
    result.extra["batch_size"] = batch_size
    reason = annie_missing(*ANNIE_NEEDS)
    if reason:  # the other libraries still run, so their numbers are there to compare with
        result.skipped["annie"] = reason
    annie.manual_seed(settings.seed)
    inputs, labels = random_batches(N_BATCHES, (batch_size, widths[0]), widths[-1], (batch_size,),
                                    settings.seed)
    annie_model = build_annie_mlp(widths)  # also the initial weights of the other libraries
    contenders = []
    torch = import_torch()
    if torch is not None:
        torch_model = build_torch_mlp(widths)
        copy_weights_to_torch(annie_model, torch_model)
        contenders.append(Contender("torch", torch_training_step(torch_model, inputs, labels)))
    else:
        result.skipped["torch"] = "torch is not installed"
    if import_sklearn_mlp() is not None:
        sklearn_model = build_sklearn_mlp(widths, batch_size, annie_model, inputs, labels)
        all_inputs = np.concatenate(inputs)
        all_labels = np.concatenate(labels)

        def sklearn_epoch():  # one partial_fit = N_BATCHES Adam steps of batch_size samples
            sklearn_model.partial_fit(all_inputs, all_labels)
        contenders.append(Contender("sklearn", sklearn_epoch, steps=N_BATCHES))
    else:
        result.skipped["sklearn"] = "scikit-learn is not installed"
    if not reason:
        contenders.insert(0, Contender("annie", annie_training_step(annie_model, inputs, labels)))
    return measure(result, contenders, settings)


def run_mlp_small(settings: Settings, results: dict) -> WorkloadResult:
    """64-128-10 ReLU MLP, batch 32: seconds per training step."""
    return _run_training("mlp-small", "train step, 64-128-10 ReLU, batch 32", settings)


def run_mlp_mnist(settings: Settings, results: dict) -> WorkloadResult:
    """784-256-128-10 ReLU MLP, batch 128: seconds per training step."""
    return _run_training("mlp-mnist", "train step, 784-256-128-10 ReLU, batch 128", settings)


def run_predict_one(settings: Settings, results: dict) -> WorkloadResult:
    """Latency of one single-sample prediction of the mlp-small network (no graph recorded)."""
    import annie
    result = WorkloadResult("predict-1", "one-sample inference latency, mlp-small")
    widths, _ = sizes_for("mlp-small", settings)
    reason = annie_missing("nn.ReLU")
    if reason:
        result.skipped["annie"] = reason
        return result
    calls = 50
    annie.manual_seed(settings.seed)
    sample = np.random.default_rng(settings.seed).standard_normal((1, widths[0])).astype(np.float32)
    annie_model = build_annie_mlp(widths).eval()
    annie_sample = annie.tensor(sample)

    def annie_predict():
        with annie.no_grad():
            for _ in range(calls):
                annie_model(annie_sample)
    contenders = [Contender("annie", annie_predict, steps=calls)]
    torch = import_torch()
    if torch is not None:
        torch_model = build_torch_mlp(widths).eval()
        copy_weights_to_torch(annie_model, torch_model)
        torch_sample = torch.from_numpy(sample)

        def torch_predict():
            with torch.no_grad():
                for _ in range(calls):
                    torch_model(torch_sample)
        contenders.append(Contender("torch", torch_predict, steps=calls))
    else:
        result.skipped["torch"] = "torch is not installed"
    if import_sklearn_mlp() is not None:
        inputs, labels = random_batches(1, (4, widths[0]), widths[-1], (4,), settings.seed)
        sklearn_model = build_sklearn_mlp(widths, 4, annie_model, inputs, labels)

        def sklearn_predict():
            for _ in range(calls):
                sklearn_model.predict_proba(sample)
        contenders.append(Contender("sklearn", sklearn_predict, steps=calls))
    else:
        result.skipped["sklearn"] = "scikit-learn is not installed"
    return measure(result, contenders, settings)
