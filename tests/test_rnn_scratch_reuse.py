"""The recurrent kernels reuse their internal arrays between calls: graphs in flight at once,
and forward passes without a graph in between, must not see each other's values."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.functional.recurrent.layout import ScratchPool


def _loss(output, final):
    h_n, c_n = final if isinstance(final, tuple) else (final, final)
    return output.sum() + (h_n * c_n).sum()


def _grads(layer, x):
    layer.zero_grad()
    _loss(*layer(annie.tensor(x))).backward()
    return layer(annie.tensor(x))[0].data.copy(), [p.grad.copy() for p in layer.parameters()]


@pytest.mark.parametrize("layer_class", [nn.LSTM, nn.GRU, nn.RNN])
def test_two_graphs_in_flight_and_an_inference_pass_between_give_independent_results(
        layer_class):
    layer = layer_class(3, 4)
    rng = np.random.default_rng(0)
    x1, x2, x3 = (rng.standard_normal((2, 5, 3)).astype(np.float32) for _ in range(3))
    expected1, expected2 = _grads(layer, x1), _grads(layer, x2)

    layer.zero_grad()
    out1, final1 = layer(annie.tensor(x1))
    out2, final2 = layer(annie.tensor(x2))
    with annie.no_grad():
        layer(annie.tensor(x3))
    _loss(out2, final2).backward()
    grads2 = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer(annie.tensor(x3))  # a graph that is dropped without backward
    _loss(out1, final1).backward()
    grads1 = [p.grad.copy() for p in layer.parameters()]

    np.testing.assert_array_equal(out1.data, expected1[0])
    np.testing.assert_array_equal(out2.data, expected2[0])
    for actual, expected in zip(grads1, expected1[1]):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)
    for actual, expected in zip(grads2, expected2[1]):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)


def test_scratch_pool_hands_back_a_given_array_and_bounds_what_it_keeps():
    pool = ScratchPool(per_shape=1, shapes=2)
    first = pool.take((2, 3), np.float32)
    pool.give(first)
    assert pool.take((2, 3), np.float32) is first
    assert pool.take((2, 3), np.float32) is not first  # taken once only
    pool.give(np.empty((2, 3), np.float32), np.empty((2, 3), np.float32))
    pool.give(np.empty(4, np.float64), np.empty(5, np.float64))  # a third shape: oldest dropped
    assert len(pool._free) == 2
    assert pool.take((4,), np.float64).dtype == np.float64
