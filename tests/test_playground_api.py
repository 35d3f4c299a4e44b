"""The playground's HTTP API: every control with good and bad values, commands, uploads and
their limits, sessions side by side, origin checks, and errors that never leak a traceback."""
from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from annie.playground import controls
from annie.playground.toy_data import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS

from playground_support import (  # noqa: F401 (client, server, session: fixtures)
    Client, client, running_server, server, session)


# control -> (a good value, bad values); changes that need others with them are dicts
GOOD_AND_BAD = {
    "mlp": {
        "dataset": ("xor", ["moons", 3, "upload"]),
        "noise": (0.3, [0.7, -0.1, "abc", None]),
        "train_ratio": (0.7, [0.95, 0.0]),
        "samples": (200, [12.5, 5000, 39]),
        "seed": (7, [-1, 2 ** 40, 1.5]),
        "hidden": ([3, 1], [[9], "two", [1] * 7, [0], [True], 4]),
        "activation": ("relu", ["swish2", ""]),
        "loss": ("hinge", ["mse", "nope", "mean_bias_error"]),
        "optimizer": ("nadam", ["lbfgs", "SGD"]),
        "lr": (0.1, [0, 100, "nan", True, float("inf")]),
        "batch_size": (25, [0, 1001, 2.5]),
        "l2": (0.01, [-0.1, 2]),
        "dropout": (0.2, [1.0, -0.5]),
        "single_neuron": ({"single_neuron": True, "loss": "binary_cross_entropy"},
                          ["yes", 1, {"single_neuron": True, "loss": "cross_entropy"}]),
    },
    "rnn": {
        "task": ("sine", ["copy"]),
        "steps": (12, [1, 500]),
        "noise": (0.2, [-1, 0.6]),
        "cell": ("lstm", ["transformer"]),
        "init": ("orthogonal", ["xavier", "Orthogonal"]),
        "hidden_size": (16, [0, 1000]),
        "seed": (3, [-5]),
        "optimizer": ("sgd", ["adamax"]),
        "lr": (0.01, [0, 11]),
        "batch_size": (64, [0, 513]),
        "clip": (False, [1, "on"]),
        "clip_norm": (5.0, [0, -1, 101]),
    },
}


def test_options_describe_every_control(client):
    status, body, _ = client.get("/api/options")
    assert status == 200
    for lab in ("mlp", "rnn"):
        described = {item["name"]: item for item in body["controls"][lab]}
        assert set(described) == set(controls.CONTROLS[lab]) == set(GOOD_AND_BAD[lab])
        for name, item in described.items():
            assert item["default"] == controls.defaults(lab)[name]
    assert body["limits"] == {"upload_bytes": MAX_UPLOAD_BYTES, "upload_rows": MAX_UPLOAD_ROWS}


def test_a_new_session_starts_from_the_defaults(client, session):
    for lab in ("mlp", "rnn"):
        state = client.state(session, lab)
        assert state["settings"] == controls.defaults(lab)
        assert state["steps"] == 0 and not state["running"]


@pytest.mark.parametrize("lab,name", [(lab, name) for lab in GOOD_AND_BAD
                                      for name in GOOD_AND_BAD[lab]])
def test_every_control_takes_a_good_value_and_refuses_bad_ones(client, session, lab, name):
    good, bad_values = GOOD_AND_BAD[lab][name]
    before = client.state(session, lab)["settings"]
    for bad in bad_values:
        changes = bad if isinstance(bad, dict) else {name: bad}
        status, body, headers = client.settings(session, lab, changes)
        assert status == 400, (changes, body)
        assert headers["Content-Type"] == "application/json"
        assert body["control"] in changes, body
        assert body["error"] and "Traceback" not in body["error"]
        assert client.state(session, lab)["settings"] == before  # nothing changed
    changes = good if isinstance(good, dict) else {name: good}
    status, body, _ = client.settings(session, lab, changes)
    assert status == 200, body
    for key, value in changes.items():
        assert body["state"]["settings"][key] == value
    assert body["rebuilt"] == any(controls.CONTROLS[lab][key].rebuild for key in changes)


def test_unknown_controls_and_malformed_bodies_are_refused(client, session):
    status, body, _ = client.settings(session, "mlp", {"learning_rate": 0.1})
    assert status == 400 and "unknown control 'learning_rate'" in body["error"]
    status, body, _ = client.settings(session, "mlp", [1, 2])
    assert status == 400 and "JSON object" in body["error"]
    status, body, _ = client.post(f"/api/sessions/{session}/mlp/settings", body=b"{lr: 1",
                                  headers={"Content-Type": "application/json"})
    assert status == 400 and "must be JSON" in body["error"]
    status, body, _ = client.post(f"/api/sessions/{session}/mlp/settings",
                                  body=b"{" + b" " * (70 * 1024) + b"}")
    assert status == 413 and "limit" in body["error"]


def test_unknown_session_tab_and_path(client, session):
    status, body, _ = client.get("/api/sessions/nosuchsession/state")
    assert status == 404 and "reload the page" in body["error"]
    status, body, _ = client.post(f"/api/sessions/{session}/cnn/play")
    assert status == 404
    status, body, _ = client.get("/static/../../setup.py")
    assert status == 404
    status, body, _ = client.get(f"/api/sessions/{session}/mlp/play")
    assert status == 405


def test_step_trains_exactly_one_epoch_and_reset_starts_again(client, session):
    client.settings(session, "mlp", {"dataset": "xor", "samples": 200, "batch_size": 10})
    first = client.step_epoch(session, "mlp")
    assert first["steps"] == 10 and first["epoch"] == 1.0  # 100 training points / 10
    second = client.step_epoch(session, "mlp")
    assert second["steps"] == 20
    assert second["network"]["layers"] != first["network"]["layers"]
    reset = client.action(session, "mlp", "reset")
    assert reset["steps"] == 0
    # the same seed gives the same initial weights and the same first epoch
    again = client.step_epoch(session, "mlp")
    assert again["network"]["layers"] == first["network"]["layers"]
    assert again["history"]["train_loss"] == first["history"]["train_loss"]


def test_each_step_press_adds_an_epoch(client, session):
    client.settings(session, "rnn", {"batch_size": 1, "steps": 10})  # 2000 steps an epoch
    for _ in range(3):  # pressed again while the first epoch is still training
        state = client.action(session, "rnn", "step")
    assert state["pending_steps"] > 2 * 2000  # three epochs asked for, not one
    assert client.action(session, "rnn", "pause")["pending_steps"] == 0


def test_play_and_pause(client, session):
    client.settings(session, "mlp", {"dataset": "gaussians", "optimizer": "adam"})
    assert client.action(session, "mlp", "play")["running"]
    client.wait_for(session, "mlp", lambda state: state["steps"] >= 30)
    paused = client.action(session, "mlp", "pause")
    assert not paused["running"]
    # after Pause returns no chunk trains any more: the steps stay where they are
    assert client.state(session, "mlp")["steps"] == paused["steps"]
    assert client.state(session, "mlp")["steps"] == paused["steps"]


def test_live_controls_act_on_the_running_optimizer(client, server, session):
    client.settings(session, "mlp", {"optimizer": "sgd"})
    status, body, _ = client.settings(session, "mlp", {"lr": 0.5, "l2": 0.02})
    assert status == 200 and not body["rebuilt"]
    lab = server.store.get(session).labs["mlp"]
    assert lab.optimizer.param_groups[0]["lr"] == 0.5
    assert lab.optimizer.param_groups[0]["weight_decay"] == 0.02


def _upload(client, session, content: bytes, name: str = "points.csv"):
    return client.post(f"/api/sessions/{session}/mlp/upload?name={name}", body=content,
                       headers={"Content-Type": "text/csv"})


def _csv(rows, header="a,b,label") -> bytes:
    return (header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows)
            + "\n").encode()


def test_upload_of_a_three_class_csv(client, server, session):
    generator = np.random.default_rng(0)
    names = ["setosa", "versicolor", "virginica"]
    rows = [(round(x, 3), round(y, 3), names[i % 3])
            for i, (x, y) in enumerate(generator.normal(size=(60, 2)) * 5 + 100)]
    status, body, _ = _upload(client, session, _csv(rows))
    assert status == 200, body
    state = body["state"]
    assert state["settings"]["dataset"] == "upload"
    assert state["data"]["classes"] == names and state["data"]["feature_names"] == ["a", "b"]
    assert state["data"]["source"] == "points.csv"
    assert state["boundary"]["kind"] == "classes"
    assert len(state["data"]["train"]) + len(state["data"]["test"]) == 60
    # uploaded features are standardised on the training part, as annie train does
    assert state["input_transform"] is not None
    status, body, _ = client.settings(session, "mlp", {"loss": "hinge"})
    assert status == 400 and body["control"] == "loss" and "two classes" in body["error"]
    # the file lives in the session's temporary folder only, and goes with the session
    folder = server.store.get(session).folder
    assert os.path.isfile(os.path.join(folder, "upload.csv"))
    client.post(f"/api/sessions/{session}/close")
    assert not os.path.exists(folder)


def test_upload_of_a_regression_target_switches_to_a_regression_loss(client, session):
    rows = [(i / 10, (i % 7) / 3, i * 0.37) for i in range(40)]
    status, body, _ = _upload(client, session, _csv(rows, "x,y,z"))
    assert status == 200, body
    assert body["state"]["data"]["task"] == "regression"
    assert body["state"]["settings"]["loss"] == "mse"
    assert body["state"]["boundary"]["kind"] == "regression"
    status, body, _ = client.settings(session, "mlp", {"loss": "cross_entropy"})
    assert status == 400 and "numeric target" in body["error"]


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"a,b,label\n1,2,0\n1,x,1\n" + b"3,4,1\n" * 20, "line 3, column 'b': cannot read 'x'"),
    (b"a,b,c,label\n" + b"1,2,3,0\n" * 20, "expected three columns"),
    (b"a,b,label\n" + b"1,2,0\n" * 5, "at least 10"),
    (b"a,b,label\n" + b"1,2,7\n" * 20, "one class only"),
    (b"a,b,label\n" + b"1,2\n" * 20, "has 2 fields, expected 3"),
    (b"\xff\xfe\x00\x01garbage" * 10, "UTF-8"),
    (b"a,b,label\n" + b"1,2,0\n1,3,1\n" * (MAX_UPLOAD_ROWS // 2 + 1), "rows; the playground"),
    (b"a,b,label\n" + b"nan,2,0\n1,3,1\n" * 10, "NaN"),
])
def test_bad_uploads_get_the_loaders_message(client, server, session, content, message):
    status, body, _ = _upload(client, session, content, name="mine.csv")
    assert status == 400, body
    assert message in body["error"] and body["control"] == "dataset"
    folder = server.store.get(session).folder
    assert folder not in body["error"]  # the temporary path is never shown
    assert client.state(session, "mlp")["settings"]["dataset"] == "circle"


def test_upload_over_the_size_limit_is_refused_unread(client, session):
    content = b"a,b,label\n" + b"1.000000,2.000000,0\n" * (MAX_UPLOAD_BYTES // 20 + 10)
    assert len(content) > MAX_UPLOAD_BYTES
    status, body, _ = _upload(client, session, content)
    assert status == 413 and f"{MAX_UPLOAD_BYTES:,}" in body["error"]
    status, body, _ = client.post(f"/api/sessions/{session}/mlp/upload", body=None)
    assert status in (400, 411)


def test_two_sessions_are_independent_and_train_side_by_side(client, server):
    first, _ = client.new_session()
    second, _ = client.new_session()
    alone, _ = client.new_session()
    try:
        client.settings(first, "mlp", {"dataset": "xor", "optimizer": "adam", "dropout": 0.2})
        client.settings(alone, "mlp", {"dataset": "xor", "optimizer": "adam", "dropout": 0.2})
        client.settings(second, "rnn", {"cell": "gru", "steps": 10})
        assert client.state(second, "mlp")["settings"]["dataset"] == "circle"
        assert client.state(first, "rnn")["settings"]["cell"] == "rnn"
        # the second session trains (its RNN and MLP) while the first takes one epoch
        client.action(second, "rnn", "play")
        client.action(second, "mlp", "play")
        stepped = client.step_epoch(first, "mlp")
        client.wait_for(second, "rnn", lambda state: state["steps"] > 0)
        client.action(second, "rnn", "pause")
        client.action(second, "mlp", "pause")
        # ... and ends exactly where a session training alone ends: each session draws its
        # own random numbers (dropout here), whatever the others do meanwhile
        assert client.step_epoch(alone, "mlp")["network"] == stepped["network"]
        client.action(first, "mlp", "reset")
        assert client.state(second, "mlp")["steps"] > 0
    finally:
        for session_id in (first, second, alone):
            client.post(f"/api/sessions/{session_id}/close")


def test_the_server_answers_while_sessions_train(client, server):
    ids = [client.new_session()[0] for _ in range(2)]
    try:
        for session_id in ids:
            client.settings(session_id, "rnn", {"steps": 60, "hidden_size": 64})
            client.action(session_id, "rnn", "play")
            client.action(session_id, "mlp", "play")
        failures = []

        def ask(index):
            for _ in range(10):
                for path in ("/api/options", f"/api/sessions/{ids[index % 2]}/state", "/"):
                    status, _, _ = client.request("GET", path, raw=True)
                    if status != 200:
                        failures.append((path, status))
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        status, body, _ = client.settings(ids[0], "mlp", {"lr": 0.01})  # a change mid-training
        assert status == 200 and body["state"]["running"]
        for session_id in ids:  # and both sessions' RNNs made progress meanwhile
            client.wait_for(session_id, "rnn", lambda state: state["steps"] > 0)
    finally:
        for session_id in ids:
            client.post(f"/api/sessions/{session_id}/close")


def test_event_stream_delivers_snapshots(client, server, session):
    import http.client
    import time
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    connection.request("GET", f"/api/sessions/{session}/events")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"

    def next_state() -> dict:
        deadline = time.monotonic() + 120  # a stream that stops sending fails the test
        while time.monotonic() < deadline:
            line = response.fp.readline().decode()
            if line.startswith("data: "):
                return json.loads(line[6:])
        raise AssertionError("no event")
    seen = {next_state()["lab"], next_state()["lab"]}  # the current snapshot of each lab first
    assert seen == {"mlp", "rnn"}
    stepped = client.action(session, "mlp", "step")
    state = next_state()
    while state["lab"] != "mlp" or state["version"] < stepped["version"]:
        state = next_state()  # the stream sends the newest snapshot, never an older one
    assert state["version"] >= stepped["version"]
    connection.close()


def test_foreign_hosts_and_origins_are_refused(client, session):
    status, body, _ = client.get("/api/options", headers={"Host": "evil.example:80"})
    assert status == 403 and "Host" in body["error"]
    status, body, _ = client.post(f"/api/sessions/{session}/mlp/play",
                                  headers={"Origin": "http://evil.example"})
    assert status == 403
    assert not client.state(session, "mlp")["running"]
    host = f"{client.host}:{client.port}"
    status, _, _ = client.post(f"/api/sessions/{session}/mlp/pause",
                               headers={"Origin": f"http://{host}"})
    assert status == 200


def test_an_unexpected_failure_is_one_line_not_a_traceback(client, session, monkeypatch,
                                                          capsys):
    from annie.playground import export

    def broken(lab, epochs=None):
        raise RuntimeError("something inside broke")
    monkeypatch.setattr(export, "python_code", broken)
    status, body, _ = client.get(f"/api/sessions/{session}/mlp/export/code")
    assert status == 500
    assert body["error"] == "internal error (RuntimeError); see the server's log"
    assert "Traceback" in capsys.readouterr().err  # logged on the server's side only


def test_a_tab_that_drops_its_connection_leaves_no_traceback_in_the_log(server, capsys):
    import socket
    import struct
    import time
    capsys.readouterr()
    for _ in range(3):
        connection = socket.create_connection(server.server_address[:2], timeout=30)
        host = "%s:%d" % server.server_address[:2]
        connection.sendall(f"GET /api/options HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert connection.recv(12) == b"HTTP/1.1 200"  # kept alive: the server reads on ...
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # ... and the browser resets the connection (a reload, a closed tab)
    time.sleep(0.5)  # the server's handler threads meet the reset
    assert "Traceback" not in capsys.readouterr().err
    try:  # and whatever the timing, the server's error hook stays quiet about a reset
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_a_diverging_run_warns_nothing_on_the_servers_log(client, session):
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # NumPy's overflow warnings would be caught here
        client.settings(session, "mlp", {"dataset": "gaussians", "activation": "identity",
                                         "lr": 10.0})
        client.action(session, "mlp", "play")
        state = client.wait_for(session, "mlp", lambda state: not state["running"])
        client.get(f"/api/sessions/{session}/mlp/export/model", raw=True)
    assert "lower the learning rate" in state["message"]  # said on the page instead
    assert [str(warning.message) for warning in caught] == []


def test_head_and_unsupported_methods_are_answered_in_json(client, server, session):
    status, body, headers = client.request("HEAD", "/", raw=True)
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(server.static["index.html"])
    status, body, headers = client.request("HEAD", "/static/app.js", raw=True)
    assert status == 200 and body == b"" and headers["Content-Type"].startswith("text/javascript")
    for method, path, allowed in [("PUT", "/api/sessions", "POST"),
                                  ("DELETE", f"/api/sessions/{session}/state", "GET, HEAD"),
                                  ("PATCH", f"/api/sessions/{session}/mlp/settings", "POST"),
                                  ("OPTIONS", "/", "GET, HEAD"),
                                  ("POST", "/api/options", "GET, HEAD")]:
        status, body, headers = client.request(method, path)
        assert status == 405 and headers["Allow"] == allowed, (method, path, headers)
        assert body["error"] == f"{method} is not allowed on {path}"
    status, body, _ = client.request("DELETE", "/no/such/page")
    assert status == 404 and body["error"] == "no such page or API: /no/such/page"


def test_too_many_sessions_are_refused(server):
    with running_server(max_sessions=2) as small:
        client = Client(small)
        client.new_session()
        client.new_session()
        status, body, _ = client.post("/api/sessions")
        assert status == 503 and "2 playground sessions are open" in body["error"]


def test_a_session_whose_page_is_gone_gives_its_place_to_a_new_one():
    import http.client
    import time
    with running_server(max_sessions=2) as small:
        small.store.orphan_seconds = 0.2
        client = Client(small)
        open_page, _ = client.new_session()  # a page: its event stream stays open
        stream = http.client.HTTPConnection(*small.server_address[:2], timeout=30)
        stream.request("GET", f"/api/sessions/{open_page}/events")
        response = stream.getresponse()
        assert response.fp.readline().startswith(b"event: state")
        gone, _ = client.new_session()  # a page that never opened its stream (or closed)
        time.sleep(0.3)  # not heard from for longer than orphan_seconds
        newest, _ = client.new_session()  # the cap is reached: the orphan makes room
        assert client.get(f"/api/sessions/{gone}/state")[0] == 404
        assert client.get(f"/api/sessions/{open_page}/state")[0] == 200
        status, body, _ = client.post("/api/sessions")  # the others are in use: refused
        assert status == 503 and "2 playground sessions are open" in body["error"]
        stream.close()


def test_training_pauses_when_the_page_is_gone(client, session, monkeypatch):
    from annie.playground import sessions
    monkeypatch.setattr(sessions, "UNSEEN_PAUSE", 0.0)  # not heard from: at once
    client.action(session, "mlp", "play")
    client.wait_for(session, "mlp", lambda state: not state["running"])


def test_an_unexpected_failure_in_training_pauses_with_a_message(client, server, session,
                                                                 monkeypatch, capsys):
    lab = server.store.get(session).labs["mlp"]

    def broken():
        raise RuntimeError("a bug")
    monkeypatch.setattr(lab, "train_step", broken)
    client.action(session, "mlp", "play")
    state = client.wait_for(session, "mlp", lambda state: not state["running"])
    assert state["message"].startswith("training stopped: internal error (RuntimeError)")
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.undo()
    assert client.step_epoch(session, "mlp")["steps"] > 0  # the worker lives on


def test_the_annie_lock_serves_requests_first_then_workers_in_turn():
    import time
    from annie.playground.sessions import TurnLock
    lock, order = TurnLock(), []
    lock.acquire(urgent=False)  # a worker holds it ...

    def take(name, urgent):
        lock.acquire(urgent=urgent)
        order.append(name)
        lock.release()
    threads = []
    # ... while two workers and then a request ask for it, in this order
    for name, urgent in (("worker 2", False), ("worker 3", False), ("request", True)):
        threads.append(threading.Thread(target=take, args=(name, urgent)))
        threads[-1].start()
        while sum(map(len, lock._waiting.values())) < len(threads):
            time.sleep(0.001)
    assert lock.requested()
    lock.release()
    for thread in threads:
        thread.join()
    assert order == ["request", "worker 2", "worker 3"] and not lock.requested()
