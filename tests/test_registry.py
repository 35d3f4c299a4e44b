"""Walk the registry (tests/registry/*.py): for every case, gradients against float64 central
differences, the forward pass against its NumPy reference in float64, and dtype preservation
for float32 and float64 inputs (outputs and gradients keep the inputs' dtype)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import annie
from annie.diagnostics import gradcheck
from registry import all_cases

CASES = all_cases()
FORWARD_RTOL = 1e-7
FORWARD_ATOL = 1e-9


def _grad_indices(case, arrays) -> tuple:
    if case.grad_inputs is not None:
        return tuple(case.grad_inputs)
    return tuple(i for i, array in enumerate(arrays) if np.asarray(array).dtype.kind == "f")


def _build_inputs(case, dtype, with_grad: bool = True):
    """The case's arrays as Tensors (float arrays; those in grad_inputs require grad) and
    constants (everything else), plus the raw arrays."""
    arrays = case.make_inputs(np.random.default_rng(1234), np.dtype(dtype))
    grad_indices = _grad_indices(case, arrays) if with_grad else ()
    inputs = []
    for i, array in enumerate(arrays):
        array = np.asarray(array)
        if array.dtype.kind == "f":
            inputs.append(annie.tensor(array.copy(), requires_grad=i in grad_indices))
        else:
            inputs.append(array)
    return inputs, arrays, grad_indices


def _outputs(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def test_registry_is_not_empty_and_names_are_unique():
    assert len(CASES) > 0
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_gradcheck_float64(case):
    inputs, _, grad_indices = _build_inputs(case, np.float64)
    if not grad_indices:
        pytest.skip(f"{case.name}: no differentiable inputs")
    result = gradcheck(case.fn, inputs, atol=case.atol, rtol=case.rtol, raise_exception=False)
    assert result.ok, f"{case.name}: {result}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_forward_matches_reference_float64(case):
    if case.reference is None:
        pytest.skip(f"{case.name}: no reference")
    inputs, arrays, _ = _build_inputs(case, np.float64, with_grad=False)
    got = _outputs(case.fn(*inputs))
    expected = _outputs(case.reference(*[np.asarray(a).copy() for a in arrays]))
    assert len(got) == len(expected), f"{case.name}: {len(got)} outputs, expected {len(expected)}"
    for out, ref in zip(got, expected):
        ref = np.asarray(ref)
        assert out.shape == ref.shape, f"{case.name}: shape {out.shape}, expected {ref.shape}"
        np.testing.assert_allclose(out.data, ref, rtol=FORWARD_RTOL, atol=FORWARD_ATOL,
                                   err_msg=case.name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_dtype_preserved(case, dtype):
    inputs, _, grad_indices = _build_inputs(case, dtype)
    outputs = _outputs(case.fn(*inputs))
    total = None
    for out in outputs:
        if out.dtype.kind == "f":
            assert out.dtype == np.dtype(dtype), f"{case.name}: output dtype {out.dtype}"
        if out.requires_grad:
            term = out.sum()
            total = term if total is None else total + term
    if total is None:
        return
    total.backward()
    for i in grad_indices:
        grad = inputs[i].grad
        assert grad is not None, f"{case.name}: input {i} got no gradient"
        assert grad.dtype == np.dtype(dtype), f"{case.name}: input {i} grad dtype {grad.dtype}"
        assert grad.shape == inputs[i].shape, f"{case.name}: input {i} grad shape {grad.shape}"
        assert np.all(np.isfinite(grad)), f"{case.name}: input {i} grad not finite"


EMPTY_CASES = [case for case in CASES if case.batch]


def test_the_empty_batch_check_covers_every_area():
    areas = {name.split("_")[0] for name in (case.name for case in EMPTY_CASES)}
    assert len(EMPTY_CASES) >= 100 and {"loss", "linear", "softmax", "sum"} <= areas


@pytest.mark.parametrize("case", EMPTY_CASES, ids=[case.name for case in EMPTY_CASES])
def test_empty_batch(case):
    """A batch of 0 samples: the output is the reference's on the empty inputs (empty arrays,
    a sum of 0, a mean of NaN as in NumPy and PyTorch) and every gradient has its input's
    (zero-size) shape."""
    arrays = [np.asarray(array) for array in
              case.make_inputs(np.random.default_rng(1234), np.dtype(np.float64))]
    arrays = [array[:0] if i in case.batch else array for i, array in enumerate(arrays)]
    grad_indices = tuple(i for i in _grad_indices(case, arrays) if arrays[i].dtype.kind == "f")
    inputs = [annie.tensor(array.copy(), requires_grad=i in grad_indices)
              if array.dtype.kind == "f" else array for i, array in enumerate(arrays)]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        got = _outputs(case.fn(*inputs))
        expected = _outputs(case.reference(*[array.copy() for array in arrays])) \
            if case.reference is not None else None
        total = None
        for out in got:
            if out.requires_grad:
                term = out.sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
    if expected is not None:
        for out, ref in zip(got, expected):
            ref = np.asarray(ref)
            assert out.shape == ref.shape, f"{case.name}: shape {out.shape}, expected {ref.shape}"
            np.testing.assert_allclose(out.data, ref, equal_nan=True, err_msg=case.name)
    for i in grad_indices:
        if total is None:
            break
        assert inputs[i].grad is not None and inputs[i].grad.shape == inputs[i].shape, case.name
