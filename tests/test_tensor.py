"""The Tensor and the autodiff engine: dtypes, backward with upstream gradients, accumulation,
shared subgraphs, long chains, no_grad, detach, item, numpy."""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie.errors import DTypeError, ShapeError


def test_python_scalars_and_lists_become_float32():
    assert annie.tensor(1.5).dtype == np.float32
    assert annie.tensor([1, 2, 3]).dtype == np.float32
    assert annie.tensor([[1.0, 2.0]]).dtype == np.float32


def test_float_arrays_keep_their_dtype_and_integer_arrays_stay_integer():
    assert annie.tensor(np.zeros(3)).dtype == np.float64
    assert annie.tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert annie.tensor(np.arange(3)).dtype.kind == "i"
    assert annie.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_default_dtype_float64_applies_to_python_values_only():
    annie.set_default_dtype(np.float64)
    assert annie.tensor([1.0]).dtype == np.float64
    assert annie.tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(DTypeError, match="int"):
        annie.tensor(np.arange(3), requires_grad=True)


def test_backward_of_a_scalar_gives_the_derivative():
    x = annie.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])


def test_backward_with_explicit_upstream_gradient():
    x = annie.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    y = x * 3.0
    upstream = np.array([[1.0, 0.5], [-1.0, 2.0]])
    y.backward(upstream)
    np.testing.assert_array_equal(x.grad, 3.0 * upstream)


def test_backward_upstream_gradient_of_wrong_shape_is_an_error():
    x = annie.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(ShapeError, match="one-element"):
        (x * 2).backward()


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(ShapeError, match="does not require grad"):
        annie.tensor([1.0]).sum().backward()


def test_gradients_accumulate_across_two_backward_calls():
    x = annie.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * 10.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0 + 10.0, 4.0 + 10.0])


def test_backward_on_a_leaf_accumulates_the_upstream_gradient():
    x = annie.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_shared_intermediate_receives_every_path_before_passing_it_on():
    x = annie.tensor(np.array(1.5), requires_grad=True)
    a = x * 2.0
    b = a * 3.0
    (a + b).backward()  # d/dx (2x + 6x) = 8
    assert x.grad == pytest.approx(8.0)
    x.grad = None
    (b + a).backward()
    assert x.grad == pytest.approx(8.0)


def test_the_same_tensor_used_twice_in_one_op():
    x = annie.tensor(np.array([3.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0])
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_a_20000_node_chain_backpropagates_without_recursion():
    x = annie.tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 20_000], rtol=1e-10)


def test_gradient_of_the_unused_output_of_a_multi_output_op_is_skipped():
    x = annie.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    first, second = annie.split(x, 2, axis=0)
    (second * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2, 2, 2]])


def test_leaf_gradient_does_not_alias_an_upstream_array():
    x = annie.tensor(np.ones(3), requires_grad=True)
    upstream = np.array([1.0, 2.0, 3.0])
    x.backward(upstream)
    x.grad += 1.0
    np.testing.assert_array_equal(upstream, [1.0, 2.0, 3.0])


def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on():
    x = annie.tensor(np.ones(2), requires_grad=True)
    with annie.no_grad():
        y = x * 2
        assert not annie.is_grad_enabled()
        with annie.enable_grad():
            z = x * 2
    assert annie.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_no_grad_restores_the_flag_after_an_exception():
    with pytest.raises(RuntimeError):
        with annie.no_grad():
            raise RuntimeError("boom")
    assert annie.is_grad_enabled()


def test_detach_shares_data_and_cuts_the_graph():
    x = annie.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = (x * 2)
    w = z.detach()
    assert np.shares_memory(w.data, z.data)
    (x * 3 + y).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_item_and_numpy():
    t = annie.tensor(np.array([[2.5]]))
    assert t.item() == 2.5 and isinstance(t.item(), float)
    with pytest.raises(ShapeError, match="3 elements"):
        annie.tensor([1.0, 2.0, 3.0]).item()
    array = np.arange(3.0)
    assert annie.tensor(array).numpy() is array


def test_properties_and_repr():
    x = annie.tensor(np.zeros((2, 3)), requires_grad=True)
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=Mul" in repr(x * 2)


def test_astype_is_differentiable_and_returns_grad_in_the_source_dtype():
    x = annie.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_grad_dtype_follows_the_leaf_in_mixed_precision():
    x = annie.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    w = annie.tensor(np.array([0.5, 0.25]), requires_grad=True)  # float64
    (x * w).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


def test_manual_seed_makes_random_choices_repeatable():
    annie.manual_seed(3)
    first = annie.backend.rng().random(4)
    annie.manual_seed(3)
    np.testing.assert_array_equal(annie.backend.rng().random(4), first)


def test_truth_value_is_defined_only_for_one_element():
    assert bool(annie.tensor([2.0]) > 1.0)
    assert not bool(annie.tensor(0.0))
    x, y = annie.tensor([1.0, 2.0]), annie.tensor([3.0, 4.0])
    with pytest.raises(ShapeError, match="ambiguous"):
        bool(x == y)
    with pytest.raises(ShapeError, match="ambiguous"):
        x in [y]  # noqa: B015 - without __bool__ this was silently True
