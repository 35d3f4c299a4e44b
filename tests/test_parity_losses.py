"""Live parity of annie.losses with PyTorch (runs when torch is installed): values and gradients on
fresh random inputs over shapes and option combinations the fixtures do not cover."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import annie
from annie import losses as L

torch = pytest.importorskip("torch")
F = torch.nn.functional

REDUCTIONS = ("mean", "sum", "none")


def _assert_same_as_torch(annie_loss, torch_loss, prediction, target, target_grad=False, rtol=1e-12,
             atol=1e-12):
    """Run both libraries on the same float64 inputs and upstream gradient; compare everything."""
    p = annie.tensor(prediction.copy(), requires_grad=True)
    t = annie.tensor(target.copy(), requires_grad=True) if target_grad else target
    value = annie_loss(p, t)
    tp = torch.tensor(prediction, requires_grad=True)
    tt = torch.tensor(target, requires_grad=target_grad)
    expected = torch_loss(tp, tt)
    assert value.shape == tuple(expected.shape)
    np.testing.assert_allclose(value.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.random.default_rng(5).normal(size=value.shape)
    value.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol, atol=atol)
    if target_grad:
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (5, 3), (2, 3, 4)])
def test_regression_losses(shape, reduction):
    rng = np.random.default_rng(len(shape))
    prediction, target = rng.normal(size=shape) * 2, rng.normal(size=shape) * 2
    pairs = [
        (L.mae, F.l1_loss, {}),
        (L.mse, F.mse_loss, {}),
        (L.huber, F.huber_loss, {}),
        (L.huber, F.huber_loss, {"delta": 0.3}),
        (L.huber, F.huber_loss, {"delta": 4.0}),
    ]
    for ours, theirs, options in pairs:
        _assert_same_as_torch(lambda p, t: ours(p, t, reduction=reduction, **options),
                 lambda p, t: theirs(p, t, reduction=reduction, **options),
                 prediction, target, target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6,), (4, 5), (2, 3, 4)])
def test_binary_cross_entropy_both_forms(shape, reduction):
    rng = np.random.default_rng(sum(shape))
    logits = rng.normal(size=shape) * 4
    probabilities = 1 / (1 + np.exp(-logits))
    target = rng.uniform(size=shape)
    weight = rng.uniform(0.5, 2.0, size=shape[-1:])
    pos_weight = rng.uniform(0.5, 3.0, size=shape[-1:])
    _assert_same_as_torch(lambda p, t: L.binary_cross_entropy(p, t, reduction=reduction, weight=weight),
             lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction,
                                                 weight=torch.tensor(weight)),
             probabilities, target, target_grad=True)
    _assert_same_as_torch(lambda x, t: L.binary_cross_entropy_with_logits(x, t, reduction=reduction,
                                                             weight=weight, pos_weight=pos_weight),
             lambda x, t: F.binary_cross_entropy_with_logits(
                 x, t, reduction=reduction, weight=torch.tensor(weight),
                 pos_weight=torch.tensor(pos_weight)),
             logits, target, target_grad=True)


CE_OPTIONS = [dict(zip(("weight", "label_smoothing", "ignore"), combo))
              for combo in itertools.product((False, True), (0.0, 0.25), (False, True))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (2, 5, 3), (2, 5, 2, 3)])
@pytest.mark.parametrize("options", CE_OPTIONS,
                         ids=[f"w{o['weight']:d}_s{o['label_smoothing']}_i{o['ignore']:d}"
                              for o in CE_OPTIONS])
def test_cross_entropy_and_nll_with_class_labels(shape, reduction, options):
    rng = np.random.default_rng(len(shape))
    logits = rng.normal(size=shape) * 3
    labels = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    if options["ignore"]:
        labels.reshape(-1)[::3] = 7
    weight = rng.uniform(0.2, 2.0, shape[1]) if options["weight"] else None
    ignore_index = 7 if options["ignore"] else -100
    smoothing = options["label_smoothing"]
    torch_weight = None if weight is None else torch.tensor(weight)
    _assert_same_as_torch(lambda x, y: L.cross_entropy(x, y, reduction, weight=weight, ignore_index=ignore_index,
                                          label_smoothing=smoothing),
             lambda x, y: F.cross_entropy(x, y, reduction=reduction, weight=torch_weight,
                                          ignore_index=ignore_index, label_smoothing=smoothing),
             logits, labels)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    _assert_same_as_torch(lambda x, y: L.nll_loss(x, y, reduction, weight=weight, ignore_index=ignore_index),
             lambda x, y: F.nll_loss(x, y, reduction=reduction, weight=torch_weight,
                                     ignore_index=ignore_index),
             log_probs, labels)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (2, 5, 3)])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_probability_targets(shape, reduction, smoothing):
    rng = np.random.default_rng(9)
    logits = rng.normal(size=shape) * 3
    target = np.moveaxis(rng.dirichlet(np.ones(shape[1]), (shape[0], *shape[2:])), -1, 1)
    weight = rng.uniform(0.2, 2.0, shape[1])
    _assert_same_as_torch(lambda x, q: L.cross_entropy(x, q, reduction, weight=weight, label_smoothing=smoothing),
             lambda x, q: F.cross_entropy(x, q, reduction=reduction, weight=torch.tensor(weight),
                                          label_smoothing=smoothing),
             logits, np.ascontiguousarray(target), target_grad=True)


def test_cross_entropy_unbatched_and_all_ignored():
    logits = np.array([0.5, -1.0, 2.0])
    _assert_same_as_torch(lambda x, y: L.cross_entropy(x, y, "none", label_smoothing=0.1),
             lambda x, y: F.cross_entropy(x, y, reduction="none", label_smoothing=0.1),
             logits, np.array(2))
    ours = L.cross_entropy(np.zeros((2, 3)), np.array([-100, -100]))
    theirs = F.cross_entropy(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([-100, -100]))
    assert np.isnan(ours.item()) and torch.isnan(theirs)  # 0 / 0, as PyTorch


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_kl_divergence(shape):
    rng = np.random.default_rng(11)
    prediction = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    target = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    _assert_same_as_torch(lambda p, q: L.kl_divergence(p, q, reduction="batchmean"),
             lambda p, q: F.kl_div(p.log(), q, reduction="batchmean"),
             prediction, target, target_grad=True)
    _assert_same_as_torch(lambda p, q: L.kl_divergence(p, q, reduction="sum"),
             lambda p, q: F.kl_div(p.log(), q, reduction="sum"),
             prediction, target, target_grad=True)
    _assert_same_as_torch(lambda p, q: L.kl_divergence(p, q, reduction="none"),
             lambda p, q: F.kl_div(p.log(), q, reduction="none").sum(-1),
             prediction, target, target_grad=True)
    if len(shape) == 2:  # annie's mean over distributions is batchmean for 2-D input
        _assert_same_as_torch(lambda p, q: L.kl_divergence(p, q),
                 lambda p, q: F.kl_div(p.log(), q, reduction="batchmean"),
                 prediction, target, target_grad=True)


HUGE_LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [1e4, 1e4, -1e4]])


def test_cross_entropy_at_1e4_like_pytorch():
    _assert_same_as_torch(lambda x, y: L.cross_entropy(x, y, label_smoothing=0.1),
             lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
             HUGE_LOGITS, np.array([1, 0, 2]))


def test_bce_with_logits_at_1e4_like_pytorch():
    _assert_same_as_torch(L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
             HUGE_LOGITS, (HUGE_LOGITS < 0) * 1.0, target_grad=True)
