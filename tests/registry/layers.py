"""Registry cases of the basic layers' functions: linear, layer_norm, embedding, dropout,
flatten, each with a NumPy reference."""
from __future__ import annotations

import numpy as np

import annie
from annie import functional as F
from annie import nn

from . import Case


def _arrays(*shapes):
    def make(rng, dtype):
        return [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    return make


def _layer_norm_reference(x, weight=None, bias=None, ndim=1, eps=1e-5):
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _embedding_inputs(rng, dtype):
    weight = rng.standard_normal((6, 3)).astype(dtype)
    indices = np.array([[0, 2, 2, 5], [1, 0, 4, 2]])  # repeats: rows 0 and 2 get two gradients
    return [weight, indices]


def _dropout(x):
    annie.manual_seed(5)  # the same mask on every call, so finite differences see one function
    return F.dropout(x, p=0.3)


def _dropout_reference(x):
    keep = np.random.default_rng(5).random(x.shape) >= 0.3
    return x * keep / 0.7


def _dropout_module(x):
    annie.manual_seed(5)
    return nn.Dropout(p=0.3)(x)


_STATISTICS = np.random.default_rng(7).normal(2.0, 3.0, size=(20, 3))


def _normalization(invert):
    layer = nn.Normalization(3, invert=invert, dtype=np.float64).adapt(_STATISTICS)
    return lambda x: layer(x)


def _normalization_reference(invert):
    mean, std = _STATISTICS.mean(axis=0), _STATISTICS.std(axis=0)
    return lambda x: x * std + mean if invert else (x - mean) / std


CASES = [
    Case("linear", F.linear, _arrays((4, 3), (2, 3), (2,)), lambda x, w, b: x @ w.T + b),
    Case("linear_3d_input", F.linear, _arrays((2, 3, 4), (5, 4), (5,)),
         lambda x, w, b: np.einsum("btf,of->bto", x, w) + b),
    Case("linear_no_bias", F.linear, _arrays((4, 3), (2, 3)), lambda x, w: x @ w.T),
    Case("layer_norm", lambda x, w, b: F.layer_norm(x, 5, w, b), _arrays((3, 5), (5,), (5,)),
         _layer_norm_reference),
    Case("layer_norm_3d", lambda x, w, b: F.layer_norm(x, (5,), w, b),
         _arrays((2, 3, 5), (5,), (5,)), _layer_norm_reference),
    Case("layer_norm_two_axes", lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
         _arrays((2, 3, 4), (3, 4), (3, 4)),
         lambda x, w, b: _layer_norm_reference(x, w, b, ndim=2)),
    Case("layer_norm_no_affine", lambda x: F.layer_norm(x, 4), _arrays((3, 4)),
         _layer_norm_reference),
    Case("layer_norm_eps_0.1", lambda x, w, b: F.layer_norm(x, 4, w, b, eps=0.1),
         _arrays((3, 4), (4,), (4,)), lambda x, w, b: _layer_norm_reference(x, w, b, eps=0.1)),
    Case("embedding", lambda w, i: F.embedding(i, w), _embedding_inputs, lambda w, i: w[i]),
    Case("dropout", _dropout, _arrays((4, 5)), _dropout_reference),
    Case("dropout_module", _dropout_module, _arrays((4, 5)), _dropout_reference),
    Case("nn_flatten", lambda x: nn.Flatten()(x), _arrays((2, 3, 4)),
         lambda x: x.reshape(len(x), 12)),
    Case("nn_flatten_middle", lambda x: nn.Flatten(1, 2)(x), _arrays((2, 3, 2, 2)),
         lambda x: x.reshape(len(x), 6, 2)),
    Case("nn_normalization", _normalization(False), _arrays((4, 3)),
         _normalization_reference(False)),
    Case("nn_normalization_inverse", _normalization(True), _arrays((2, 5, 3)),
         _normalization_reference(True)),
]

for _case in CASES:  # the input x (for embedding: the indices) has the batch first
    _case.batch = (1,) if _case.name == "embedding" else (0,)
