"""The flat optimizer step (one ``_update`` per group on concatenated arrays) gives exactly the
numbers of one ``_update`` per parameter, keeps the per-parameter state layout, and notices every
array replaced behind its back (parameter data, state entries) or a step it cannot take at once
(a gradient missing, counters that differ, mixed dtypes)."""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie import optim
from annie.nn import Parameter
from test_optim import fresh_params, make_optimizer, problem


def run_steps(optimizer: optim.Optimizer, params: list[Parameter], first: int, last: int) -> None:
    """Steps first..last of the fixture problem, gradients in each parameter's dtype (as
    backward() gives them)."""
    for step in range(first, last + 1):
        grads = problem.gradients([p.data for p in params], step)
        for param, grad in zip(params, grads):
            param.grad = grad.astype(param.data.dtype)
        optimizer.step()


def per_parameter(optimizer: optim.Optimizer) -> optim.Optimizer:
    """The same optimizer forced to update parameter by parameter (the reference)."""
    optimizer._step_flat = lambda number, group: False
    return optimizer


def flat_and_reference(config: str, dtype=np.float64):
    """(params, optimizer) twice: the flat path and the per-parameter reference."""
    flat_params, reference_params = fresh_params(dtype), fresh_params(dtype)
    return ((flat_params, make_optimizer(config, flat_params)),
            (reference_params, per_parameter(make_optimizer(config, reference_params))))


def assert_same_state(optimizer, params, reference, reference_params):
    ours, theirs = optimizer.state_dict(), reference.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, entry in theirs["state"].items():
        assert sorted(ours["state"][index]) == sorted(entry)
        for key, value in entry.items():
            np.testing.assert_array_equal(ours["state"][index][key], value, err_msg=key)
            if isinstance(value, np.ndarray):
                assert ours["state"][index][key].shape == params[index].data.shape
    for param, reference_param in zip(params, reference_params):
        np.testing.assert_array_equal(param.data, reference_param.data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", sorted(problem.CONFIGS))
def test_flat_step_equals_per_parameter_steps_exactly(config, dtype):
    (params, optimizer), (reference_params, reference) = flat_and_reference(config, dtype)
    run_steps(optimizer, params, 1, 12)
    run_steps(reference, reference_params, 1, 12)
    assert optimizer._flat_groups, "the flat path was not taken"
    assert_same_state(optimizer, params, reference, reference_params)
    assert all(param.data.dtype == dtype for param in params)


def test_group_parameters_and_state_become_views_of_one_array():
    params = fresh_params()
    optimizer = optim.Adam(params, lr=0.01, amsgrad=True)
    run_steps(optimizer, params, 1, 2)
    flat = optimizer._flat_groups[0]
    for param in params:
        assert param.data.base is flat.flat_param and param.data.flags.c_contiguous
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert optimizer.state[param][key].base is flat.flat_state[key]
        assert optimizer.state[param]["step"] == 2
    # the per-parameter views see the flat update: state_dict copies, not views
    saved = optimizer.state_dict()["state"][0]["exp_avg"]
    run_steps(optimizer, params, 3, 3)
    assert not np.array_equal(saved, optimizer.state[params[0]]["exp_avg"])


def test_replaced_parameter_data_is_noticed_and_used():
    (params, optimizer), (reference_params, reference) = flat_and_reference("adam_amsgrad_wd")
    for these, opt in ((params, optimizer), (reference_params, reference)):
        run_steps(opt, these, 1, 5)
        these[2].data = these[2].data * 0.5  # a new array, as load_state_dict or user code makes
        run_steps(opt, these, 6, 10)
    assert params[2].data.base is optimizer._flat_groups[0].flat_param
    assert_same_state(optimizer, params, reference, reference_params)


def test_replaced_state_array_is_noticed_and_used():
    (params, optimizer), (reference_params, reference) = flat_and_reference("rmsprop_centered")
    for these, opt in ((params, optimizer), (reference_params, reference)):
        run_steps(opt, these, 1, 4)
        opt.state[these[1]]["square_avg"] = np.full(5, 3.0)
        run_steps(opt, these, 5, 9)
    assert_same_state(optimizer, params, reference, reference_params)


def test_missing_gradient_skips_that_parameter_and_later_steps_stay_exact():
    (params, optimizer), (reference_params, reference) = flat_and_reference("nadam_options")
    for these, opt in ((params, optimizer), (reference_params, reference)):
        run_steps(opt, these, 1, 3)
        frozen = these[3].data.copy()
        grads = problem.gradients([p.data for p in these], 4)
        for param, grad in zip(these, grads):
            param.grad = grad
        these[3].grad = None
        opt.step()
        np.testing.assert_array_equal(these[3].data, frozen)
        run_steps(opt, these, 5, 8)  # counters now differ: per parameter from here on
    assert optimizer.state[params[0]]["step"] == 8 and optimizer.state[params[3]]["step"] == 7
    assert_same_state(optimizer, params, reference, reference_params)


def test_state_created_later_gets_per_parameter_views():
    params = fresh_params()
    optimizer = optim.Adam(params, lr=0.01)
    run_steps(optimizer, params, 1, 2)
    optimizer.param_groups[0]["amsgrad"] = True  # max_exp_avg_sq appears at step 3
    run_steps(optimizer, params, 3, 4)
    for param in params:
        maximum = optimizer.state[param]["max_exp_avg_sq"]
        assert maximum.shape == param.data.shape
        assert maximum.base is optimizer._flat_groups[0].flat_state["max_exp_avg_sq"]
    assert sorted(optimizer.state_dict()["state"][1]) == [
        "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]


def test_module_to_after_steps_keeps_training_in_the_new_dtype():
    annie.manual_seed(0)
    model = annie.nn.Linear(3, 2)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = annie.tensor(np.ones((4, 3), dtype=np.float32))
    for _ in range(2):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    model.double()
    before = model.weight.data.copy()
    optimizer.zero_grad()
    model(annie.tensor(np.ones((4, 3)))).sum().backward()
    optimizer.step()
    assert model.weight.data.dtype == np.float64 and model.bias.data.dtype == np.float64
    assert model.weight.data.base is optimizer._flat_groups[0].flat_param
    assert not np.array_equal(model.weight.data, before)


def test_gradient_of_another_dtype_is_used_as_given_per_parameter():
    """A float64 gradient set by hand on a float32 parameter is not rounded to float32 first."""
    flat_params, reference_params = fresh_params(np.float32), fresh_params(np.float32)
    optimizer = optim.Adadelta(flat_params)
    reference = per_parameter(optim.Adadelta(reference_params))
    for step in range(1, 6):
        for these, opt in ((flat_params, optimizer), (reference_params, reference)):
            for param, grad in zip(these, problem.gradients([p.data for p in these], step)):
                param.grad = grad  # float64
            opt.step()
    assert_same_state(optimizer, flat_params, reference, reference_params)


def test_mixed_dtypes_in_one_group_are_updated_per_parameter():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2, dtype=np.float32))
    optimizer = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = np.ones(3), np.ones(2, dtype=np.float32)
    optimizer.step()
    assert not optimizer._flat_groups
    assert a.data.dtype == np.float64 and b.data.dtype == np.float32
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.9)


def test_gradient_of_wrong_size_in_the_flat_path_is_a_shape_error():
    params = fresh_params()
    optimizer = optim.Adam(params)
    run_steps(optimizer, params, 1, 1)
    for param in params:
        param.grad = np.ones_like(param.data)
    params[0].grad = np.ones(15)  # same size, wrong shape
    with pytest.raises(annie.errors.ShapeError, match=r"\(15,\).*\(5, 3\)"):
        optimizer.step()


class NormalizedSGD(optim.Optimizer):
    """theta = theta - lr * grad / ||grad||, the norm per parameter: not elementwise."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def _init_state(self, param, group):
        return {}

    def _update(self, param, grad, state, group):
        param -= group["lr"] * grad / np.linalg.norm(grad)


def test_an_optimizer_not_declared_elementwise_updates_each_parameter():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    optimizer = NormalizedSGD([a, b], lr=1.0)
    a.grad, b.grad = np.array([3.0, 4.0]), np.array([-2.0])
    optimizer.step()
    assert not optimizer._flat_groups
    np.testing.assert_allclose(a.data, [-0.6, -0.8])
    np.testing.assert_allclose(b.data, [1.0])


def test_every_optimizer_of_annie_declares_its_update_elementwise():
    assert all(cls.elementwise_update for cls in optim.OPTIMIZERS.values())
