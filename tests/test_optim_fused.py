"""Adam's one-loop update (``optim/fused.py``) gives the bits of the NumPy update it replaces:
for every option (L2 or decoupled weight decay, maximize), both float dtypes, the flat path and
the per-parameter path, learning rates changed between steps, and gradients that are NaN,
infinite, signed zeros or huge; compiled by numba and, without numba, run as plain Python. Where
it does not apply (AMSGrad, float16, arrays that are not C-contiguous) the NumPy update runs."""
from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from annie import optim
from annie.nn import Parameter
from annie.optim import fused

HAS_NUMBA = importlib.util.find_spec("numba") is not None
LOOPS = ["python"] + (["numba"] if HAS_NUMBA else [])
OPTIONS = [dict(weight_decay=weight_decay, decoupled=decoupled, maximize=maximize)
           for weight_decay, decoupled, maximize in itertools.product([0.0, 0.1], [False, True],
                                                                      [False, True])]


def _option_id(weight_decay, decoupled, maximize):
    return f"decay{weight_decay}" + ("-decoupled" if decoupled else "") + (
        "-maximize" if maximize else "")


@pytest.fixture
def calls(monkeypatch, request):
    """The loop ``adam_update`` runs (``request.param``: "python" or "numba"), counting its calls;
    ``calls`` is the list of their element counts."""
    loop = fused.adam_elements if request.param == "python" else fused.compiled_adam()
    counted = []

    def counting(param, *args):
        counted.append(param.size)
        return loop(param, *args)
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    monkeypatch.setattr(fused, "compiled_adam", lambda: counting)
    monkeypatch.setattr(fused, "MIN_VALUES", 0)  # the tests' small arrays too
    return counted


def _params(dtype, seed=0, shapes=((5, 3), (3,), (7,))):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in shapes]


def _optimizer(params, weight_decay, decoupled, maximize, amsgrad=False):
    cls = optim.AdamW if decoupled else optim.Adam
    return cls(params, lr=3e-2, weight_decay=weight_decay, maximize=maximize, amsgrad=amsgrad)


def _train(params, optimizer, steps=8, seed=1, special=False):
    """``steps`` steps on gradients of random scale (1e-3 to 1e2), the learning rate changed
    halfway; with ``special`` the gradients also hold NaN, +-inf, +-0 and +-3e19."""
    rng = np.random.default_rng(seed)
    for step in range(steps):
        if step == steps // 2:
            optimizer.param_groups[0]["lr"] = 7e-3
        for param in params:
            grad = rng.standard_normal(param.data.shape) * 10.0 ** rng.integers(-3, 3)
            if special:
                flat = grad.reshape(-1)
                values = [np.nan, np.inf, -np.inf, 0.0, -0.0, 3e19, -3e19]
                flat[: min(flat.size, len(values))] = values[: flat.size]
                rng.shuffle(flat)
            param.grad = grad.astype(param.data.dtype)
        optimizer.step()


def _result(params, optimizer):
    arrays = [param.data.copy() for param in params]
    for param in params:
        state = optimizer.state[param]
        arrays += [state[key].copy() for key in sorted(state) if key != "step"]
    return arrays


def _numpy_reference(monkeypatch, dtype, options, special=False, per_parameter=False):
    monkeypatch.setenv("ANNIE_NUMBA", "0")
    params = _params(dtype)
    optimizer = _optimizer(params, **options)
    if per_parameter:
        optimizer._step_flat = lambda number, group: False
    _train(params, optimizer, special=special)
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    return _result(params, optimizer)


@pytest.mark.parametrize("calls", LOOPS, indirect=True)
@pytest.mark.parametrize("per_parameter", [False, True], ids=["flat", "per-parameter"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda options: _option_id(**options))
def test_the_loop_gives_the_numpy_updates_bits(calls, per_parameter, dtype, options, monkeypatch):
    expected = _numpy_reference(monkeypatch, dtype, options, per_parameter=per_parameter)
    params = _params(dtype)
    optimizer = _optimizer(params, **options)
    if per_parameter:
        optimizer._step_flat = lambda number, group: False
    _train(params, optimizer)
    assert calls == ([15, 3, 7] if per_parameter else [25]) * 8  # the loop did every update
    for ours, reference in zip(_result(params, optimizer), expected, strict=True):
        assert ours.dtype == reference.dtype
        np.testing.assert_array_equal(ours, reference)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's "invalid value" on the NaNs
@pytest.mark.parametrize("calls", LOOPS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS[::3], ids=lambda options: _option_id(**options))
def test_nan_inf_signed_zero_and_huge_gradients_match_bit_for_bit(calls, dtype, options,
                                                                   monkeypatch):
    expected = _numpy_reference(monkeypatch, dtype, options, special=True)
    params = _params(dtype)
    optimizer = _optimizer(params, **options)
    _train(params, optimizer, special=True)
    assert calls
    for ours, reference in zip(_result(params, optimizer), expected, strict=True):
        np.testing.assert_array_equal(ours, reference)  # NaN where NaN
        numbers = ~np.isnan(reference)  # (a NaN's sign bit means nothing)
        np.testing.assert_array_equal(np.signbit(ours[numbers]), np.signbit(reference[numbers]))


@pytest.mark.parametrize("calls", LOOPS, indirect=True)
def test_a_huge_float32_gradient_keeps_the_second_moment_finite(calls):
    """(scale g) g, as the NumPy update forms it: g = 3e19 adds 9e35 instead of overflowing."""
    param = Parameter(np.zeros(4, np.float32))
    optimizer = optim.Adam([param])
    param.grad = np.full(4, 3e19, np.float32)
    optimizer.step()
    assert calls == [4]
    assert np.isfinite(optimizer.state[param]["exp_avg_sq"]).all()
    np.testing.assert_allclose(param.data, -1e-3, rtol=1e-6)  # Adam's first step: -lr sign(g)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # float16: eps rounds to 0
@pytest.mark.parametrize("calls", LOOPS, indirect=True)
def test_amsgrad_float16_and_strided_arrays_take_the_numpy_update(calls, monkeypatch):
    params = _params(np.float32)
    optimizer = _optimizer(params, 0.0, False, False, amsgrad=True)
    _train(params, optimizer, steps=3)
    half = [Parameter(np.ones((2, 3), np.float16))]
    half_optimizer = optim.Adam(half)
    _train(half, half_optimizer, steps=3)
    strided = Parameter(np.ones((3, 4), np.float32))
    strided_optimizer = optim.Adam([strided])
    strided_optimizer._step_flat = lambda number, group: False
    strided.data = np.ones((4, 3), np.float32).T  # a transposed view: not C-contiguous
    strided.grad = np.arange(12, dtype=np.float32).reshape(3, 4)
    strided_optimizer.step()
    assert calls == []
    monkeypatch.setenv("ANNIE_NUMBA", "0")  # the reference: a C-ordered copy, NumPy's update
    reference = Parameter(np.ones((3, 4), np.float32))
    reference.grad = strided.grad.copy()
    optim.Adam([reference]).step()
    np.testing.assert_array_equal(strided.data, reference.data)
    assert optimizer.state[params[0]]["max_exp_avg_sq"].any()


def test_without_numba_or_with_annie_numba_0_nothing_is_compiled(monkeypatch):
    monkeypatch.setenv("ANNIE_NUMBA", "0")
    assert not fused.enabled()
    param = Parameter(np.ones(3, np.float32))
    param.grad = np.ones(3, np.float32)
    state = {"step": 1, "exp_avg": np.zeros(3, np.float32), "exp_avg_sq": np.zeros(3, np.float32)}
    group = dict(lr=1e-3, betas=(0.9, 0.999), weight_decay=0, amsgrad=False, maximize=False)
    monkeypatch.setattr(fused, "MIN_VALUES", 0)
    assert not fused.adam_update(param.data, param.grad, state, group, 0.9, 0.999, 1e-3, 1e-8)
    assert not state["exp_avg"].any() and (param.data == 1).all()  # nothing changed
    monkeypatch.setattr(fused, "compiled_adam", lambda: None)  # numba missing
    monkeypatch.setenv("ANNIE_NUMBA", "1")
    assert not fused.enabled()
    assert not fused.adam_update(param.data, param.grad, state, group, 0.9, 0.999, 1e-3, 1e-8)


@pytest.mark.parametrize("calls", ["python"], indirect=True)
def test_the_loop_runs_from_min_values_on(calls, monkeypatch):
    """Below ``MIN_VALUES`` values a step never loads numba (its start-up outweighs the gain)."""
    monkeypatch.setattr(fused, "MIN_VALUES", 40)
    small, large = Parameter(np.ones(39, np.float32)), Parameter(np.ones(40, np.float32))
    optimizer = optim.Adam([{"params": [small]}, {"params": [large]}])
    small.grad, large.grad = np.ones(39, np.float32), np.ones(40, np.float32)
    optimizer.step()
    assert calls == [40]
    np.testing.assert_array_equal(small.data[:1], large.data[:1])  # the same update


@pytest.mark.parametrize("calls", LOOPS, indirect=True)
@pytest.mark.parametrize("decoupled", [False, True])
def test_numpy_float64_settings_give_the_same_bits_as_python_floats(calls, decoupled,
                                                                    monkeypatch):
    """A setting computed with NumPy (np.float64: lr from np.cos, betas from np.logspace) is
    taken as a Python float by both updates, so float32 arithmetic stays float32 in both."""
    def run(numba_flag, cast):
        monkeypatch.setenv("ANNIE_NUMBA", numba_flag)
        params = _params(np.float32)
        cls = optim.AdamW if decoupled else optim.Adam
        optimizer = cls(params, lr=cast(3e-2), betas=(cast(0.8), cast(0.99)), eps=cast(1e-3),
                        weight_decay=cast(0.1))
        _train(params, optimizer)
        return _result(params, optimizer)
    reference = run("0", np.float64)
    assert not calls
    for ours, python_floats, theirs in zip(run("1", np.float64), run("0", float), reference,
                                           strict=True):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(python_floats, theirs)
    assert calls == [25] * 8


@pytest.mark.parametrize("calls", LOOPS, indirect=True)
def test_a_read_only_parameter_fails_as_numpy_does(calls):
    param = Parameter(np.ones(6, np.float32))
    optimizer = optim.Adam([param])
    optimizer._step_flat = lambda number, group: False
    param.data.flags.writeable = False
    param.grad = np.ones(6, np.float32)
    with pytest.raises(ValueError, match="read-only"):
        optimizer.step()
    assert calls == []
