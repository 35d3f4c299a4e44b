"""Trials whose worker stopped without finishing them (``kill -9``, power loss, out of memory).

Every running trial records a heartbeat; a trial silent for two heartbeat intervals is failed
by the next worker that starts a trial (Optuna's ``fail_stale_trials``), and its parameters are
tried once more. That works across machines but takes its time (20 seconds by default), so a
rerun started at once after a crash would still count the dead trial as running. On the
machine where the trial ran, annie knows better at once: each trial records its worker's
machine (host name, boot and process namespace) and process id, and a trial of this machine
whose process is gone is failed right away, and retried the same way.
"""
from __future__ import annotations

import copy
import os
import socket

from .studies import NOTE

WORKER = "worker"     # user attribute: "host:pid" of the process running the trial
MACHINE = "machine"   # user attribute: :func:`machine_id` of that process


def machine_id() -> str | None:
    """Who can judge this machine's process ids: host name, boot id and pid namespace
    (Linux); None where they cannot be read."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{socket.gethostname()}/{boot}/{namespace}"


def worker_label() -> str:
    """"host:pid" of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def mark_worker(trial) -> None:
    """Record on ``trial`` which process runs it (a retried trial starts with the failed
    one's attributes: its worker, machine and note are replaced)."""
    trial.set_user_attr(WORKER, worker_label())
    machine = machine_id()
    if machine is not None or MACHINE in trial.user_attrs:
        trial.set_user_attr(MACHINE, machine)
    if trial.user_attrs.get(NOTE):
        trial.set_user_attr(NOTE, "")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # another user's process
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def fail_dead_local_trials(study) -> list[int]:
    """Fail the running trials of this machine whose process is gone, note why, and hand them
    to the storage's stale-trial callback (which retries their parameters once), as Optuna
    does for a trial whose heartbeat stopped. Returns their numbers."""
    import optuna
    machine = machine_id()
    storage = study._storage
    if machine is None or isinstance(storage, optuna.storages.InMemoryStorage):
        return []   # (an in-memory study lives in one process only)
    running = optuna.trial.TrialState.RUNNING
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(running,)):
        worker = trial.user_attrs.get(WORKER, "")
        pid = worker.rpartition(":")[2]
        if trial.user_attrs.get(MACHINE) != machine or not pid.isdigit() or \
                int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, NOTE,
                                        f"its worker {worker} stopped (the process is gone)")
            if storage.set_trial_state_values(trial._trial_id,
                                              state=optuna.trial.TrialState.FAIL):
                failed.append(trial._trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass   # another process failed it first
    callback = getattr(storage, "get_heartbeat_stale_trial_callback", lambda: None)()
    for trial_id in failed:
        if callback is not None:
            callback(study, copy.deepcopy(storage.get_trial(trial_id)))
    return [storage.get_trial(trial_id).number for trial_id in failed]
