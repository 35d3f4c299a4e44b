"""Optuna studies for annie: the storage behind a URL, the sampler and pruner the ``[tune]``
table names, and a study created once and recognised on every rerun.

A study keeps the configuration, the search parameters and the metric it was started with (a
user attribute), so a rerun, or another machine, with a different search is refused instead
of mixing two searches in one study.

Storages: ``sqlite:///path/study.db`` (the default, a file in the output folder),
``postgresql://user:password@host:port/database`` and ``mysql+pymysql://...``: one study
shared by every process and machine that opens it. Each running trial records a heartbeat;
a trial whose worker was killed (no heartbeat for ``2 * heartbeat_interval`` seconds) is
marked failed by the next worker and its parameters are tried again once.
"""
from __future__ import annotations

import json
import os
import re
import time
import warnings

import contextlib

from ..errors import AnnieError, ConfigError
from . import grid
from .spec import TuneSpec

ATTRIBUTE = "annie"  # the study's user attribute holding its configuration and [tune] table
NOTE = "note"        # a trial's user attribute: why it stopped early, or was failed
STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql")
FINISHED = ("COMPLETE", "PRUNED")


class StorageLost(AnnieError):
    """The study's database failed in the middle of a search (server stopped, network gone):
    every finished trial is in the database; the same command continues once it is back."""


def is_storage_error(error: BaseException | None) -> bool:
    """Whether ``error``, or an exception it was raised from or while handling, is a database
    failure (SQLAlchemy's errors, Optuna's StorageInternalError)."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (SQLAlchemyError, optuna.exceptions.StorageInternalError)):
            return True
        error = error.__cause__ or error.__context__
    return False


def _root_message(error: BaseException) -> str:
    """The first line of the deepest database error in ``error``'s chain."""
    found = error
    while error is not None:
        if is_storage_error(error):
            found = error
        error = error.__cause__ or error.__context__
        if error is found:
            break
    text = str(getattr(found, "orig", None) or found).strip()
    return text.splitlines()[0] if text else type(found).__name__


@contextlib.contextmanager
def storage_errors(url: str | None):
    """Turn a database failure inside the block into one StorageLost naming the database
    (instead of the driver's tracebacks)."""
    try:
        yield
    except Exception as error:
        if not is_storage_error(error):
            raise
        raise StorageLost(f"the study's database {masked(url)} failed: {_root_message(error)}; "
                          f"every finished trial is kept in it: run the same command again "
                          f"to continue once it is back") from None


def import_optuna():
    """Optuna, or a ConfigError naming the extra to install."""
    try:
        import optuna
    except ImportError as error:
        raise ConfigError("annie tune needs Optuna, which is not installed: "
                          "pip install 'annie[tune]'") from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def masked(url: str | None) -> str:
    """The storage URL with its password replaced by *** (for messages)."""
    if url is None:
        return "in memory"
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def sqlite_url(folder: str | os.PathLike) -> str:
    """The default storage: ``study.db`` in ``folder``."""
    return "sqlite:///" + os.path.abspath(os.path.join(os.fspath(folder), "study.db"))


def check_url(url: str) -> None:
    """A ConfigError unless ``url`` is an SQLAlchemy URL of a supported database."""
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else None
    if scheme not in STORAGE_SCHEMES:
        hint = f"; for a file, sqlite:///{url}" if "://" not in url else ""
        raise ConfigError(f"--storage {masked(url)!r}: expected a database URL starting with "
                          f"sqlite://, postgresql:// or mysql://{hint}")


def open_storage(url: str | None, heartbeat_interval: int = 10, attempts: int = 5):
    """The Optuna storage behind ``url`` (None: in memory, for one process).

    Processes that open a new database at the same moment race to create its tables (the
    loser sees a duplicate key); each failed attempt is retried after a short wait."""
    optuna = import_optuna()
    if url is None:
        return optuna.storages.InMemoryStorage()
    check_url(url)
    engine_url = url
    if url.startswith("postgresql://"):  # the driver annie[tune] installs, on any SQLAlchemy 2
        engine_url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                return optuna.storages.RDBStorage(
                    engine_url, engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    heartbeat_stale_trial_callback=retry)
        except ImportError as error:
            raise ConfigError(f"--storage {masked(url)!r}: the database driver is not "
                              f"installed ({error}); for PostgreSQL: pip install "
                              f"'annie[tune]', for MySQL: pip install pymysql and use "
                              f"mysql+pymysql://") from None
        except Exception as error:  # SQLAlchemy's: server down, wrong password, a race
            if attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
                continue
            text = str(error).strip()
            first_line = text.splitlines()[0] if text else repr(error)
            raise ConfigError(f"--storage {masked(url)!r}: cannot open the database: "
                              f"{first_line}") from None


def make_sampler(tune: TuneSpec, worker_index: int = 0):
    """The sampler ``tune.sampler`` names; seeded with ``sampler_seed + worker_index``."""
    optuna = import_optuna()
    settings = tune.settings
    seed = None if settings["sampler_seed"] is None else settings["sampler_seed"] + worker_index
    if settings["sampler"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings["sampler"] == "grid":   # every trial is a queued point (annie.tune.grid)
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():  # constant_liar: parallel workers avoid the same point
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(n_startup_trials=settings["sampler_startup_trials"],
                                          seed=seed, constant_liar=True)


def make_pruner(tune: TuneSpec):
    """The pruner ``tune.pruner`` names."""
    optuna = import_optuna()
    if tune.settings["pruner"] == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=tune.settings["pruner_startup_trials"],
                                       n_warmup_steps=tune.settings["pruner_warmup_epochs"])


def _identity(config: dict, tune: TuneSpec) -> dict:
    """What makes two searches the same search: the configuration, the parameters, the metric
    and its direction (sampler and pruner may change from one run to the next)."""
    described = tune.describe()
    return json.loads(json.dumps({"config": config, "metric": tune.metric,
                                  "direction": tune.direction,
                                  "parameters": described["parameters"]}))


def _differences(stored: dict, current: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(stored) | set(current))
    found = []
    for key in keys:
        old, new = stored.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append(f"{prefix}{key}")
    return found


def create_or_open(storage, name: str, config: dict, tune: TuneSpec, url: str | None):
    """The study ``name`` in ``storage``: created with ``config`` and ``tune`` when new, else
    checked to have been started with the same ones (a ConfigError names what differs)."""
    optuna = import_optuna()
    description = _identity(config, tune)
    sampler, pruner = make_sampler(tune), make_pruner(tune)
    try:
        study = optuna.create_study(storage=storage, study_name=name, sampler=sampler,
                                    pruner=pruner, direction=tune.direction)
        if grid.is_grid(tune):
            grid.fill(study, tune)
        study.set_user_attr(ATTRIBUTE, description)   # last: the study is ready
        return study
    except optuna.exceptions.DuplicatedStudyError:
        pass
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    stored = _stored_description(storage, name, url)
    differences = _differences(stored, description)
    if differences:
        raise ConfigError(f"study {name!r} in {masked(url)} was started with another "
                          f"configuration (different: {', '.join(differences[:6])}); rerun "
                          f"with that configuration to continue it, or name a new study with "
                          f"--study")
    return study


def _stored_description(storage, name: str, url: str | None,
                        wait_seconds: float = 60.0) -> dict:
    """The study's configuration and [tune] table; a study created an instant ago by another
    process may not have them yet (it may be queueing a grid's points), so wait briefly."""
    optuna = import_optuna()
    deadline = time.monotonic() + wait_seconds
    while True:
        stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(ATTRIBUTE)
        if stored is not None:
            return stored
        if time.monotonic() > deadline:
            raise ConfigError(f"study {name!r} in {masked(url)} was not created by annie tune "
                              f"(it has no configuration); name another study with --study")
        time.sleep(0.2)


def open_for_worker(storage, name: str, url: str | None, tune: TuneSpec,
                    worker_index: int = 0):
    """The study ``name`` as a worker opens it: its own sampler (seeded with
    ``sampler_seed + worker_index``) and pruner."""
    optuna = import_optuna()
    try:
        return optuna.load_study(study_name=name, storage=storage,
                                 sampler=make_sampler(tune, worker_index),
                                 pruner=make_pruner(tune))
    except KeyError:
        raise ConfigError(f"no study {name!r} in {masked(url)}") from None


def counts(study) -> dict:
    """How many of the study's trials are in each state ({"COMPLETE": 3, "PRUNED": 1, ...})."""
    found: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        found[trial.state.name] = found.get(trial.state.name, 0) + 1
    return found


def finished(study) -> int:
    """Trials that count towards ``--trials``: complete or pruned."""
    return sum(counts(study).get(state, 0) for state in FINISHED)
