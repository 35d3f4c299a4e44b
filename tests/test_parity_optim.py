"""Live parity with PyTorch 2.13 for optimizers and schedulers (skipped without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie import optim
from annie.nn import Parameter
from test_optim import annie_trajectory, fresh_params, make_optimizer, problem, run_steps
from test_schedulers import lr_sequence, plateau_sequence

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("config", sorted(problem.CONFIGS))
def test_trajectory_matches_live_pytorch(config):
    np.testing.assert_allclose(annie_trajectory(config), problem.torch_trajectory(config),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("config", ["sgd_momentum", "adam_amsgrad_wd", "adamw_default",
                                    "rmsprop_centered_momentum", "adagrad_options",
                                    "adadelta_options", "nadam_options", "adam_groups"])
def test_state_dict_matches_pytorchs(config):
    name, options, groups = problem.CONFIGS[config]
    params = fresh_params()
    optimizer = make_optimizer(config, params)
    run_steps(optimizer, params, 1, 20)

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tensors = [torch.tensor(a, requires_grad=True) for a in problem.initial_params()]
        spec = tensors if groups is None else [
            {"params": [tensors[i] for i in indices], **extra} for indices, extra in groups]
        torch_optimizer = getattr(torch.optim, name)(spec, **options)
        for step in range(1, 21):
            grads = problem.gradients([t.detach().numpy() for t in tensors], step)
            for tensor, grad in zip(tensors, grads):
                tensor.grad = torch.from_numpy(grad.copy())
            torch_optimizer.step()
    finally:
        torch.set_default_dtype(previous)

    ours, theirs = optimizer.state_dict(), torch_optimizer.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, entry in theirs["state"].items():
        expected = {key: value for key, value in entry.items() if value is not None}
        if "grad_avg" in expected:  # centered RMSprop: annie also keeps the variance itself
            expected["grad_var"] = expected["square_avg"] - expected["grad_avg"] ** 2
        assert sorted(ours["state"][index]) == sorted(expected), index
        for key, value in expected.items():
            np.testing.assert_allclose(np.asarray(ours["state"][index][key]),
                                       value.detach().numpy(), rtol=1e-10, atol=1e-14)
    for our_group, their_group in zip(ours["param_groups"], theirs["param_groups"]):
        assert our_group["params"] == their_group["params"]
        for key, value in our_group.items():
            assert their_group[key] == value, key


def _torch_linear_copy(model):
    layer = torch.nn.Linear(model.weight.shape[1], model.weight.shape[0]).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(model.weight.data))
        layer.bias.copy_(torch.from_numpy(model.bias.data))
    return layer


@pytest.mark.parametrize("name, options", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}), ("Adam", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01}), ("RMSprop", {"lr": 0.01, "centered": True}),
    ("Adagrad", {"lr": 0.1}), ("Adadelta", {}), ("NAdam", {"lr": 0.01}),
])
def test_quickstart_loop_matches_pytorch(name, options):
    """forward, loss, backward, step with annie's autograd against PyTorch's, in float64."""
    rng = np.random.default_rng(5)
    inputs, targets = rng.normal(size=(16, 4)), rng.normal(size=(16, 3))
    model = annie.nn.Linear(4, 3).double()
    layer = _torch_linear_copy(model)
    optimizer = optim.get_optimizer(name)(model.parameters(), **options)
    torch_optimizer = getattr(torch.optim, name)(layer.parameters(), **options)
    x, y = annie.tensor(inputs), annie.tensor(targets)
    tx, ty = torch.from_numpy(inputs), torch.from_numpy(targets)
    for _ in range(40):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        ((layer(tx) - ty) ** 2).mean().backward()
        torch_optimizer.step()
    np.testing.assert_allclose(model.weight.data, layer.weight.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.bias.data, layer.bias.detach().numpy(), rtol=0, atol=1e-6)


def test_param_groups_with_different_lr_match_pytorch():
    params = [Parameter(a) for a in problem.initial_params()]
    optimizer = optim.RMSprop([{"params": params[:2], "lr": 0.02}, {"params": params[2:]}],
                              lr=0.001, momentum=0.3)
    tensors = [torch.tensor(a, requires_grad=True) for a in problem.initial_params()]
    torch_optimizer = torch.optim.RMSprop([{"params": tensors[:2], "lr": 0.02},
                                           {"params": tensors[2:]}], lr=0.001, momentum=0.3)
    run_steps(optimizer, params, 1, 40)
    for step in range(1, 41):
        grads = problem.gradients([t.detach().numpy() for t in tensors], step)
        for tensor, grad in zip(tensors, grads):
            tensor.grad = torch.from_numpy(grad.copy())
        torch_optimizer.step()
    for param, tensor in zip(params, tensors):
        np.testing.assert_allclose(param.data, tensor.detach().numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("config", sorted(problem.SCHEDULERS))
def test_scheduler_matches_live_pytorch(config):
    np.testing.assert_allclose(lr_sequence(config), problem.torch_lr_sequence(config),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("config", sorted(problem.PLATEAU_CONFIGS))
def test_plateau_matches_live_pytorch(config):
    np.testing.assert_allclose(plateau_sequence(config), problem.torch_plateau_sequence(config),
                               rtol=1e-12, atol=0)
