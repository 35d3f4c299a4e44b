"""The playground answers a control within one mini-batch, whatever the settings: a change
takes effect at the next mini-batch boundary of a long epoch, Pause lets no further mini-batch
start, and settings whose training step would need too much memory are refused. Checked by
state (the step at which a change took effect, the mini-batches started), never by timing."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from annie.playground import rnn_lab, sessions
from annie.playground.controls import RNN_CONTROLS, WORKSPACE_LIMIT, defaults
from annie.playground.rnn_lab import RnnLab
from annie.playground.sessions import ANNIE_LOCK, annie_turn
from playground_support import client, server, session  # noqa: F401 (fixtures)


@pytest.fixture()
def endless_chunks(monkeypatch):
    """Chunks that never end by time: only a waiting request ends one before its epoch does."""
    monkeypatch.setattr(sessions, "CHUNK_SECONDS", math.inf)


def _wait_until(condition, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not get there")
        time.sleep(0.001)


def test_a_change_takes_effect_at_the_next_mini_batch_of_a_long_epoch(client, server, session,
                                                                     endless_chunks):
    settings = {"steps": 10, "batch_size": 8, "optimizer": "sgd", "lr": 0.01}
    assert client.settings(session, "rnn", settings)[0] == 200
    lab = server.store.get(session).labs["rnn"]
    per_epoch = lab.steps_per_epoch  # 2000 training sequences / 8
    client.action(session, "rnn", "step")
    _wait_until(lambda: lab.steps > 0)
    status, body, _ = client.settings(session, "rnn", {"lr": 0.5})
    assert status == 200 and body["state"]["settings"]["lr"] == 0.5
    changed_at = body["state"]["steps"]  # the mini-batches trained before the change
    assert 0 < changed_at < per_epoch
    assert body["state"]["pending_steps"] == per_epoch - changed_at
    done = client.wait_for(session, "rnn", lambda state: state["pending_steps"] == 0
                           and state["steps"] == per_epoch)
    assert done["settings"]["lr"] == 0.5
    # the same epoch trained in-process: lr 0.01 for changed_at mini-batches, then 0.5
    with annie_turn():
        reference = RnnLab({**defaults("rnn"), **settings})
        reference.train_for(math.inf, changed_at)
        reference.configure({"lr": 0.5})
        reference.train_for(math.inf, per_epoch - changed_at)
        served = [parameter.data.copy() for parameter in lab.model.parameters()]
    expected = [parameter.data for parameter in reference.model.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(served, expected))


def test_pause_lets_no_further_mini_batch_start(client, server, session, endless_chunks,
                                                monkeypatch):
    client.settings(session, "rnn", {"steps": 10, "batch_size": 8})
    lab = server.store.get(session).labs["rnn"]
    started_while_asked = []  # mini-batches begun while a request waited for the worker
    train_step = lab.train_step

    def counted_step():
        if ANNIE_LOCK.requested():
            started_while_asked.append(lab.steps)
        return train_step()
    monkeypatch.setattr(lab, "train_step", counted_step)
    client.action(session, "rnn", "play")
    _wait_until(lambda: lab.steps >= 3)
    paused = client.action(session, "rnn", "pause")
    assert not paused["running"] and paused["steps"] >= 3
    # the mini-batch under way finishes; at most one more begins (when the request came
    # between the worker's look at the lock and the batch's start)
    assert len(started_while_asked) <= 1
    # the worker then measures the paused weights, and trains no more
    measured = client.wait_for(session, "rnn", lambda state:
                               state["step_gradients"]["measured_at_step"] == paused["steps"])
    assert measured["steps"] == paused["steps"] == lab.steps and not measured["running"]


def test_a_step_press_and_a_pause_during_another_sessions_long_epoch(client, server,
                                                                     endless_chunks):
    """A busy session does not hold up another one's controls for its whole chunk."""
    busy, quiet = client.new_session()[0], client.new_session()[0]
    try:
        client.settings(busy, "rnn", {"steps": 10, "batch_size": 8})
        busy_lab = server.store.get(busy).labs["rnn"]
        client.action(busy, "rnn", "play")
        _wait_until(lambda: busy_lab.steps > 0)
        before = busy_lab.steps
        assert client.action(quiet, "mlp", "pause")["steps"] == 0
        status, body, _ = client.settings(quiet, "mlp", {"lr": 0.1})
        assert status == 200 and body["state"]["settings"]["lr"] == 0.1
        paused = client.action(busy, "rnn", "pause")
        assert paused["steps"] < before + busy_lab.steps_per_epoch  # not a whole epoch later
    finally:
        for session_id in (busy, quiet):
            client.post(f"/api/sessions/{session_id}/close")


def _largest(control: str, settings: dict) -> int:
    """The largest value of ``control`` whose step keeps at most WORKSPACE_LIMIT gate values
    (batch x T x hidden x gates; an LSTM has 4 gates, an RNN 1)."""
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[settings["cell"]]
    others = settings["batch_size"] * settings["steps"] * settings["hidden_size"] * gates \
        // settings[control]
    return WORKSPACE_LIMIT // others


def test_settings_whose_step_needs_too_much_memory_are_refused(client, session):
    settings = {**defaults("rnn"), "batch_size": 512, "steps": 200}  # an RNN, hidden 32
    for name in ("batch_size", "steps"):
        assert client.settings(session, "rnn", {name: settings[name]})[0] == 200
    for name, value in (("hidden_size", 128), ("cell", "lstm")):
        status, body, _ = client.settings(session, "rnn", {name: value})
        assert status == 400 and body["control"] == name
        assert body["error"].startswith(f"{RNN_CONTROLS[name].label}: ")
        assert f"limit is {WORKSPACE_LIMIT:,}" in body["error"]
        state = client.state(session, "rnn")["settings"]
        assert state["hidden_size"] == 32 and state["cell"] == "rnn"  # nothing changed
    status, body, _ = client.settings(session, "rnn", {"hidden_size": 128})
    assert f"can be at most {_largest('hidden_size', {**settings, 'hidden_size': 128})}" \
        in body["error"]
    lstm = {**settings, "cell": "lstm", "batch_size": 32}
    assert client.settings(session, "rnn", {"batch_size": 32, "cell": "lstm"})[0] == 200
    largest = _largest("batch_size", {**lstm, "batch_size": 1})
    assert largest == 327  # 2**23 // (200 * 32 * 4)
    status, body, _ = client.settings(session, "rnn", {"batch_size": largest + 1})
    assert status == 400 and body["control"] == "batch_size"
    assert f"can be at most {largest}" in body["error"]
    assert client.settings(session, "rnn", {"batch_size": largest})[0] == 200


def test_evaluation_in_parts_gives_the_whole_batchs_outputs(monkeypatch):
    lab = RnnLab({"cell": "gru", "steps": 12, "hidden_size": 8})
    whole = lab.predict(lab.X_test)
    monkeypatch.setattr(rnn_lab, "WORKSPACE_LIMIT", 7 * 12 * 8 * 3)  # 7 sequences at a time
    assert lab.evaluation_rows() == 7
    parts = lab.predict(lab.X_test)
    assert parts.shape == whole.shape == lab.y_test.shape
    np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-6)


def test_two_threads_changing_controls_while_training_end_consistent(client, server, session):
    client.settings(session, "rnn", {"steps": 10})
    client.action(session, "rnn", "play")
    failures = []

    def change(values):
        for value in values:
            status, body, _ = client.settings(session, "rnn", {"lr": value})
            if status != 200:
                failures.append(body)
    threads = [threading.Thread(target=change, args=([0.001, 0.002] * 5,)),
               threading.Thread(target=change, args=([0.003] * 10,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paused = client.action(session, "rnn", "pause")
    lab = server.store.get(session).labs["rnn"]
    assert not failures and paused["settings"]["lr"] in (0.002, 0.003)
    assert lab.optimizer.param_groups[0]["lr"] == paused["settings"]["lr"]


def test_a_request_is_answered_while_the_worker_measures(client, server, session, monkeypatch):
    """Measuring a snapshot (a recurrent net's gradient at every step: up to a second) runs on
    a copy of the model, without the lock requests need."""
    inside, answered, outcome = threading.Event(), threading.Event(), []
    measure = RnnLab.measure

    def slow_measure(lab):
        if threading.current_thread().name.startswith("annie-playground-") \
                and not inside.is_set():
            inside.set()
            outcome.append(answered.wait(60))  # until the request below is answered
        return measure(lab)
    monkeypatch.setattr(RnnLab, "measure", slow_measure)
    client.settings(session, "rnn", {"steps": 10})
    client.action(session, "rnn", "play")
    assert inside.wait(120)
    status, body, _ = client.settings(session, "rnn", {"lr": 0.01})
    answered.set()
    assert status == 200 and body["state"]["settings"]["lr"] == 0.01
    paused = client.action(session, "rnn", "pause")
    client.wait_for(session, "rnn", lambda state:
                    state["step_gradients"]["measured_at_step"] == paused["steps"])
    assert outcome == [True]


def test_blas_runs_one_thread_per_call_while_serving(monkeypatch):
    """Workers call BLAS side by side: multi-threaded calls would oversubscribe the cores."""
    from threadpoolctl import threadpool_info

    from annie.playground.server import PlaygroundServer, serve

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    before, seen = blas_threads(), []
    monkeypatch.setattr(PlaygroundServer, "serve_forever", lambda self: seen.append(blas_threads()))
    serve(port=0, open_browser=False, announce=lambda text: None)
    assert before and seen == [[1] * len(before)]
    assert blas_threads() == before  # given back when the server stops
