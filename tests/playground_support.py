"""A live playground server in a background thread and a small HTTP client for the tests, and
the fixtures of a test module's server (``server``), a client of it and a fresh session."""
from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time

import pytest

from annie.playground.server import PlaygroundServer


@contextlib.contextmanager
def running_server(**options):
    """A PlaygroundServer on a free loopback port, serving in a thread; shut down after."""
    server = PlaygroundServer("127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Client:
    """JSON requests to one server; ``request`` returns (status, decoded body, headers)."""

    def __init__(self, server: PlaygroundServer):
        self.host, self.port = server.server_address[:2]

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                raw: bool = False):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            if raw:
                return response.status, data, dict(response.getheaders())
            return response.status, json.loads(data or b"null"), dict(response.getheaders())
        finally:
            connection.close()

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs):
        return self.request("POST", path, body=body, **kwargs)

    def new_session(self) -> tuple[str, dict]:
        status, body, _ = self.post("/api/sessions")
        assert status == 200, body
        return body["session"], body["states"]

    def state(self, session: str, lab: str) -> dict:
        status, body, _ = self.get(f"/api/sessions/{session}/state")
        assert status == 200, body
        return body[lab]

    def settings(self, session: str, lab: str, changes: dict):
        return self.post(f"/api/sessions/{session}/{lab}/settings", changes)

    def action(self, session: str, lab: str, action: str) -> dict:
        status, body, _ = self.post(f"/api/sessions/{session}/{lab}/{action}")
        assert status == 200, body
        return body["state"]

    def step_epoch(self, session: str, lab: str) -> dict:
        """Press Step and wait until the worker has trained the epoch (no time limit asserted;
        a stuck worker fails after a generous wait)."""
        before = self.action(session, lab, "step")
        wanted = before["steps"]  # the state right after Step: training has not started yet
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = self.state(session, lab)
            if not state["running"] and not state["pending_steps"] and state["steps"] > wanted:
                return state
            time.sleep(0.02)
        raise AssertionError(f"Step did not finish: {state['steps']} steps")

    def wait_for(self, session: str, lab: str, predicate, limit: float = 120.0) -> dict:
        """Poll the lab's state until ``predicate(state)`` holds (fails after ``limit`` s)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            state = self.state(session, lab)
            if predicate(state):
                return state
            time.sleep(0.02)
        raise AssertionError(f"condition not reached; last state: steps={state['steps']}")


@pytest.fixture(scope="module")
def server():
    """One live server for the test module."""
    with running_server() as live:
        yield live


@pytest.fixture()
def client(server):
    return Client(server)


@pytest.fixture()
def session(client):
    """A new session, closed after the test."""
    session_id, _ = client.new_session()
    yield session_id
    client.post(f"/api/sessions/{session_id}/close")
