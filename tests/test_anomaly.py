"""annie.detect_anomaly(): the first op whose forward or backward makes NaN/inf is named."""
import numpy as np
import pytest

import annie
from annie.diagnostics import AnomalyError, detect_anomaly
from annie.tensor import _anomaly_hooks

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN/inf made on purpose


@pytest.fixture(autouse=True)
def _no_hooks_left():
    yield
    assert _anomaly_hooks == []


def test_public_names():
    assert annie.detect_anomaly is detect_anomaly
    assert annie.diagnostics.detect_anomaly is detect_anomaly
    assert issubclass(AnomalyError, annie.NumericalError)


def test_forward_nan_names_op_phase_and_shapes():
    x = annie.tensor(np.array([[1.0, -1.0, 2.0]]), requires_grad=True)
    with pytest.raises(annie.NumericalError) as info:
        with detect_anomaly():
            y = x * 2.0
            annie.log(y)
    error = info.value
    assert error.op == "Log" and error.phase == "forward"
    assert error.input_shapes == [(1, 3)] and error.output_shapes == [(1, 3)]
    message = str(error)
    assert "Log (forward) produced nan" in message and "(1, 3)" in message
    assert "inputs are finite" in message


def test_forward_inf_from_overflow():
    x = annie.tensor(np.array([1.0, 1000.0], dtype=np.float32))
    with pytest.raises(AnomalyError, match=r"Exp \(forward\) produced inf"):
        with detect_anomaly():
            annie.exp(x)


def test_nan_in_the_data_is_reported_as_coming_from_the_inputs():
    x = annie.tensor(np.array([np.nan, 1.0]))
    with pytest.raises(AnomalyError, match="inputs already hold nan/inf") as info:
        with detect_anomaly():
            x * 3.0
    assert info.value.op == "Mul"


def test_backward_inf_names_the_op_whose_backward_made_it():
    x = annie.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with detect_anomaly():
        y = annie.sqrt(x)  # forward is finite: sqrt(0) = 0
        loss = (y * 2.0).sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    error = info.value
    assert error.op == "Sqrt" and error.phase == "backward"
    assert error.input_shapes == [(2,)] and error.output_shapes == [(2,)]
    assert "gradient for input 0" in str(error) and "received is finite" in str(error)


def test_without_the_context_nan_passes_silently():
    x = annie.tensor(np.array([0.0, 4.0]), requires_grad=True)
    annie.sqrt(x).sum().backward()
    assert np.isinf(x.grad[0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(annie.log(annie.tensor(np.array([-1.0]))).data[0])


def test_finite_computation_is_unchanged():
    rng = np.random.default_rng(0)
    a = annie.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = annie.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    with detect_anomaly():
        (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad, np.tile(b.data.sum(axis=1), (3, 1)))


def test_phase_switches():
    x = annie.tensor(np.array([0.0]), requires_grad=True)
    with detect_anomaly(check_backward=False):
        annie.sqrt(x).sum().backward()  # inf gradient, not checked
    with detect_anomaly(check_forward=False):
        with np.errstate(divide="ignore"):
            annie.log(annie.tensor(np.array([0.0])))  # -inf output, not checked


def test_nested_contexts_and_cleanup_after_errors():
    x = annie.tensor(np.array([-1.0]))
    with detect_anomaly():
        with pytest.raises(AnomalyError):
            with detect_anomaly():
                assert len(_anomaly_hooks) == 2
                annie.log(x)
        assert len(_anomaly_hooks) == 1
        with pytest.raises(AnomalyError):
            annie.sqrt(x)
    assert _anomaly_hooks == []


def test_decorator_form():
    @detect_anomaly()
    def compute(values):
        return annie.log(annie.tensor(values))

    compute(np.array([1.0]))
    with pytest.raises(AnomalyError, match="Log"):
        compute(np.array([-1.0]))
