"""State shared between threads, decided as PyTorch does: the grad mode (``no_grad``) holds per
thread and every thread starts with recording on; the load-time element budget holds per thread;
anomaly detection and the default dtype are process-wide."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import annie
from annie import nn
from annie.diagnostics import AnomalyError, detect_anomaly
from annie.diagnostics.graph import _backward_recording
from annie.errors import SerializationError
from annie.nn.module import element_budget
from annie.ops import sum as reduce_sum
from annie.tensor import Function

TIMEOUT = 30  # seconds a test waits for the other thread before failing


class InOtherThread:
    """Runs ``body(inside)`` in another thread: ``inside`` marks the point where the thread
    waits, inside its context, until ``release()``; ``wait()`` joins it and re-raises."""

    def __init__(self, body):
        self.entered, self.released = threading.Event(), threading.Event()
        self.result, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(body,))
        self.thread.start()
        assert self.entered.wait(TIMEOUT), "the other thread did not start"

    def inside(self) -> None:
        self.entered.set()
        assert self.released.wait(TIMEOUT)

    def _run(self, body) -> None:
        try:
            self.result = body(self.inside)
        except BaseException as error:  # handed to the test's thread
            self.error = error
        finally:
            self.entered.set()

    def wait(self):
        self.released.set()
        self.thread.join(TIMEOUT)
        if self.error is not None:
            raise self.error
        return self.result


def run_in_thread(function):
    """function() in a new thread; its result (or its exception, re-raised here)."""
    return InOtherThread(lambda inside: (inside(), function())[1]).wait()


def squares_gradient() -> np.ndarray:
    """d/dx sum(x^2) at x = (0, 1, 2), through the graph."""
    x = annie.tensor(np.arange(3.0), requires_grad=True)
    reduce_sum(x * x).backward()
    return x.grad


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    def predict(inside):
        with annie.no_grad():
            inside()  # holds no_grad open while the main thread trains
            y = annie.tensor(np.ones(2), requires_grad=True) * 2.0
            return annie.is_grad_enabled(), y.requires_grad

    predictor = InOtherThread(predict)
    try:
        assert annie.is_grad_enabled()
        np.testing.assert_array_equal(squares_gradient(), [0.0, 2.0, 4.0])
    finally:
        assert predictor.wait() == (False, False)  # no_grad still held in its own thread
    assert annie.is_grad_enabled()


def test_a_new_thread_starts_with_recording_on():
    with annie.no_grad():
        enabled, gradient = run_in_thread(lambda: (annie.is_grad_enabled(), squares_gradient()))
        assert not annie.is_grad_enabled()
    assert enabled
    np.testing.assert_array_equal(gradient, [0.0, 2.0, 4.0])


def test_enable_grad_and_no_grad_nest_within_a_thread():
    def nested():
        states = []
        with annie.no_grad():
            states.append(annie.is_grad_enabled())
            with annie.enable_grad():
                states.append(annie.is_grad_enabled())
            states.append(annie.is_grad_enabled())
        states.append(annie.is_grad_enabled())
        return states

    assert run_in_thread(nested) == [False, True, False, True]


def test_an_element_budget_holds_only_in_the_thread_that_entered_it():
    def load(inside):
        with element_budget(10):  # as annie.load rebuilding a small file's architecture
            inside()
            nn.Linear(100, 100)  # past the budget: refused in this thread

    loader = InOtherThread(load)
    try:
        model = nn.Linear(100, 100)  # another thread builds a model meanwhile
        assert model.weight.shape == (100, 100)
    finally:
        with pytest.raises(SerializationError, match="past the number of values"):
            loader.wait()


def test_anomaly_detection_is_process_wide_as_pytorchs():
    def log_of_minus_one():
        with np.errstate(invalid="ignore"):
            return annie.tensor([-1.0], requires_grad=True).log()

    with detect_anomaly():
        with pytest.raises(AnomalyError, match="Log"):
            run_in_thread(log_of_minus_one)


class _BackwardInAnotherThread(Function):
    """The identity, whose backward runs another graph's backward in another thread."""

    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad_output):
        run_in_thread(squares_gradient)
        return grad_output


def test_draw_graphs_backward_recording_sees_only_its_own_threads_ops():
    x = annie.tensor(np.arange(3.0), requires_grad=True)
    loss = reduce_sum(_BackwardInAnotherThread.apply(x) * 3.0)
    ops, node = set(), loss._ctx
    stack = [node]
    while stack:
        node = stack.pop()
        ops.add(id(node))
        stack.extend(parent._ctx for parent in node.parents if parent._ctx is not None)
    received = _backward_recording(loss)
    assert set(received) == ops


def test_no_grad_and_enable_grad_decorate_functions():
    @annie.no_grad()
    def predict(x):
        return annie.is_grad_enabled(), (x * 2.0).requires_grad

    @annie.enable_grad()
    def train(x):
        return annie.is_grad_enabled(), (x * 2.0).requires_grad

    x = annie.tensor(np.ones(2), requires_grad=True)
    assert predict(x) == (False, False) and predict(x) == (False, False)
    with annie.no_grad():
        assert train(x) == (True, True)
        assert not annie.is_grad_enabled()
    assert annie.is_grad_enabled() and predict.__name__ == "predict"


def test_grad_mode_comes_back_after_an_error_inside():
    with pytest.raises(ZeroDivisionError):
        with annie.no_grad():
            1 / 0
    assert annie.is_grad_enabled()
    with annie.no_grad():
        with pytest.raises(ZeroDivisionError):
            with annie.enable_grad():
                1 / 0
        assert not annie.is_grad_enabled()
