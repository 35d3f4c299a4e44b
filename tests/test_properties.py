"""Property-based tests (hypothesis): laws that must hold for every input, not just examples."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import annie
from annie.diagnostics import gradcheck

FAST = settings(max_examples=30, deadline=None)
EPS64 = np.finfo(np.float64).eps


def float_arrays(shape, low=-50.0, high=50.0, dtype=np.float64):
    return hnp.arrays(dtype, shape, elements=st.floats(low, high, width=np.dtype(dtype).itemsize * 8))


matrices = st.tuples(st.integers(1, 6), st.integers(1, 8))


def get_functional(name):
    functional = pytest.importorskip("annie.functional")
    if not hasattr(functional, name):
        pytest.skip(f"annie.functional.{name} is not in the package yet")
    return getattr(functional, name)


def get_loss(name):
    losses = pytest.importorskip("annie.losses")
    if not hasattr(losses, name):
        pytest.skip(f"annie.losses.{name} is not in the package yet")
    return getattr(losses, name)


# ----- softmax ---------------------------------------------------------------------------
@FAST
@given(matrices.flatmap(float_arrays), st.sampled_from([np.float32, np.float64]))
def test_softmax_rows_are_distributions(x, dtype):
    softmax = get_functional("softmax")
    probabilities = softmax(annie.tensor(x.astype(dtype)), axis=-1).data
    assert probabilities.dtype == dtype
    assert np.all(probabilities >= 0) and np.all(probabilities <= 1)
    eps = np.finfo(dtype).eps
    # summing k numbers in [0, 1] and dividing by the sum: rounding error below 4 k eps
    assert np.all(np.abs(probabilities.sum(axis=-1) - 1) <= 4 * x.shape[-1] * eps)


@FAST
@given(matrices.flatmap(lambda shape: st.tuples(float_arrays(shape),
                                                float_arrays((shape[0], 1), -100.0, 100.0))))
def test_softmax_is_shift_invariant(pair):
    softmax = get_functional("softmax")
    x, shift = pair
    expected = softmax(annie.tensor(x), axis=-1).data
    shifted = softmax(annie.tensor(x + shift), axis=-1).data
    # x + shift is rounded by at most ulp(150)/2 ~ 1.4e-14 per logit; softmax's relative change
    # is at most twice the largest logit change, plus a few eps from exp and the division
    np.testing.assert_allclose(shifted, expected, rtol=1e-12, atol=0)


@FAST
@given(st.integers(1, 5), st.integers(1, 6), st.sampled_from([1e3, -1e3, 1e30]))
def test_softmax_of_extreme_logits_is_finite(rows, columns, scale):
    softmax = get_functional("softmax")
    x = np.random.default_rng(rows * columns).standard_normal((rows, columns)) * scale
    probabilities = softmax(annie.tensor(x), axis=-1).data
    assert np.all(np.isfinite(probabilities))
    assert np.all(np.abs(probabilities.sum(axis=-1) - 1) <= 4 * columns * EPS64)


# ----- losses are non-negative -----------------------------------------------------------
pairs = matrices.flatmap(lambda shape: st.tuples(float_arrays(shape, -20, 20),
                                                 float_arrays(shape, -20, 20)))


@FAST
@given(pairs, st.sampled_from(["mse", "mae", "huber", "log_cosh"]),
       st.sampled_from(["none", "mean", "sum"]))
def test_regression_losses_are_non_negative(pair, name, reduction):
    loss = get_loss(name)
    prediction, target = pair
    value = loss(annie.tensor(prediction), annie.tensor(target), reduction=reduction).data
    assert np.all(value >= 0), (name, value.min())


@FAST
@given(matrices.flatmap(lambda shape: st.tuples(float_arrays(shape, 1e-6, 1 - 1e-6),
                                                float_arrays(shape, 0.0, 1.0))))
def test_binary_cross_entropy_is_non_negative(pair):
    loss = get_loss("binary_cross_entropy")
    probability, target = pair  # -(t log p + (1 - t) log(1 - p)) with log p, log(1 - p) <= 0
    assert np.all(loss(annie.tensor(probability), annie.tensor(target), reduction="none").data >= 0)


@FAST
@given(matrices.flatmap(float_arrays), st.integers(0, 2 ** 31), st.floats(0.0, 0.5))
def test_cross_entropy_is_non_negative(logits, seed, smoothing):
    loss = get_loss("cross_entropy")
    labels = np.random.default_rng(seed).integers(0, logits.shape[1], size=logits.shape[0])
    value = loss(annie.tensor(logits), labels, reduction="none", label_smoothing=smoothing).data
    assert np.all(value >= 0), value.min()


@FAST
@given(matrices.flatmap(lambda shape: st.tuples(float_arrays(shape, -10, 10),
                                                float_arrays(shape, -10, 10))))
def test_kl_divergence_is_non_negative(pair):
    loss = get_loss("kl_divergence")

    def distribution(logits):  # an independent NumPy softmax
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return weights / weights.sum(axis=-1, keepdims=True)

    prediction, target = (distribution(logits) for logits in pair)
    value = loss(annie.tensor(prediction), annie.tensor(target), reduction="none").data
    # Gibbs' inequality; when the two are equal the sum of rounded terms can miss 0 by a few eps
    assert np.all(value >= -4 * prediction.shape[-1] * EPS64), value.min()


# ----- save -> load is the identity ------------------------------------------------------
ACTIVATIONS = ["ReLU", "Tanh", "Sigmoid", "ELU", "GELU", "SiLU", "Softplus", "LeakyReLU",
               "Identity", "Softsign", "SELU"]


@st.composite
def sequential_models(draw):
    from annie import nn
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    widths = draw(st.lists(st.integers(1, 8), min_size=2, max_size=5))
    layers = []
    for i, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(width_in, width_out, bias=draw(st.booleans()), dtype=dtype))
        extra = draw(st.sampled_from(ACTIVATIONS + ["Dropout", "LayerNorm", None]))
        if extra == "Dropout":
            layers.append(nn.Dropout(draw(st.floats(0.0, 0.9))))
        elif extra == "LayerNorm" and hasattr(nn, "LayerNorm"):
            layers.append(nn.LayerNorm(width_out, dtype=dtype))
        elif extra is not None and hasattr(nn, extra):
            layers.append(getattr(nn, extra)())
    return nn.Sequential(*layers), widths[0], dtype


@settings(max_examples=25, deadline=None)
@given(sequential_models(), st.integers(1, 4))
def test_save_then_load_is_the_identity(model_and_width, batch):
    model, width, dtype = model_and_width
    model.eval()
    x = annie.tensor(np.random.default_rng(batch).standard_normal((batch, width)).astype(dtype))
    with tempfile.TemporaryDirectory() as folder:
        annie.save(model, Path(folder) / "model.annie")
        loaded = annie.load(Path(folder) / "model.annie")
    assert repr(loaded) == repr(model) and loaded.training is False
    for (name, a), (name_b, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert name == name_b and a.dtype == b.dtype and np.array_equal(a, b)
    with annie.no_grad():
        np.testing.assert_array_equal(loaded(x).data, model(x).data)


# ----- gradcheck on random shapes and broadcasts -----------------------------------------
def values(shape, seed, away_from_zero=False):
    array = np.random.default_rng(seed).standard_normal(shape)
    if away_from_zero:  # |x| >= 0.5 keeps 1/x well conditioned for finite differences
        array = np.sign(array + (array == 0)) * (0.5 + np.abs(array))
    return annie.tensor(array, requires_grad=True)


@FAST
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       st.sampled_from(["add", "mul", "div"]), st.integers(0, 2 ** 31))
def test_gradcheck_broadcasting_binary_ops(shapes, op, seed):
    a = values(shapes.input_shapes[0], seed)
    b = values(shapes.input_shapes[1], seed + 1, away_from_zero=(op == "div"))
    function = {"add": lambda p, q: p + q, "mul": lambda p, q: p * q,
                "div": lambda p, q: p / q}[op]
    assert function(a, b).shape == shapes.result_shape
    gradcheck(function, [a, b])


@FAST
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2 ** 31))
def test_gradcheck_batched_matmul(batches, n, k, m, seed):
    a = values(batches.input_shapes[0] + (n, k), seed)
    b = values(batches.input_shapes[1] + (k, m), seed + 1)
    assert (a @ b).shape == batches.result_shape + (n, m)
    gradcheck(lambda p, q: p @ q, [a, b])


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), st.data(), st.booleans(),
       st.integers(0, 2 ** 31))
def test_gradcheck_sum_over_random_axes(shape, data, keepdims, seed):
    axes = data.draw(st.none() | st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                                          max_size=len(shape),
                                          unique_by=lambda axis: axis % len(shape)).map(tuple))
    x = values(shape, seed)
    result = x.sum(axis=axes, keepdims=keepdims)
    assert result.shape == np.sum(x.data, axis=axes, keepdims=keepdims).shape
    gradcheck(lambda t: t.sum(axis=axes, keepdims=keepdims), [x])
