"""Running trials in one process: the objective (configure, train, score), the ``fit``
callback that reports each epoch's metric to Optuna so the pruner can stop a poor trial, and
the loop that stops when the study holds ``n_trials`` finished trials.

The study's total counts trials that are finished (complete or pruned) or running in any
process, so several workers sharing one study end with exactly ``n_trials`` finished trials
(a worker that finds the total reached after a trial has started hands that trial back as
failed with a note, instead of running it).
"""
from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import warnings

from ..errors import AnnieError, ConfigError, NumericalError
from ..train.callbacks import Callback
from . import bridge, grid, space, stopped, studies
from .spec import TuneSpec

NOTE = studies.NOTE  # the user attribute that says why a trial stopped early


class _Surplus(Exception):
    """A trial started after the study reached its total (two workers asked at once)."""


class _QuietFailures(logging.Filter):
    """Keep Optuna's log free of the "trial failed" warnings (with a traceback each) of trials
    that annie reports itself in one line: a surplus trial (its note says it), a Ctrl-C, an
    annie error (e.g. a metric a trial does not report) and a failed database."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, (_Surplus, KeyboardInterrupt, AnnieError)) or \
                studies.is_storage_error(error):
            return False
        message = record.getMessage()
        return "_Surplus" not in message and not message.endswith("failed with value None.")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler, ``kill``, ``timeout``) stops a search as Ctrl-C does; the
    ``annie`` command then exits with 143 (128 + SIGTERM) instead of 130."""

    exit_code = 128 + signal.SIGTERM


def signal_exception(signum) -> KeyboardInterrupt:
    """The exception that signal ``signum`` stops a search with."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


class InterruptCallback(Callback):
    """Turn a Ctrl-C (or SIGTERM) noticed by :func:`interrupts_between_batches` into
    KeyboardInterrupt after the current batch: the trial then ends (failed) while no database
    work is under way, so the storage is never left in the middle of a write."""

    def __init__(self, interrupts: dict):
        self.interrupts = interrupts

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Raise KeyboardInterrupt (Terminated for SIGTERM) once a signal has arrived."""
        if self.interrupts["count"]:
            raise signal_exception(self.interrupts["signal"])


@contextlib.contextmanager
def interrupts_between_batches():
    """While trials run, a first SIGINT (Ctrl-C) or SIGTERM only sets a flag that training
    checks after each batch; a second one interrupts at once. Yields {"count": signals so
    far, "signal": the first one}. A signal ignored when the search starts (a background
    job's Ctrl-C) stays ignored."""
    interrupts = {"count": 0, "signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return

    def note(signum, frame):
        interrupts["count"] += 1
        interrupts["signal"] = interrupts["signal"] or signum
        if interrupts["count"] > 1:
            raise signal_exception(signum)

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, note)
    try:
        yield interrupts
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the block, so a terminated
    ``annie tune`` stops its workers and writes its reports as Ctrl-C does."""
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or \
            previous is signal.SIG_IGN:
        yield
        return

    def stop(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class PruningCallback(Callback):
    """Report ``metric`` after every epoch to the Optuna ``trial``; when the pruner says the
    trial is worse than earlier ones at this epoch, stop it (``optuna.TrialPruned``). A
    metric that is NaN or infinite (a diverged run) stops the trial the same way."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Report the epoch's metric; raise ``TrialPruned`` when the trial should stop."""
        import optuna
        if self.metric not in logs:
            raise ConfigError(f"tune.metric {self.metric!r} is not among what training "
                              f"reports each epoch: {', '.join(sorted(logs))}")
        value = float(logs[self.metric])
        if not math.isfinite(value):
            note = f"diverged: {self.metric} = {value} after epoch {epoch + 1}"
            self.trial.set_user_attr(NOTE, note)
            self.trial.set_user_attr("epochs", epoch + 1)
            raise optuna.TrialPruned(note)
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            note = f"pruned after epoch {epoch + 1}: {self.metric} = {value:.6g}"
            self.trial.set_user_attr(NOTE, note)
            self.trial.set_user_attr("epochs", epoch + 1)
            raise optuna.TrialPruned(note)


def _running_ahead(study, number: int) -> int:
    """Finished or running trials numbered below ``number``."""
    states = ("COMPLETE", "PRUNED", "RUNNING")
    return sum(1 for trial in study.get_trials(deepcopy=False)
               if trial.number < number and trial.state.name in states)


def make_objective(study, config: dict, tune: TuneSpec, n_trials: int,
                   interrupts: dict | None = None, storage=None):
    """The function Optuna calls with each trial: its configuration trained and scored.

    With a database ``storage`` the trial's first heartbeat is recorded before anything else
    (Optuna's heartbeat thread may record it only later, and a trial killed before its first
    heartbeat would never be found stale)."""
    import optuna
    heartbeat = storage if hasattr(storage, "get_heartbeat_interval") and \
        storage.get_heartbeat_interval() else None

    def objective(trial) -> float:
        if heartbeat is not None:
            heartbeat.record_heartbeat(trial._trial_id)
        stopped.mark_worker(trial)
        stopped.fail_dead_local_trials(study)   # a sibling worker killed: retried next
        queued = grid.queued_params(study, trial)   # a grid point, or a retried trial
        if grid.is_grid(tune) and queued is None:
            _hand_back(study, trial, "not run: every point of the grid is taken")
        if _running_ahead(study, trial.number) >= n_trials:
            grid.requeue(study, trial)
            _hand_back(study, trial, f"not run: the study already had {n_trials} trials")
        values = space.suggest(tune.parameters, trial)
        trial_config = bridge.apply(config, values, f"trial {trial.number}")
        callbacks = [PruningCallback(trial, tune.metric)]
        if interrupts is not None:
            callbacks.append(InterruptCallback(interrupts))
        try:
            trained = bridge.train(trial_config, callbacks)
        except NumericalError as error:   # training diverged (NaN or inf): a poor trial
            note = f"diverged: {error}"
            trial.set_user_attr(NOTE, note)
            raise optuna.TrialPruned(note) from None
        except KeyboardInterrupt:   # Ctrl-C or SIGTERM: a grid point goes back in the queue
            grid.requeue(study, trial)
            raise
        history = trained.history
        trial.set_user_attr("epochs", len(history))
        series = history.history.get(tune.metric, [])
        value = series[trained.kept_epoch] if series else float("nan")
        if not math.isfinite(value):  # e.g. stopped in its first epoch by a NaN loss
            note = f"diverged: {history.stop_reason or f'{tune.metric} = {value}'}"
            trial.set_user_attr(NOTE, note)
            raise optuna.TrialPruned(note)
        return float(value)

    return objective


def _hand_back(study, trial, note: str) -> None:
    """End ``trial`` unrun (recorded as failed, with ``note``) and stop this worker."""
    trial.set_user_attr(NOTE, note)
    study.stop()
    raise _Surplus()


def _line(trial, tune: TuneSpec, label: str) -> str:
    """One line per finished trial: number, state, value, time, parameters."""
    seconds = trial.duration.total_seconds() if trial.duration is not None else float("nan")
    value = f"{tune.metric} = {trial.value:.6g}" if trial.value is not None else \
        trial.user_attrs.get(NOTE, "")
    params = ", ".join(f"{key} = {space.text(item)}" for key, item in
                       space.decode(tune.parameters, trial.params).items())
    prefix = f"[{label}] " if label else ""
    state = {"FAIL": "failed"}.get(trial.state.name, trial.state.name.lower())
    return f"{prefix}trial {trial.number} {state}: {value} ({seconds:.1f} s) {params}".rstrip()


def run_trials(study, config: dict, tune: TuneSpec, n_trials: int,
               timeout: float | None = None, label: str = "", verbose: int = 1,
               storage=None, url: str | None = None) -> None:
    """Run trials in this process until the study holds ``n_trials`` finished ones (counting
    every worker's), ``timeout`` seconds have passed (no new trial starts after that), or the
    grid is exhausted. ``storage``: the study's database storage (for heartbeats), ``url``
    its URL (for messages)."""
    with studies.storage_errors(url or getattr(storage, "url", None)):
        _run_trials(study, config, tune, n_trials, timeout, label, verbose, storage)


def _run_trials(study, config: dict, tune: TuneSpec, n_trials: int, timeout: float | None,
                label: str, verbose: int, storage) -> None:
    import optuna
    stopped.fail_dead_local_trials(study)
    with quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    if studies.finished(study) + studies.counts(study).get("RUNNING", 0) >= n_trials or \
            (grid.is_grid(tune) and not grid.waiting(study)):
        return
    states = optuna.trial.TrialState
    callbacks = [optuna.study.MaxTrialsCallback(
        n_trials, states=(states.COMPLETE, states.PRUNED, states.RUNNING))]
    if verbose:
        callbacks.append(lambda _, trial: print(_line(trial, tune, label), flush=True))
    hide, handlers = _QuietFailures(), logging.getLogger("optuna").handlers
    for handler in handlers:  # Optuna's modules log through the handlers of "optuna"
        handler.addFilter(hide)
    try:
        with quiet_experimental(), interrupts_between_batches() as interrupts:
            callbacks.append(lambda study, _: study.stop() if interrupts["count"] else None)
            if grid.is_grid(tune):   # the grid is done when its queue is empty
                callbacks.append(lambda study, _: None if grid.waiting(study) else study.stop())
            study.optimize(make_objective(study, config, tune, n_trials, interrupts, storage),
                           timeout=timeout, callbacks=callbacks, catch=(_Surplus,))
    finally:
        for handler in handlers:
            handler.removeFilter(hide)
    if interrupts["count"]:  # a Ctrl-C between two trials: no trial was running
        raise signal_exception(interrupts["signal"])


@contextlib.contextmanager
def quiet_experimental():
    """Silence Optuna's ExperimentalWarning (heartbeats and fail_stale_trials are used as
    documented)."""
    import optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield
