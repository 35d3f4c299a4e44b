"""Learning-rate schedulers: PyTorch's lr sequences (golden fixtures), the closed forms, their
effect on the optimizer, state dicts and argument errors."""
from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import numpy as np
import pytest

from annie import optim
from annie.errors import ConfigError
from annie.nn import Parameter
from conftest import load_fixture

_spec = importlib.util.spec_from_file_location(
    "gen_optim", pathlib.Path(__file__).parent / "fixtures" / "gen_optim.py")
problem = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(problem)


def sgd_with_groups(lrs: list[float]) -> optim.SGD:
    groups = [{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def lr_sequence(config: str) -> np.ndarray:
    name, options, lrs = problem.SCHEDULERS[config]
    optimizer = sgd_with_groups(lrs)
    scheduler = getattr(optim, name)(optimizer, **options)
    rows = [scheduler.get_last_lr()]
    for _ in range(problem.SCHEDULER_EPOCHS):
        optimizer.step()
        scheduler.step()
        rows.append(scheduler.get_last_lr())
    return np.array(rows)


def plateau_sequence(config: str) -> np.ndarray:
    optimizer = sgd_with_groups([0.1, 0.01])
    scheduler = optim.ReduceLROnPlateau(optimizer, **problem.PLATEAU_CONFIGS[config])
    rows = []
    for metric in problem.PLATEAU_METRICS:
        scheduler.step(float(metric))
        rows.append(scheduler.get_last_lr())
    return np.array(rows)


@pytest.mark.parametrize("config", sorted(problem.SCHEDULERS))
def test_lr_sequence_matches_pytorch_fixture(config):
    expected = load_fixture("optim")[f"sched_{config}"]
    np.testing.assert_allclose(lr_sequence(config), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("config", sorted(problem.PLATEAU_CONFIGS))
def test_plateau_sequence_matches_pytorch_fixture(config):
    expected = load_fixture("optim")[f"sched_{config}"]
    actual = plateau_sequence(config)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)
    assert len(np.unique(actual[:, 0])) >= 3  # the metrics make it reduce at least twice


def closed_form(name: str, options: dict, base: float, epoch: int) -> float:
    if name == "StepLR":
        return base * options.get("gamma", 0.1) ** (epoch // options["step_size"])
    if name == "ExponentialLR":
        return base * options["gamma"] ** epoch
    if name == "CosineAnnealingLR":
        eta_min = options.get("eta_min", 0.0)
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / options["T_max"])) / 2
    start, end = options.get("start_factor", 1 / 3), options.get("end_factor", 1.0)
    total = options.get("total_iters", 5)
    return base * (start + (end - start) * min(epoch, total) / total)


@pytest.mark.parametrize("config", sorted(problem.SCHEDULERS))
def test_lr_sequence_follows_the_closed_form(config):
    name, options, lrs = problem.SCHEDULERS[config]
    actual = lr_sequence(config)
    expected = np.array([[closed_form(name, options, base, epoch) for base in lrs]
                         for epoch in range(problem.SCHEDULER_EPOCHS + 1)])
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-15)


def test_scheduler_sets_the_lr_the_optimizer_uses():
    param = Parameter(np.zeros(1))
    optimizer = optim.SGD([param], lr=1.0)
    scheduler = optim.StepLR(optimizer, step_size=1, gamma=0.5)
    for expected_lr in (1.0, 0.5, 0.25):
        before = param.data.copy()
        param.grad = np.ones(1)
        optimizer.step()
        np.testing.assert_allclose(before - param.data, [expected_lr])
        scheduler.step()


def test_initial_lr_recorded_and_warmup_starts_low():
    optimizer = sgd_with_groups([0.1])
    scheduler = optim.LinearLR(optimizer, start_factor=0.25, total_iters=4)
    assert optimizer.param_groups[0]["initial_lr"] == 0.1
    assert scheduler.base_lrs == [0.1]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    assert scheduler.last_epoch == 0


@pytest.mark.parametrize("config", ["step", "cosine", "linear_warmup"])
def test_state_dict_round_trip_resumes_the_schedule(config):
    name, options, lrs = problem.SCHEDULERS[config]
    expected = lr_sequence(config)
    optimizer = sgd_with_groups(lrs)
    scheduler = getattr(optim, name)(optimizer, **options)
    for _ in range(9):
        scheduler.step()
    saved_scheduler = json.loads(json.dumps(scheduler.state_dict()))
    saved_optimizer = optimizer.state_dict()

    optimizer = sgd_with_groups(lrs)
    scheduler = getattr(optim, name)(optimizer, **options)
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    rows = []
    for _ in range(problem.SCHEDULER_EPOCHS - 9):
        scheduler.step()
        rows.append(scheduler.get_last_lr())
    np.testing.assert_allclose(np.array(rows), expected[10:], rtol=1e-12)


def test_plateau_state_dict_round_trip():
    optimizer = sgd_with_groups([0.1, 0.01])
    config = problem.PLATEAU_CONFIGS["plateau_cooldown_abs"]
    scheduler = optim.ReduceLROnPlateau(optimizer, **config)
    metrics = problem.PLATEAU_METRICS
    for metric in metrics[:8]:
        scheduler.step(metric)
    saved = scheduler.state_dict()
    restored = optim.ReduceLROnPlateau(sgd_with_groups([0.1, 0.01]), **config)
    restored.optimizer.load_state_dict(optimizer.state_dict())
    restored.load_state_dict(saved)
    for metric in metrics[8:]:
        scheduler.step(metric)
        restored.step(metric)
        assert restored.get_last_lr() == scheduler.get_last_lr()
    assert restored.best == scheduler.best


def test_plateau_respects_min_lr_per_group():
    optimizer = sgd_with_groups([0.1, 0.01])
    scheduler = optim.ReduceLROnPlateau(optimizer, patience=0, factor=0.1, min_lr=[0.005, 0.0])
    for _ in range(5):
        scheduler.step(1.0)
    assert scheduler.get_last_lr()[0] == 0.005
    assert scheduler.get_last_lr()[1] == pytest.approx(1e-6)


INVALID = [
    (lambda opt: optim.StepLR(opt, step_size=0), "StepLR: step_size must be a positive integer"),
    (lambda opt: optim.StepLR(opt, step_size=2.5), "StepLR: step_size must be a positive"),
    (lambda opt: optim.CosineAnnealingLR(opt, T_max=0), "CosineAnnealingLR: T_max must be"),
    (lambda opt: optim.LinearLR(opt, start_factor=0),
     r"LinearLR: start_factor must be in \(0, 1\]"),
    (lambda opt: optim.LinearLR(opt, end_factor=1.5), r"LinearLR: end_factor must be in \[0, 1\]"),
    (lambda opt: optim.LinearLR(opt, total_iters=0), "LinearLR: total_iters must be"),
    (lambda opt: optim.ExponentialLR(opt, gamma=0.9, last_epoch=3), "has no 'initial_lr'"),
    (lambda opt: optim.ReduceLROnPlateau(opt, factor=1.0), "factor must be < 1.0, got 1.0"),
    (lambda opt: optim.ReduceLROnPlateau(opt, mode="up"), "mode must be 'min' or 'max'"),
    (lambda opt: optim.ReduceLROnPlateau(opt, threshold_mode="pct"), "threshold_mode must be"),
    (lambda opt: optim.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2]), "min_lr has 2 values"),
    (lambda opt: optim.StepLR("sgd", step_size=1), "optimizer must be an annie.optim.Optimizer"),
    (lambda opt: optim.ReduceLROnPlateau(None), "optimizer must be an annie.optim.Optimizer"),
]


@pytest.mark.parametrize("make, message", INVALID)
def test_invalid_scheduler_arguments(make, message):
    with pytest.raises(ConfigError, match=message):
        make(sgd_with_groups([0.1]))


# ----- resuming exactly, at and between boundaries --------------------------------------------------
def test_steplr_built_on_a_restored_optimizer_does_not_step_twice():
    for name, options in (("StepLR", {"step_size": 1, "gamma": 0.5}),
                          ("ExponentialLR", {"gamma": 0.5})):
        optimizer = sgd_with_groups([1.0])
        scheduler = getattr(optim, name)(optimizer, **options)
        for _ in range(3):
            scheduler.step()
        fresh = sgd_with_groups([1.0])
        fresh.load_state_dict(optimizer.state_dict())
        resumed = getattr(optim, name)(fresh, last_epoch=2, **options)
        assert resumed.get_last_lr() == [0.125] == [fresh.param_groups[0]["lr"]], name
        resumed.step()
        assert resumed.get_last_lr() == [0.0625], name


RESUME_EPOCHS = 24


def _resumed(name, options, lrs, epochs_done, how):
    optimizer = sgd_with_groups(lrs)
    scheduler = getattr(optim, name)(optimizer, **options)
    for _ in range(epochs_done):
        scheduler.step()
    saved_optimizer = optimizer.state_dict()
    saved_scheduler = json.loads(json.dumps(scheduler.state_dict()))
    optimizer = sgd_with_groups(lrs)
    if how == "last_epoch":
        optimizer.load_state_dict(saved_optimizer)
        return getattr(optim, name)(optimizer, last_epoch=epochs_done - 1, **options)
    if how == "scheduler_state_first":
        scheduler = getattr(optim, name)(optimizer, **options)
        scheduler.load_state_dict(saved_scheduler)
        optimizer.load_state_dict(saved_optimizer)
        return scheduler
    optimizer.load_state_dict(saved_optimizer)  # optimizer first: the new scheduler's initial
    scheduler = getattr(optim, name)(optimizer, **options)  # step sets epoch 0's rate
    scheduler.load_state_dict(saved_scheduler)
    return scheduler


@pytest.mark.parametrize("how", ["last_epoch", "scheduler_state_first", "optimizer_state_first"])
@pytest.mark.parametrize("config", sorted(problem.SCHEDULERS))
def test_every_scheduler_resumes_on_the_closed_form_after_every_epoch(config, how):
    name, options, lrs = problem.SCHEDULERS[config]
    expected = np.array([[closed_form(name, options, base, epoch) for base in lrs]
                         for epoch in range(RESUME_EPOCHS + 1)])
    for epochs_done in range(1, RESUME_EPOCHS):  # at every boundary and between them
        scheduler = _resumed(name, options, lrs, epochs_done, how)
        rows = [scheduler.get_last_lr()]
        assert rows[0] == [group["lr"] for group in scheduler.optimizer.param_groups]
        for _ in range(RESUME_EPOCHS - epochs_done):
            scheduler.step()
            rows.append(scheduler.get_last_lr())
        np.testing.assert_allclose(rows, expected[epochs_done:], rtol=1e-10, atol=1e-15,
                                   err_msg=f"{config} resumed after {epochs_done} epochs, {how}")


# ----- ReduceLROnPlateau: relative threshold by |best|, and the scheduler base's state -------------
def _plateau_lrs(metrics, **options):
    scheduler = optim.ReduceLROnPlateau(sgd_with_groups([1.0]), **options)
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("value", [1.0, -1.0, 250.0, -250.0])
def test_plateau_flat_metric_reduces_whatever_its_sign(value):
    expected = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01]
    np.testing.assert_allclose(_plateau_lrs([value] * 8, patience=2), expected, rtol=1e-12)
    np.testing.assert_allclose(_plateau_lrs([value] * 8, mode="max", patience=2), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("mode, best, better, not_better", [
    ("min", -1.0, -1.00011, -1.00009), ("min", 1.0, 0.99989, 0.99991),
    ("max", -1.0, -0.99989, -0.99991), ("max", 1.0, 1.00011, 1.00009),
])
def test_plateau_relative_threshold_is_relative_to_the_size_of_best(mode, best, better,
                                                                    not_better):
    for value, improves in ((better, True), (not_better, False)):
        scheduler = optim.ReduceLROnPlateau(sgd_with_groups([1.0]), mode=mode, threshold=1e-4)
        scheduler.step(best)
        scheduler.step(value)
        assert (scheduler.best == value) == improves and scheduler.num_bad_epochs == (not improves)
    worsening = optim.ReduceLROnPlateau(sgd_with_groups([1.0]), mode=mode)
    worsening.step(best)
    worsening.step(best + 2e-4 if mode == "min" else best - 2e-4)  # worse: never an improvement
    assert worsening.best == best and worsening.num_bad_epochs == 1


def test_plateau_negated_metrics_in_max_mode_mirror_min_mode():
    metrics = problem.PLATEAU_METRICS
    for options in problem.PLATEAU_CONFIGS.values():
        if options.get("mode") == "max":
            continue
        assert _plateau_lrs(metrics, **options) == _plateau_lrs(-metrics, **options, mode="max")
        assert _plateau_lrs(metrics - 5.0, **options) == _plateau_lrs(5.0 - metrics, **options,
                                                                      mode="max")


@pytest.mark.parametrize("optimizer_first", [False, True])
def test_plateau_resumes_from_its_state_after_every_epoch(optimizer_first):
    config = problem.PLATEAU_CONFIGS["plateau_cooldown_abs"]
    metrics = problem.PLATEAU_METRICS
    expected = _plateau_lrs(metrics, **config)
    for done in range(1, len(metrics)):
        optimizer = sgd_with_groups([1.0])
        scheduler = optim.ReduceLROnPlateau(optimizer, **config)
        for metric in metrics[:done]:
            scheduler.step(metric)
        saved = json.loads(json.dumps(scheduler.state_dict()))
        saved_optimizer = optimizer.state_dict()
        restored_optimizer = sgd_with_groups([1.0])
        if optimizer_first:
            restored_optimizer.load_state_dict(saved_optimizer)
        restored = optim.ReduceLROnPlateau(restored_optimizer, **config)
        restored.load_state_dict(saved)  # puts the saved rates back: the optimizer's state is
        lrs = []                         # not needed for the rates
        for metric in metrics[done:]:
            restored.step(metric)
            lrs.append(restored.get_last_lr()[0])
        assert lrs == expected[done:], done


def test_plateau_is_a_scheduler_using_the_base_state_methods():
    assert issubclass(optim.ReduceLROnPlateau, optim.LRScheduler)
    for method in ("state_dict", "load_state_dict", "get_last_lr"):
        assert method not in vars(optim.ReduceLROnPlateau), method
