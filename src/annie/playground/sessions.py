"""Sessions: one per browser tab, each with its two labs and its own worker thread.

The worker trains a running lab in chunks of about CHUNK_SECONDS and publishes a snapshot (the
JSON the page draws) every ``PUBLISH_EVERY`` seconds, or at once after a command. Request
threads only read published snapshots, so the server answers while training runs.

annie keeps its random generator process-wide (``no_grad`` holds per thread). So every
call into annie here on a lab's own objects (training chunks, rebuilding, snapshots, saving)
holds ``ANNIE_LOCK`` (through ``annie_turn``), and each lab swaps in its own random state
(``Lab.random_state``). The workers take turns in the order they asked (fair slices: a chunk
each), and a request (a control, Pause, an export) goes before every waiting worker; a worker
also ends its chunk at the next mini-batch boundary when a request is waiting. Measuring the
losses for a snapshot (for a recurrent net also the gradient at every time step) runs on a copy
of the model without the lock (it draws no random numbers), and a control never waits for it.
So a request waits for one mini-batch at most, whatever the other sessions train, and the
playground bounds a mini-batch's work (``controls.WORKSPACE_LIMIT``).
"""
from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import tempfile
import sys
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager

import numpy as np

from ..errors import AnnieError
from . import export
from .lab import Lab
from .mlp_lab import MlpLab
from .rnn_lab import RnnLab
from .toy_data import read_upload

class TurnLock:
    """A lock granted in the order it was asked for, requests before workers. (Python's Lock
    is not fair: a worker that releases it and asks again at once can keep a request waiting
    for seconds.)"""

    def __init__(self):
        self._turns = threading.Condition(threading.Lock())
        self._waiting = {True: deque(), False: deque()}  # urgent (requests), background
        self._held = False

    def _next(self):
        queue = self._waiting[True] or self._waiting[False]
        return queue[0] if queue else None

    def acquire(self, urgent: bool = True) -> None:
        """Wait for the lock: after the urgent callers that asked before, and (when not
        ``urgent``) after every urgent caller and the background callers that asked before."""
        ticket = object()
        with self._turns:
            queue = self._waiting[urgent]
            queue.append(ticket)
            self._turns.wait_for(lambda: not self._held and self._next() is ticket)
            queue.popleft()
            self._held = True

    def release(self) -> None:
        """Hand the lock to the next caller in line."""
        with self._turns:
            self._held = False
            self._turns.notify_all()

    def requested(self) -> bool:
        """Whether an urgent caller (a request) is waiting: the holder should let go soon."""
        return bool(self._waiting[True])

    def __enter__(self) -> "TurnLock":
        self.acquire()
        return self

    def __exit__(self, *error) -> None:
        self.release()


ANNIE_LOCK = TurnLock()
#: one measurement at a time beside the training (the cores are shared with the requests)
MEASURE_LOCK = TurnLock()


@contextmanager
def annie_turn(background: bool = False):
    """Hold ANNIE_LOCK for a call into annie, with NumPy's floating-point warnings off: a run
    that diverges is reported on the page (a message, the non-finite numbers as null), not as
    warnings on the server's terminal. ``background``: a worker's turn, which waits for every
    request (see TurnLock)."""
    ANNIE_LOCK.acquire(urgent=not background)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        ANNIE_LOCK.release()


CHUNK_SECONDS = 0.05
PUBLISH_EVERY = {"mlp": 0.2, "rnn": 0.5}  # seconds between snapshots while training
MEASURE_SHARE = 0.2  # at most this share of the training time goes to measuring for snapshots
UNSEEN_PAUSE = 120.0  # training pauses when the page has not been heard from for this long
ACTIONS = ("play", "pause", "step", "reset")


class SessionError(AnnieError):
    """A request names a session (or tab, or action) that does not exist."""


class SessionLimitError(AnnieError):
    """Too many sessions are open to start another."""


class Session:
    """A browser tab's labs, their published snapshots and the worker thread training them."""

    def __init__(self, session_id: str):
        self.id = session_id
        self.folder = tempfile.mkdtemp(prefix="annie-playground-")  # uploads and exports
        for name in ("mlp", "rnn"):  # each lab's data files for annie train's recipes
            os.mkdir(os.path.join(self.folder, name))
        with annie_turn():
            self.labs: dict[str, Lab] = {
                "mlp": MlpLab(folder=os.path.join(self.folder, "mlp")),
                "rnn": RnnLab(folder=os.path.join(self.folder, "rnn"))}
        self.changed = threading.Condition()
        self.versions = {name: 0 for name in self.labs}
        self.states: dict[str, str] = {}
        self.pending = {name: 0 for name in self.labs}  # steps left of a Step command
        self.unmeasured = {name: False for name in self.labs}  # paused before a measurement
        self.published_at = {name: 0.0 for name in self.labs}
        self.publish_cost = {name: 0.0 for name in self.labs}  # seconds a measured snapshot took
        self.closed = False
        self.last_seen = time.monotonic()
        self.streams = 0  # event streams open to the page (a page that is there has one)
        with annie_turn():
            for name in self.labs:
                self._publish(name)
        self.worker = threading.Thread(target=self._work, name=f"annie-playground-{session_id[:8]}",
                                       daemon=True)
        self.worker.start()

    # ----- requests --------------------------------------------------------------------------
    def lab(self, name: str) -> Lab:
        """The lab called ``name`` ("mlp" or "rnn")."""
        if name not in self.labs:
            raise SessionError(f"no tab {name!r}; the tabs are {', '.join(self.labs)}")
        return self.labs[name]

    def configure(self, name: str, changes) -> bool:
        """Change controls of a lab (see ``Lab.configure``); returns whether it was rebuilt."""
        lab = self.lab(name)
        with annie_turn():
            rebuilt = False
            try:
                rebuilt = lab.configure(changes)
                if rebuilt:
                    self.pending[name] = 0
            finally:  # a change waits for no measurement (the worker measures a new model)
                self._publish(name, measure=False)
                self.unmeasured[name] = not lab.measured
        return rebuilt

    def command(self, name: str, action: str) -> None:
        """Play, Pause, Step (one more epoch each press) or Reset a lab."""
        lab = self.lab(name)
        if action not in ACTIONS:
            raise SessionError(f"unknown action {action!r}; the actions are {', '.join(ACTIONS)}")
        with annie_turn():
            if action == "play":
                lab.running, lab.message, self.pending[name] = True, None, 0
            elif action == "pause":
                lab.running, self.pending[name] = False, 0
            elif action == "step":  # pressed again before the last epoch is done: one more
                lab.running, lab.message = False, None
                self.pending[name] += lab.steps_per_epoch
            else:
                lab.rebuild()
                self.pending[name] = 0
            # the worker measures the paused weights or the new model (a recurrent net's
            # gradient at every time step can take a second): the request answers at once
            self._publish(name, measure=False)
            self.unmeasured[name] = not lab.measured
        with self.changed:
            self.changed.notify_all()

    def upload(self, content: bytes, shown_name: str) -> None:
        """Use an uploaded CSV (already size-checked) in the MLP lab; the file lives in the
        session's temporary folder only."""
        path = os.path.join(self.folder, "upload.csv")
        with open(path, "wb") as handle:
            handle.write(content)
        with annie_turn():
            try:
                self.labs["mlp"].set_upload(read_upload(path, shown_name))
                self.pending["mlp"] = 0
            finally:
                self._publish("mlp")

    def state(self, name: str) -> str:
        """The last published snapshot of a lab, as JSON text."""
        self.lab(name)
        with self.changed:
            return self.states[name]

    def wait(self, seen: dict, timeout: float) -> dict:
        """Snapshots newer than the versions in ``seen`` ({lab: version}), waiting up to
        ``timeout`` seconds for one; {} on timeout or when the session closes."""
        with self.changed:
            self.changed.wait_for(lambda: self.closed or any(
                self.versions[name] != seen.get(name) for name in self.labs), timeout)
            if self.closed:
                return {}
            return {name: (self.versions[name], self.states[name]) for name in self.labs
                    if self.versions[name] != seen.get(name)}

    def touch(self) -> None:
        """Note that the page is still there (sessions idle too long are closed)."""
        self.last_seen = time.monotonic()

    @contextmanager
    def streaming(self):
        """Count an open event stream while the block runs (see ``SessionStore.create``)."""
        with self.changed:
            self.streams += 1
        try:
            yield
        finally:
            with self.changed:
                self.streams -= 1
            self.touch()  # the page may reconnect: its time to do so starts now

    def orphaned(self, now: float, grace: float) -> bool:
        """No page holds an event stream open, and none has called for ``grace`` seconds."""
        return self.streams == 0 and now - self.last_seen > grace

    def close(self) -> None:
        """Stop the worker and delete the temporary folder."""
        with self.changed:
            self.closed = True
            self.changed.notify_all()
        if threading.current_thread() is not self.worker:
            self.worker.join(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)

    # ----- worker ------------------------------------------------------------------------------
    def _publish(self, name: str, measure: bool = True, cost: float | None = None) -> None:
        """Snapshot a lab (the caller holds ANNIE_LOCK) and wake the waiting streams;
        ``measure``: measure the losses (and gradients) of the current weights first, else
        show the last measured ones; ``cost``: the seconds the worker just spent measuring
        them (see ``_measure``). How long measuring took sets the pace of snapshots while
        training (see ``_due``)."""
        started = time.monotonic()
        state = self.labs[name].snapshot(measure)
        measured = measure or cost is not None
        if measured:
            self.publish_cost[name] = time.monotonic() - started if cost is None else cost
            self.unmeasured[name] = False
        state["export"] = export.problems(self.labs[name])
        state["pending_steps"] = self.pending[name]
        with self.changed:
            self.versions[name] += 1
            state["version"] = self.versions[name]
            self.states[name] = json.dumps(_finite(state), allow_nan=False)
            if measured:
                self.published_at[name] = time.monotonic()
            self.changed.notify_all()

    def _busy(self) -> list[str]:
        return [name for name, lab in self.labs.items() if lab.running or self.pending[name] > 0]

    def _unmeasured(self) -> list[str]:
        return [name for name, waiting in self.unmeasured.items() if waiting]

    def _work(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.closed or self._busy() or self._unmeasured(),
                                      timeout=1.0)
                if self.closed:
                    return
                busy = self._busy()
            if busy and time.monotonic() - self.last_seen > UNSEEN_PAUSE:
                for name in busy:  # the tab is gone (its event stream would touch us)
                    self.command(name, "pause")
                continue
            for name in self._unmeasured():  # first: a new model's curve starts at step 0
                self._measure(name)
            for name in busy:
                self._train_chunk(name)

    def _train_chunk(self, name: str) -> None:
        """Train a lab for about CHUNK_SECONDS, ending at the first mini-batch boundary where a
        request waits for the lock (a control takes effect between two mini-batches)."""
        lab = self.labs[name]
        with annie_turn(background=True):
            if self.closed or not (lab.running or self.pending[name] > 0):
                return
            stepping = self.pending[name] > 0 and not lab.running
            try:
                taken = lab.train_for(CHUNK_SECONDS, self.pending[name] if stepping else None,
                                      stop=lambda: ANNIE_LOCK.requested() or self.closed)
            except AnnieError as error:  # e.g. a shape problem in a user's data
                lab.running, lab.message, taken = False, str(error), 0
                self.pending[name] = 0
            except Exception as error:  # noqa: BLE001 (logged; the worker must live on)
                traceback.print_exc(file=sys.stderr)
                lab.running, taken = False, 0
                lab.message = f"training stopped: internal error ({type(error).__name__}); " \
                              f"see the server's log"
                self.pending[name] = 0
            if stepping:
                self.pending[name] = max(0, self.pending[name] - max(taken, 1))
                if lab.message:
                    self.pending[name] = 0
            if self._due(name) or not lab.running and self.pending[name] == 0:
                self.unmeasured[name] = True  # measured and published next (see _work)

    def _measure(self, name: str) -> None:
        """Measure a lab's current weights on a copy, without ANNIE_LOCK (a recurrent net's
        gradient at every time step can take a second: requests and the other sessions go on
        meanwhile), then publish the snapshot."""
        lab = self.labs[name]
        with annie_turn(background=True):
            if self.closed or not self.unmeasured[name]:
                return
            twin = lab.measured_copy()
        started, measured = time.monotonic(), None
        if twin is not None:
            try:
                with MEASURE_LOCK, np.errstate(all="ignore"):
                    measured = twin.measure()
            except Exception:  # noqa: BLE001 (logged; the page keeps the last measurement)
                traceback.print_exc(file=sys.stderr)
        cost = time.monotonic() - started
        with annie_turn(background=True):
            if self.closed:
                return
            if measured is not None:
                lab.adopt(twin, measured)
            self._publish(name, measure=False, cost=cost)

    def _due(self, name: str) -> bool:
        """Time for a snapshot: PUBLISH_EVERY seconds since the last, and at least
        1 / MEASURE_SHARE times what measuring costs (the lock is shared by every session)."""
        wait = max(PUBLISH_EVERY[name], self.publish_cost[name] / MEASURE_SHARE)
        return time.monotonic() - self.published_at[name] >= wait


def _finite(value):
    """``value`` with NumPy scalars as Python numbers and NaN/inf as None (JSON has neither)."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


class SessionStore:
    """The open sessions, at most ``max_sessions``.

    A session the page has not contacted for ``idle_seconds`` is closed when the next one is
    created. When the store is full, the session longest out of contact among the orphaned
    ones (no event stream open and no request for ``orphan_seconds``: its tab was closed
    without saying so, e.g. a killed browser) gives its place to the new one. (A hidden tab
    closes its stream but calls at least once a minute, the most a browser's throttled timers
    allow.)"""

    def __init__(self, max_sessions: int = 16, idle_seconds: float = 1800.0,
                 orphan_seconds: float = 150.0):
        self.max_sessions, self.idle_seconds = max_sessions, idle_seconds
        self.orphan_seconds = orphan_seconds
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    def create(self) -> Session:
        """A new session with a random id; SessionLimitError when too many are open."""
        now = time.monotonic()
        with self.lock:
            idle = [key for key, session in self.sessions.items()
                    if now - session.last_seen > self.idle_seconds]
            expired = [self.sessions.pop(key) for key in idle]
            orphans = sorted((session.last_seen, key) for key, session in self.sessions.items()
                             if session.orphaned(now, self.orphan_seconds))
            if len(self.sessions) >= self.max_sessions and orphans:
                expired.append(self.sessions.pop(orphans[0][1]))
            full = len(self.sessions) >= self.max_sessions
        for session in expired:
            session.close()
        if full:
            count = self.max_sessions
            raise SessionLimitError(f"{count} playground session{'s are' if count != 1 else ' is'}"
                                    f" open (one per browser tab); close a playground tab and "
                                    f"reload this page")
        session = Session(secrets.token_urlsafe(16))
        with self.lock:
            self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session:
        """The open session ``session_id``; SessionError when there is none."""
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise SessionError("this page's session has ended (the server restarted or the "
                               "tab was idle); reload the page")
        session.touch()
        return session

    def close(self, session_id: str) -> None:
        """Close one session (no error if it is already gone)."""
        with self.lock:
            session = self.sessions.pop(session_id, None)
        if session is not None:
            session.close()

    def close_all(self) -> None:
        """Close every session (server shutdown)."""
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.close()
