"""Registry cases of every activation and the softmax family, with NumPy references written
from the textbook formulas (math.erf for GELU, independent of annie's erf)."""
from __future__ import annotations

import math

import numpy as np

from annie import functional as F

from . import Case

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[float])


def _normal(shape, scale=2.0):
    def make(rng, dtype):
        return [(scale * rng.standard_normal(shape)).astype(dtype)]
    return make


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log(1.0 + np.exp(beta * x)) / beta)


CASES = [
    Case("identity", F.identity, _normal((3, 5)), lambda x: x),
    Case("sigmoid", F.sigmoid, _normal((3, 5), 4.0), _sigmoid),
    Case("tanh", F.tanh, _normal((3, 5)), np.tanh),
    Case("relu", F.relu, _normal((3, 5)), lambda x: np.where(x > 0, x, 0.0)),
    Case("leaky_relu", F.leaky_relu, _normal((3, 5)), lambda x: np.where(x > 0, x, 0.01 * x)),
    Case("leaky_relu_slope_0.2", lambda x: F.leaky_relu(x, negative_slope=0.2), _normal((3, 5)),
         lambda x: np.where(x > 0, x, 0.2 * x)),
    Case("elu", F.elu, _normal((3, 5)), lambda x: np.where(x > 0, x, np.exp(x) - 1.0)),
    Case("elu_alpha_0.5", lambda x: F.elu(x, alpha=0.5), _normal((3, 5)),
         lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1.0))),
    Case("selu", F.selu, _normal((3, 5)),
         lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1.0))),
    Case("gelu", F.gelu, _normal((3, 5)), lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))),
    Case("silu", F.silu, _normal((3, 5), 3.0), lambda x: x * _sigmoid(x)),
    Case("swish", F.swish, _normal((2, 3)), lambda x: x / (1.0 + np.exp(-x))),
    Case("softplus", F.softplus, _normal((3, 5), 3.0), _softplus),
    Case("softplus_beta2_threshold5", lambda x: F.softplus(x, beta=2.0, threshold=5.0),
         _normal((3, 5), 2.0), lambda x: _softplus(x, 2.0, 5.0)),
    Case("softsign", F.softsign, _normal((3, 5)), lambda x: x / (1.0 + np.abs(x))),
    Case("erf", F.erf, _normal((3, 5), 1.5), _erf),
    Case("erfc", F.erfc, _normal((3, 5), 1.5), lambda x: 1.0 - _erf(x)),
    Case("hard_sigmoid", F.hard_sigmoid, _normal((4, 5), 3.0),
         lambda x: np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0),
    Case("softmax", F.softmax, _normal((3, 5)), lambda x: _softmax(x, -1)),
    Case("softmax_axis0", lambda x: F.softmax(x, axis=0), _normal((3, 4)),
         lambda x: _softmax(x, 0)),
    Case("softmax_3d_axis1", lambda x: F.softmax(x, axis=1), _normal((2, 3, 4)),
         lambda x: _softmax(x, 1)),
    Case("log_softmax", F.log_softmax, _normal((3, 5)), lambda x: np.log(_softmax(x, -1))),
    Case("log_softmax_3d_axis0", lambda x: F.log_softmax(x, axis=0), _normal((3, 2, 2)),
         lambda x: np.log(_softmax(x, 0))),
]

for _case in CASES:  # elementwise, or softmax along another axis than the batch's
    if not _case.name.endswith("axis0"):
        _case.batch = (0,)
