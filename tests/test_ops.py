"""Primitive ops beyond the registry's gradcheck: exact gradient values of broadcasting, ties,
repeated indices and masks, the shapes of results, comparisons, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie.errors import ShapeError


def _leaf(values, dtype=np.float64):
    return annie.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_broadcast_gradients_are_summed_back_to_each_shape():
    a = _leaf(np.ones((3, 1)))
    b = _leaf(np.ones((1, 4)))
    c = _leaf(np.ones(4))
    (a * b + c).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))
    np.testing.assert_array_equal(c.grad, np.full(4, 3.0))


def test_scalar_tensor_broadcast_gradient():
    a = _leaf(2.0)
    x = _leaf(np.arange(6.0).reshape(2, 3))
    (a * x).sum().backward()
    assert a.grad.shape == () and a.grad == pytest.approx(15.0)


def test_unbroadcast_leaves_matching_shapes_alone():
    from annie.tensor import unbroadcast
    grad = np.arange(6.0).reshape(2, 3)
    assert unbroadcast(grad, (2, 3)) is grad
    np.testing.assert_array_equal(unbroadcast(grad, (3,)), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(unbroadcast(grad, (2, 1)), [[3.0], [12.0]])
    np.testing.assert_array_equal(unbroadcast(grad, ()), 15.0)


@pytest.mark.parametrize("shape_a, shape_b", [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)),
                                              ((2, 3, 4), (4, 5)), ((5, 1, 2, 4), (3, 4, 2))])
def test_matmul_shapes_match_numpy(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a, b = _leaf(rng.standard_normal(shape_a)), _leaf(rng.standard_normal(shape_b))
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    out.backward(np.ones(out.shape))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b  # values: registry gradchecks


def test_matmul_misaligned_shapes_name_both():
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4, 5\)"):
        annie.tensor(np.ones((2, 3))) @ annie.tensor(np.ones((4, 5)))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), True),
                                            (-1, False)])
def test_reductions_match_numpy_shapes_and_values(reduce, axis, keepdims):
    x = np.random.default_rng(1).standard_normal((3, 4))
    got = getattr(annie.tensor(x), reduce)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(got.data, getattr(np, reduce)(x, axis=axis, keepdims=keepdims))


def test_max_splits_the_gradient_evenly_among_ties():
    x = _leaf([[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 2.0, -1.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5, 0]])
    y = _leaf([[1.0, 5.0], [5.0, 0.0]])
    y.max().backward()
    np.testing.assert_allclose(y.grad, [[0, 0.5], [0.5, 0]])


def test_min_with_keepdims_and_ties():
    x = _leaf([[1.0, 1.0, 2.0]])
    out = x.min(axis=1, keepdims=True)
    assert out.shape == (1, 1)
    out.backward(np.array([[4.0]]))
    np.testing.assert_allclose(x.grad, [[2.0, 2.0, 0.0]])


def test_mean_gradient_is_one_over_count():
    x = _leaf(np.zeros((2, 5)))
    x.mean(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 5), 0.2))


def test_integer_array_index_with_repeats_accumulates():
    x = _leaf(np.arange(8.0).reshape(4, 2))
    picked = x[np.array([0, 3, 0, 0])]
    np.testing.assert_array_equal(picked.data, [[0, 1], [6, 7], [0, 1], [0, 1]])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [[3, 3], [0, 0], [0, 0], [1, 1]])


def test_paired_integer_arrays_and_column_repeats():
    x = _leaf(np.zeros((2, 3)))
    x[np.array([0, 0, 1]), np.array([2, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 2], [1, 0, 0]])
    y = _leaf(np.zeros((2, 3)))
    y[:, [1, 1]].sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 2, 0], [0, 2, 0]])


def test_boolean_mask_index():
    x = _leaf([[1.0, -2.0], [-3.0, 4.0]])
    mask = x > 0
    assert mask.dtype == np.bool_
    selected = x[mask]
    np.testing.assert_array_equal(selected.data, [1.0, 4.0])
    (selected * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[5, 0], [0, 5]])


def test_slices_and_integers():
    x = _leaf(np.arange(12.0).reshape(3, 4))
    x[1:, ::2].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]])
    with pytest.raises(ShapeError, match=r"\(3, 4\)"):
        x[5]


def test_concat_stack_split_values_and_gradients():
    a, b = _leaf(np.ones((2, 2))), _leaf(np.zeros((2, 1)))
    joined = annie.concat([a, b], axis=1)
    assert joined.shape == (2, 3)
    joined.backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(a.grad, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(b.grad, [[3], [6]])
    c, d = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    stacked = annie.stack([c, d], axis=1)
    np.testing.assert_array_equal(stacked.data, [[1, 3], [2, 4]])
    stacked.backward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(c.grad, [1, 3])
    np.testing.assert_array_equal(d.grad, [2, 4])
    parts = annie.split(_leaf(np.arange(6.0)), [2, 5])
    assert [p.shape for p in parts] == [(2,), (3,), (1,)]


def test_concat_stack_split_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"\(2, 2\)"):
        annie.concat([annie.tensor(np.ones((2, 2))), annie.tensor(np.ones((3, 3)))], axis=1)
    with pytest.raises(ShapeError, match="differ"):
        annie.stack([annie.tensor(np.ones(2)), annie.tensor(np.ones(3))])
    with pytest.raises(ShapeError, match="3 equal parts"):
        annie.split(annie.tensor(np.ones(4)), 3)
    with pytest.raises(ShapeError, match="needs at least one"):
        annie.concat([])


def test_where_routes_gradients_by_the_condition():
    a, b = _leaf([1.0, 2.0, 3.0]), _leaf([10.0, 20.0, 30.0])
    condition = annie.tensor(np.array([True, False, True]))
    out = annie.where(condition, a, b)
    np.testing.assert_array_equal(out.data, [1, 20, 3])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 0, 1])
    np.testing.assert_array_equal(b.grad, [0, 1, 0])


def test_clip_gradient_is_one_inside_and_on_the_bounds_zero_outside():
    x = _leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = annie.clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(out.data, [-1, -1, 0, 1, 1])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])


def test_pow_gradients_for_base_and_exponent():
    x = _leaf([0.0, 2.0, -3.0])
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 4.0, -6.0])
    base, exponent = _leaf([2.0]), _leaf([3.0])
    (base ** exponent).sum().backward()
    np.testing.assert_allclose(base.grad, [12.0])
    np.testing.assert_allclose(exponent.grad, [8.0 * np.log(2.0)])


def test_comparisons_return_bool_tensors_without_grad():
    x, y = _leaf([1.0, 2.0, 3.0]), annie.tensor(np.array([2.0, 2.0, 2.0]))
    for result, expected in [(x < y, [1, 0, 0]), (x <= y, [1, 1, 0]), (x > y, [0, 0, 1]),
                             (x >= y, [0, 1, 1]), (x == y, [0, 1, 0]), (x != y, [1, 0, 1]),
                             (x > 1.5, [0, 1, 1])]:
        assert result.dtype == np.bool_ and not result.requires_grad
        np.testing.assert_array_equal(result.data, np.array(expected, dtype=bool))


def test_maximum_and_minimum_split_ties():
    a, b = _leaf([1.0, 2.0, 3.0]), _leaf([2.0, 2.0, 1.0])
    annie.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0, 0.5, 1])
    np.testing.assert_array_equal(b.grad, [1, 0.5, 0])


def test_reshape_error_names_the_shapes():
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4, 2\)"):
        annie.tensor(np.ones((2, 3))).reshape(4, 2)


def test_reflected_operators_with_arrays_and_numbers():
    x = _leaf([1.0, 2.0])
    out = np.array([1.0, 1.0]) - x
    assert isinstance(out, annie.Tensor)
    (2.0 / x + out + 3.0 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [-2.0 - 1.0 + 3.0, -0.5 - 1.0 + 3.0])


def test_float32_stays_float32_through_python_constants():
    x = annie.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 0.5 + 1.0) ** 2 / 3.0 - 2.0
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("graph", [True, False])
def test_shape_ops_same_values_and_errors_with_and_without_a_graph(graph):
    """The shape ops' graph-free inference (under no_grad) gives what forward gives, takes
    array-likes as forward does, and refuses a bad shape with the same ShapeError."""
    import contextlib
    context = contextlib.nullcontext() if graph else annie.no_grad()
    x = annie.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    with context:
        np.testing.assert_array_equal(annie.ops.transpose(x).data, x.data.T)
        np.testing.assert_array_equal(annie.ops.swapaxes(x, 0, 2).data, x.data.swapaxes(0, 2))
        np.testing.assert_array_equal(annie.ops.transpose([[1.0, 2.0]]).data, [[1.0], [2.0]])
        np.testing.assert_array_equal(annie.ops.reshape(x, 4, 6).data, x.data.reshape(4, 6))
        np.testing.assert_array_equal(annie.ops.stack([x, x], 1).data,
                                      np.stack([x.data, x.data], 1))
        np.testing.assert_array_equal(annie.ops.concat([x, x], 2).data,
                                      np.concatenate([x.data, x.data], 2))
        np.testing.assert_array_equal(x[1, :, ::2].data, x.data[1, :, ::2])
        for bad in (lambda: annie.ops.broadcast_to(x, (5, 3, 4)),
                    lambda: annie.ops.reshape(x, 5, 5), lambda: x[2],
                    lambda: annie.ops.stack([x, x[0]]),
                    lambda: annie.ops.concat([x, x[0]], 0)):
            with pytest.raises(ShapeError):
                bad()
