"""``annie.tune(config, n_trials=...)``: a hyperparameter search on Optuna, from one process to
many machines."""
from __future__ import annotations

import os
from typing import Sequence

from ..errors import ConfigError, check_positive_int
from . import bridge, report, spec as tune_spec, studies, trials, workers as local_workers


def _read(config) -> tuple[str, dict, str, str | None]:
    """(source for messages, the TOML document, the default study name, the folder that
    relative data paths are read from)."""
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        return (path, bridge.read_document(path), os.path.splitext(os.path.basename(path))[0],
                os.path.dirname(os.path.abspath(path)))
    if isinstance(config, dict):
        return "config", config, "annie", None
    raise ConfigError(f"tune: config must be a path to a TOML file or a dict, got "
                      f"{type(config).__name__}")


def _check_count(value, name: str, allow_none: bool = False) -> None:
    if name != "timeout":
        check_positive_int(value, name, "tune", allow_none=allow_none)
    elif not (value is None and allow_none) and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        raise ConfigError(f"tune: timeout must be a positive number, got {value!r}")


def tune(config, n_trials: int = 20, *, storage: str | None = None,
         study_name: str | None = None, out_dir: str | os.PathLike | None = None,
         workers: int = 1, timeout: float | None = None, overrides: Sequence[str] = (),
         verbose: int = 1, figures: bool = True, heartbeat_interval: int = 10):
    """Search the hyperparameters that a configuration's ``[tune]`` table names; return the
    Optuna study.

    ``config``: a TOML file or the same as a dict (a configuration plus a ``[tune]`` table;
    see ``annie.tune.spec``), with ``overrides`` (``"train.epochs=5"``; ``"tune.sampler=random"``
    for the ``[tune]`` table) applied.
    ``n_trials``: the study's total of finished (complete or pruned) trials, however many
    processes share it; a rerun continues the study up to that total.
    ``storage``: an SQLAlchemy URL (``sqlite:///study.db``, ``postgresql://user:pw@host/db``);
    default: ``study.db`` in ``out_dir``, or in memory when there is no ``out_dir``.
    ``study_name``: default the configuration file's name. ``workers``: local processes
    with one BLAS thread each (1: this process). ``timeout``: seconds after which no new
    trial starts. ``out_dir``: where ``best.toml``, ``trials.csv`` and (``figures=True``,
    with matplotlib) the figures go; ``verbose=0`` prints nothing.
    ``heartbeat_interval``: seconds between a running trial's heartbeats; a trial silent for
    two intervals (its worker was killed) is marked failed and retried once.

    Raises ConfigError for a bad configuration or ``[tune]`` table, or a study of the same
    name started with another configuration. Ctrl-C stops the workers, keeps every finished
    trial and writes the reports, then raises KeyboardInterrupt.
    """
    studies.import_optuna()
    _check_count(n_trials, "n_trials")
    _check_count(workers, "workers")
    _check_count(timeout, "timeout", allow_none=True)
    _check_count(heartbeat_interval, "heartbeat_interval")
    source, document, default_name, base_dir = _read(config)
    config_document, table = bridge.split_document(document)
    overrides, tune_overrides = bridge.split_overrides(overrides)
    table = {**table, **tune_overrides}
    base = bridge.load(config_document, source, overrides, base_dir)
    search = tune_spec.parse(table, base, source)
    name = study_name or default_name
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    url = storage if storage is not None else \
        (studies.sqlite_url(out_dir) if out_dir is not None else None)
    if url is None and workers > 1:
        raise ConfigError("tune: several workers need a storage they share: give a storage "
                          "URL or an output folder (for its SQLite file)")
    storage = studies.open_storage(url, heartbeat_interval)
    study = studies.create_or_open(storage, name, base, search, url)
    if verbose:
        settings = search.settings
        print(f"annie tune: study {name!r} ({studies.masked(url)}): {n_trials} trials, "
              f"{workers} worker(s), {search.metric} ({search.direction}), sampler "
              f"{settings['sampler']}, pruner {settings['pruner']}; "
              f"{studies.finished(study)} finished before", flush=True)
    codes, interrupted = [], False
    try:
        if workers == 1:
            trials.run_trials(study, base, search, n_trials, timeout, verbose=verbose,
                              storage=storage)
        else:
            codes = local_workers.wait(local_workers.start(
                workers, url, name, base, search, n_trials, timeout, heartbeat_interval,
                verbose))
    except KeyboardInterrupt:
        interrupted = True
    _finish(study, base, search, url, n_trials, out_dir, verbose, figures, interrupted)
    if interrupted:
        raise KeyboardInterrupt
    local_workers.check_exit_codes(codes)
    return study


def _finish(study, config: dict, search, url, n_trials: int, out_dir, verbose: int,
            figures: bool, interrupted: bool) -> None:
    """Write the reports into ``out_dir`` and print the summary."""
    written, notes = report.write(study, config, search, os.fspath(out_dir), figures) \
        if out_dir is not None else ([], [])
    if not verbose:
        return
    if interrupted:
        print("interrupted: every finished trial is kept in the study; run the same command "
              "again to continue it", flush=True)
    for line in report.summary(study, search, url, n_trials):
        print(line)
    for path in written:
        print(f"  {path}")
    for note in notes:
        print(f"  ({note})")
    best = [path for path in written if path.endswith("best.toml")]
    if best:
        print(f"train the best configuration: annie train {best[0]}", flush=True)
