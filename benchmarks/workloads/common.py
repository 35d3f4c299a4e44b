"""Helpers the workloads share: which annie parts exist yet, PyTorch/scikit-learn availability,
copying annie's initial weights into the PyTorch twin, and fixed random data."""
from __future__ import annotations

import numpy as np


def annie_missing(*dotted_names: str) -> str | None:
    """None when every ``annie.<name>`` exists, else a reason naming the missing ones."""
    import annie
    missing = []
    for dotted in dotted_names:
        value = annie
        try:
            for part in dotted.split("."):
                value = getattr(value, part)
        except (AttributeError, ImportError):
            missing.append("annie." + dotted)
    if missing:
        return "not in annie yet: " + ", ".join(missing)
    return None


def import_torch():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def import_sklearn_mlp():
    """scikit-learn's MLPClassifier, or None when scikit-learn is not installed."""
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    return MLPClassifier


def copy_weights_to_torch(annie_model, torch_model) -> None:
    """Load annie's state_dict (PyTorch names) into the PyTorch model: same initial weights."""
    import torch
    state = {name: torch.from_numpy(np.array(value, copy=True))
             for name, value in annie_model.state_dict().items()}
    torch_model.load_state_dict(state)


def torch_twin(result, annie_model, build):
    """``build(torch)``'s PyTorch model with annie's weights copied in, or None (with the reason
    recorded in ``result.skipped``) when PyTorch is not installed."""
    torch = import_torch()
    if torch is None:
        result.skipped["torch"] = "torch is not installed"
        return None
    twin = build(torch)
    copy_weights_to_torch(annie_model, twin)
    return twin


def random_batches(n_batches: int, shape: tuple, n_classes: int, label_shape: tuple, seed: int):
    """Fixed float32 inputs of ``shape`` and int64 labels of ``label_shape``, n_batches of each."""
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _ in range(n_batches)]
    labels = [rng.integers(0, n_classes, size=label_shape).astype(np.int64)
              for _ in range(n_batches)]
    return inputs, labels


class Cycle:
    """Hands out the items of a list round and round (cheaper than itertools in a closure)."""

    def __init__(self, items: list):
        self.items = items
        self.position = 0

    def next(self):
        item = self.items[self.position]
        self.position = (self.position + 1) % len(self.items)
        return item


def adam_cross_entropy_step(library: str, model, batches: list):
    """A closure doing one Adam (lr 1e-3) cross-entropy step of ``model`` on the next of the
    fixed ``batches`` ((x, y) array pairs), in ``library`` ("annie" or "torch")."""
    if library == "annie":
        import annie
        from annie import losses, optim
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        cycle = Cycle([(annie.tensor(x), annie.tensor(y)) for x, y in batches])
        cross_entropy = losses.cross_entropy
    else:
        import torch
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        cycle = Cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches])
        cross_entropy = torch.nn.functional.cross_entropy

    def step():
        x, y = cycle.next()
        optimizer.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step
