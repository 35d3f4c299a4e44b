"""Optimizers: 40-step trajectories equal PyTorch's (golden fixtures), state dicts resume exactly,
parameter groups, zero_grad/step behaviour, name lookup and every validation error."""
from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import annie
from annie import optim
from annie.errors import ConfigError, ShapeError
from annie.nn import Parameter
from conftest import load_fixture

_spec = importlib.util.spec_from_file_location(
    "gen_optim", pathlib.Path(__file__).parent / "fixtures" / "gen_optim.py")
problem = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(problem)

ALL_OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam"]


def make_optimizer(config: str, params: list[Parameter]) -> optim.Optimizer:
    """The annie optimizer of one fixture configuration over ``params``."""
    name, options, groups = problem.CONFIGS[config]
    spec = params if groups is None else [
        {"params": [params[i] for i in indices], **extra} for indices, extra in groups]
    return optim.get_optimizer(name)(spec, **options)


def run_steps(optimizer: optim.Optimizer, params: list[Parameter], first: int, last: int,
              snapshots: dict[int, np.ndarray] | None = None) -> None:
    """Steps first..last of the fixture problem (gradients in closed form)."""
    for step in range(first, last + 1):
        grads = problem.gradients([p.data for p in params], step)
        for param, grad in zip(params, grads):
            param.grad = grad
        optimizer.step()
        if snapshots is not None and step in problem.SNAPSHOT_STEPS:
            snapshots[step] = problem.flat([p.data for p in params])


def fresh_params(dtype=np.float64) -> list[Parameter]:
    return [Parameter(array.astype(dtype)) for array in problem.initial_params()]


def annie_trajectory(config: str) -> np.ndarray:
    params = fresh_params()
    snapshots: dict[int, np.ndarray] = {}
    run_steps(make_optimizer(config, params), params, 1, problem.STEPS, snapshots)
    return np.stack([snapshots[step] for step in problem.SNAPSHOT_STEPS])


# ----- trajectories against PyTorch (golden values) -------------------------------------------
@pytest.mark.parametrize("config", sorted(problem.CONFIGS))
def test_trajectory_matches_pytorch_fixture(config):
    golden = load_fixture("optim")
    for i, array in enumerate(problem.initial_params()):
        np.testing.assert_array_equal(golden[f"init_{i}"], array)
    expected = golden[f"traj_{config}"]
    actual = annie_trajectory(config)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)
    # the fixture problem moves every configuration well beyond the tolerance
    assert np.abs(expected[-1] - problem.flat(problem.initial_params())).max() > 1e-3


def test_every_optimizer_has_a_fixture_configuration():
    covered = {problem.CONFIGS[config][0] for config in problem.CONFIGS}
    assert covered == set(ALL_OPTIMIZERS)


# ----- state dict -----------------------------------------------------------------------------
def _through_json(state_dict: dict) -> dict:
    """What a save/load through JSON (options, numbers) plus raw arrays gives back."""
    arrays = {}

    def encode(value, key):
        if isinstance(value, np.ndarray):
            arrays[key] = value.copy()
            return {"array": key}
        return value

    state = {str(index): {name: encode(value, f"{index}.{name}") for name, value in entry.items()}
             for index, entry in state_dict["state"].items()}
    text = json.dumps({"state": state, "param_groups": state_dict["param_groups"]})
    loaded = json.loads(text)
    for entry in loaded["state"].values():
        for name, value in entry.items():
            if isinstance(value, dict):
                entry[name] = arrays[value["array"]]
    return loaded


@pytest.mark.parametrize("via_json", [False, True])
@pytest.mark.parametrize("config", sorted(problem.CONFIGS))
def test_state_dict_round_trip_continues_identically(config, via_json):
    params = fresh_params()
    uninterrupted = make_optimizer(config, params)
    run_steps(uninterrupted, params, 1, problem.STEPS)
    expected = problem.flat([p.data for p in params])

    params = fresh_params()
    first = make_optimizer(config, params)
    run_steps(first, params, 1, 17)
    saved = first.state_dict()
    if via_json:
        saved = _through_json(saved)
    resumed_params = [Parameter(p.data.copy()) for p in params]
    second = make_optimizer(config, resumed_params)
    second.load_state_dict(saved)
    if not via_json:  # the loaded state is a copy: changing the saved arrays changes nothing
        for entry in saved["state"].values():
            for value in entry.values():
                if isinstance(value, np.ndarray):
                    value.fill(1e6)
    run_steps(second, resumed_params, 18, problem.STEPS)
    np.testing.assert_array_equal(problem.flat([p.data for p in resumed_params]), expected)


def test_state_dict_layout_is_pytorchs():
    params = fresh_params()
    optimizer = optim.Adam([{"params": params[:2], "lr": 0.1}, {"params": params[2:]}],
                           amsgrad=True)
    run_steps(optimizer, params, 1, 3)
    state = optimizer.state_dict()
    assert sorted(state) == ["param_groups", "state"]
    assert [group["params"] for group in state["param_groups"]] == [[0, 1], [2, 3]]
    assert state["param_groups"][0]["lr"] == 0.1 and state["param_groups"][1]["lr"] == 1e-3
    assert state["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(state["state"]) == [0, 1, 2, 3]
    entry = state["state"][2]
    assert sorted(entry) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert entry["step"] == 3 and isinstance(entry["step"], int)
    assert entry["exp_avg"].shape == (2, 5) and entry["exp_avg"].dtype == np.float64
    # a copy: changing it does not change the optimizer
    entry["exp_avg"].fill(7.0)
    assert not np.any(optimizer.state[params[2]]["exp_avg"] == 7.0)


def test_load_state_dict_accepts_zero_dim_arrays_for_counters():
    params = fresh_params()
    optimizer = optim.NAdam(params)
    run_steps(optimizer, params, 1, 2)
    saved = optimizer.state_dict()
    for entry in saved["state"].values():
        entry["step"] = np.asarray(float(entry["step"]))  # as PyTorch stores it
        entry["mu_product"] = np.asarray(entry["mu_product"])
    optimizer.load_state_dict(saved)
    assert optimizer.state[params[0]]["step"] == 2
    assert isinstance(optimizer.state[params[0]]["mu_product"], float)


def test_load_state_dict_rejects_mismatched_structure():
    params = fresh_params()
    optimizer = optim.Adam(params)
    run_steps(optimizer, params, 1, 1)
    saved = optimizer.state_dict()
    with pytest.raises(ConfigError, match="parameter groups"):
        optim.Adam([{"params": params[:2]}, {"params": params[2:]}]).load_state_dict(saved)
    with pytest.raises(ConfigError, match="parameters"):
        optim.Adam(params[:3]).load_state_dict(saved)
    swapped = [Parameter(np.zeros((3, 5))), *fresh_params()[1:]]
    with pytest.raises(ShapeError, match="exp_avg"):
        optim.Adam(swapped).load_state_dict(saved)
    with pytest.raises(ConfigError, match="'state' and 'param_groups'"):
        optimizer.load_state_dict({"state": {}})


def test_load_state_dict_casts_state_to_parameter_dtype():
    params64 = fresh_params()
    optimizer = optim.RMSprop(params64, momentum=0.5, centered=True)
    run_steps(optimizer, params64, 1, 2)
    params32 = fresh_params(np.float32)
    restored = optim.RMSprop(params32, momentum=0.5, centered=True)
    restored.load_state_dict(optimizer.state_dict())
    for value in restored.state[params32[0]].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


# ----- groups, zero_grad, step ----------------------------------------------------------------
def test_param_groups_use_their_own_lr_and_defaults():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = np.full(3, 2.0), np.full(2, 2.0)
    optimizer.step()
    np.testing.assert_array_equal(a.data, np.full(3, 1.0 - 0.5 * 2.0))
    np.testing.assert_array_equal(b.data, np.full(2, 1.0 - 0.1 * 2.0))
    assert optimizer.param_groups[1]["lr"] == 0.1 and optimizer.param_groups[1]["momentum"] == 0


def test_add_param_group_later_and_duplicates():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = optim.Adam([a], lr=0.01)
    optimizer.add_param_group({"params": [b], "lr": 0.2})
    assert len(optimizer.param_groups) == 2
    assert optimizer.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ConfigError, match="more than once"):
        optimizer.add_param_group({"params": [a]})
    with pytest.raises(ConfigError, match="more than once"):
        optim.SGD([a, a], lr=0.1)
    with pytest.raises(ConfigError, match="unknown option"):
        optimizer.add_param_group({"params": [Parameter(np.ones(1))], "momentum": 0.9})
    with pytest.raises(ConfigError, match="lr"):
        optimizer.add_param_group({"params": [Parameter(np.ones(1))], "lr": -1.0})


def test_zero_grad_set_to_none_and_to_zero():
    params = fresh_params()
    optimizer = optim.SGD(params, lr=0.1)
    for param in params:
        param.grad = np.ones_like(param.data)
    optimizer.zero_grad(set_to_none=False)
    assert all(np.array_equal(p.grad, np.zeros_like(p.data)) for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_skips_parameters_without_gradient():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    optimizer.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert b not in optimizer.state and optimizer.state[a]["step"] == 1


def test_step_with_closure_returns_the_loss():
    x = Parameter(np.array([3.0]))
    optimizer = optim.SGD([x], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert float(loss.data) == 9.0
    np.testing.assert_allclose(x.data, [3.0 - 0.25 * 6.0])


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_step_leaves_gradient_unchanged_and_keeps_float32(name):
    options = {"weight_decay": 0.1, "maximize": True}
    param = Parameter(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    optimizer = optim.get_optimizer(name)([param], **options)
    grad = np.linspace(0.5, -0.3, 6, dtype=np.float32).reshape(2, 3)
    for _ in range(3):
        param.grad = grad.copy()
        optimizer.step()
        np.testing.assert_array_equal(param.grad, grad)
    assert param.data.dtype == np.float32
    for value in optimizer.state[param].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_gradient_of_wrong_shape_is_an_error():
    param = Parameter(np.ones((2, 3)))
    optimizer = optim.SGD([param], lr=0.1)
    param.grad = np.ones(3)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2, 3\)"):
        optimizer.step()


def test_quickstart_loop_with_autograd_decreases_the_loss():
    annie.manual_seed(0)
    model = annie.nn.Linear(4, 1).double()
    x = annie.tensor(annie.backend.rng().normal(size=(16, 4)))
    y = annie.tensor(x.data @ np.array([[1.0], [-2.0], [0.5], [3.0]]))
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.01 * losses[0]


# ----- lookup ---------------------------------------------------------------------------------
def test_get_optimizer_is_case_insensitive_and_complete():
    assert optim.get_optimizer("adam") is optim.Adam
    assert optim.get_optimizer("SGD") is optim.SGD
    assert optim.get_optimizer("NAdam") is optim.NAdam is optim.Nadam
    assert {optim.get_optimizer(name).__name__ for name in optim.OPTIMIZERS} == set(ALL_OPTIMIZERS)
    descriptions = optim.OPTIMIZERS.descriptions()
    assert set(descriptions) == set(optim.OPTIMIZERS)
    assert all(isinstance(text, str) and text and "\n" not in text
               for text in descriptions.values())


def test_get_optimizer_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown optimizer 'adamax'.*adadelta.*sgd"):
        optim.get_optimizer("adamax")


def test_pytorch_defaults():
    param = Parameter(np.ones(2))
    expected = {
        "SGD": dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False),
        "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False),
        "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
        "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                        centered=False),
        "Adagrad": dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                        eps=1e-10),
        "Adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0),
        "NAdam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                      momentum_decay=4e-3),
    }
    for name, defaults in expected.items():
        group = optim.get_optimizer(name)([param]).param_groups[0]
        assert {key: group[key] for key in defaults} == defaults, name
        assert group["maximize"] is False


# ----- validation -----------------------------------------------------------------------------
INVALID = [
    ("SGD", {"lr": -0.1}, "lr must be >= 0, got -0.1"),
    ("SGD", {"lr": "fast"}, "lr must be a real number"),
    ("SGD", {"momentum": -0.5}, "momentum must be >= 0"),
    ("SGD", {"weight_decay": -1}, "weight_decay must be >= 0"),
    ("SGD", {"dampening": -0.1}, "dampening must be >= 0"),
    ("SGD", {"nesterov": True}, "nesterov=True needs momentum > 0"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
     "nesterov=True needs momentum > 0 and dampening = 0, got momentum=0.9, dampening=0.1"),
    ("Adam", {"lr": -1e-3}, "lr must be >= 0"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0.0, 1.0\)"),
    ("Adam", {"betas": (0.9, -0.1)}, r"betas\[1\] must be in"),
    ("Adam", {"betas": 0.9}, "betas must be a pair"),
    ("Adam", {"eps": -1e-8}, "eps must be >= 0"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ("AdamW", {"betas": (0.9, 1.5)}, r"betas\[1\]"),
    ("AdamW", {"lr": float("nan")}, "lr must be a real number"),
    ("RMSprop", {"alpha": -0.1}, "alpha must be >= 0"),
    ("RMSprop", {"eps": -1.0}, "eps must be >= 0"),
    ("RMSprop", {"momentum": -0.9}, "momentum must be >= 0"),
    ("RMSprop", {"weight_decay": -0.9}, "weight_decay must be >= 0"),
    ("Adagrad", {"lr_decay": -0.1}, "lr_decay must be >= 0"),
    ("Adagrad", {"initial_accumulator_value": -1}, "initial_accumulator_value must be >= 0"),
    ("Adagrad", {"eps": -1e-10}, "eps must be >= 0"),
    ("Adagrad", {"weight_decay": -1e-10}, "weight_decay must be >= 0"),
    ("Adadelta", {"rho": 1.5}, r"rho must be in \[0.0, 1.0\]"),
    ("Adadelta", {"eps": -1.0}, "eps must be >= 0"),
    ("Adadelta", {"weight_decay": -1.0}, "weight_decay must be >= 0"),
    ("NAdam", {"momentum_decay": -4e-3}, "momentum_decay must be >= 0"),
    ("NAdam", {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    ("NAdam", {"eps": -1.0}, "eps must be >= 0"),
    ("NAdam", {"weight_decay": -1.0}, "weight_decay must be >= 0"),
]


@pytest.mark.parametrize("name, options, message", INVALID)
def test_invalid_options_raise_config_error_naming_the_argument(name, options, message):
    with pytest.raises(ConfigError, match=f"{name}: {message}"):
        optim.get_optimizer(name)([Parameter(np.ones(2))], **options)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_invalid_params_raise_config_error(name):
    cls = optim.get_optimizer(name)
    with pytest.raises(ConfigError, match="empty parameter list"):
        cls([])
    with pytest.raises(ConfigError, match="empty 'params' list"):
        cls([{"params": []}])
    with pytest.raises(ConfigError, match="single Tensor"):
        cls(Parameter(np.ones(2)))
    with pytest.raises(ConfigError, match=r"params\[1\] must be a Tensor"):
        cls([Parameter(np.ones(2)), np.ones(2)])
    with pytest.raises(ConfigError, match="needs a 'params' entry"):
        cls([{"lr": 0.1}])
    made_by_op = Parameter(np.ones(2)) * 2.0
    with pytest.raises(ConfigError, match="leaf"):
        cls([made_by_op])
