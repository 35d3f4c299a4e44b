"""The reported loss and metrics of a set with padded or signed targets are those of the set
itself, whatever the batch size: padded steps (label -100, or the loss's ignore_index) count for
nothing in ``nn.sequence_cross_entropy``'s average nor in the metrics, and hinge targets -1/+1
are the classes 0/1. References: NumPy's log-softmax over the kept steps, scikit-learn's
metrics on the kept positions, the sign of the model's own scores.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

import annie
from annie import losses, nn, optim
from annie.train import metrics

PAD = -100


class StepLogits(nn.Module):
    """(batch, time, features) -> (batch, time, classes) logits, one Linear per step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 4)

    def forward(self, x):
        return self.linear(x)


def _padded_set(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, 5, 3)).astype(np.float32)
    y = rng.integers(0, 4, size=(7, 5))
    y[0, 1:] = PAD
    y[3, 2:] = PAD
    y[4, :] = PAD  # a row that is all padding
    y[6, 4:] = PAD
    return X, y


def _whole_set_loss(logits, y):
    """Mean over the kept steps of -log softmax(logits)[label], in float64 NumPy."""
    logits = logits.astype(np.float64).reshape(-1, logits.shape[-1])
    labels = y.reshape(-1)
    kept = labels != PAD
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[kept, labels[kept]].mean())


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_sequence_cross_entropy_over_padded_steps_whatever_the_batch_size(batch_size):
    annie.manual_seed(0)
    model, (X, y) = StepLogits(), _padded_set()
    expected = _whole_set_loss(annie.predict(model, X), y)
    result = annie.evaluate(model, nn.sequence_cross_entropy, X, y, batch_size=batch_size)
    assert result["loss"] == pytest.approx(expected, rel=1e-6)


def test_fit_reports_the_padded_training_loss_of_the_whole_set():
    annie.manual_seed(0)
    model, (X, y) = StepLogits(), _padded_set()
    expected = _whole_set_loss(annie.predict(model, X), y)
    history = annie.fit(model, nn.sequence_cross_entropy, optim.SGD(model.parameters(), lr=0.0),
                        X, y, epochs=1, batch_size=2, shuffle=False, verbose=0,
                        validation_data=(X, y))  # lr 0: the model does not move
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def _kept(prediction, y):
    labels = prediction.argmax(axis=-1).reshape(-1)
    target = y.reshape(-1)
    return labels[target != PAD], target[target != PAD]


def test_metrics_leave_padded_targets_out():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(7, 5, 4))
    _, y = _padded_set()
    labels, target = _kept(logits, y)
    assert metrics.accuracy(logits, y) == pytest.approx(sk.accuracy_score(target, labels))
    for name in ("precision", "recall", "f1"):
        expected = getattr(sk, f"{name}_score")(target, labels, average="macro",
                                                zero_division=0)
        assert metrics.METRICS[name](logits, y) == pytest.approx(expected)
    kept_scores = logits.reshape(-1, 4)[y.reshape(-1) != PAD]
    assert metrics.top_k_accuracy(logits, y, k=2) == pytest.approx(
        sk.top_k_accuracy_score(target, kept_scores, k=2, labels=np.arange(4)))
    np.testing.assert_array_equal(metrics.confusion_matrix(logits, y, num_classes=4),
                                  sk.confusion_matrix(target, labels, labels=np.arange(4)))


def test_fit_metrics_leave_out_the_loss_own_ignore_index():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=60)
    model = nn.Linear(3, 3)
    loss = losses.CrossEntropy(ignore_index=2)  # class 2 marks rows without a target
    result = annie.evaluate(model, loss, X, y, metrics=["accuracy"])
    labels = annie.predict(model, X).argmax(axis=1)
    kept = y != 2
    assert result["accuracy"] == pytest.approx(np.mean(labels[kept] == y[kept]))


@pytest.mark.parametrize("signed", [True, False], ids=["-1/+1", "0/1"])
def test_hinge_accuracy_reads_signed_targets_as_classes(signed):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    positive = X[:, 0] + 0.3 * X[:, 1] > 0
    y = np.where(positive, 1.0, -1.0 if signed else 0.0).astype(np.float32)
    annie.manual_seed(0)
    model = nn.Linear(2, 1)
    history = annie.fit(model, "hinge", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=5,
                        verbose=0, metrics=["accuracy"], seed=0)
    scores = annie.predict(model, X)[:, 0]
    expected = np.mean((scores >= 0) == positive)  # the decision s >= 0, as the loss reads it
    assert expected > 0.8
    assert history.history["accuracy"][-1] == pytest.approx(expected)
    result = annie.evaluate(model, "hinge", X, y, metrics=["accuracy"])
    assert result["accuracy"] == pytest.approx(expected)
