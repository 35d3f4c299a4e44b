"""Local worker processes: ``--workers K`` starts K copies of ``python -m annie.tune.workers``,
each with one BLAS thread, all working on one study.

Small networks keep a BLAS thread pool busy only part of the time, so K processes with one
thread each finish more trials per minute than one process with K threads (measured in
``benchmarks/tune_throughput.py``). The thread counts are set in the children's environment,
before NumPy loads. The storage URL travels in the environment too (it may hold a password,
which a command line would show to every user of the machine).

Each worker runs in its own session, so a Ctrl-C reaches only ``annie tune``, which passes
one SIGINT to each worker: the worker's running trial is marked failed, its finished trials
are already in the storage, and the study can be continued by running the command again.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

from ..errors import AnnieError, ConfigError
from .spec import TuneSpec, from_description
from .trials import Terminated

STORAGE_VARIABLE = "ANNIE_TUNE_STORAGE"
SEARCH_VARIABLE = "ANNIE_TUNE_SEARCH"  # JSON: the configuration and the [tune] table
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
INTERRUPT_GRACE_SECONDS = 60


def worker_environment(storage_url: str = "", search: str = "", threads: int = 1,
                       base: dict | None = None) -> dict:
    """The environment of a worker process: ``threads`` BLAS threads, the storage URL and the
    search (JSON of the configuration and the ``[tune]`` table)."""
    environment = dict(os.environ if base is None else base)
    for name in BLAS_VARIABLES:
        environment[name] = str(threads)
    environment[STORAGE_VARIABLE] = storage_url
    environment[SEARCH_VARIABLE] = search
    return environment


def start(count: int, storage_url: str, study_name: str, config: dict, tune: TuneSpec,
          n_trials: int, timeout: float | None, heartbeat_interval: int, verbose: int) -> list:
    """Start ``count`` worker processes (numbered 1..count) and return their Popen objects."""
    search = json.dumps({"config": config, "tune": tune.describe()})
    processes = []
    for index in range(1, count + 1):
        command = [sys.executable, "-m", "annie.tune.workers", "--study", study_name,
                   "--trials", str(n_trials), "--index", str(index),
                   "--heartbeat", str(heartbeat_interval), "--verbose", str(verbose)]
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        processes.append(subprocess.Popen(command, env=worker_environment(storage_url, search),
                                          start_new_session=True))
    return processes


def wait(processes: list) -> list[int]:
    """Wait for every worker; on Ctrl-C (SIGTERM) pass one SIGINT (SIGTERM) to each, wait for
    them to finish their bookkeeping, then raise it again. Returns the exit codes."""
    try:
        return [process.wait() for process in processes]
    except KeyboardInterrupt as stop:   # Ctrl-C, or SIGTERM (Terminated): passed on
        forwarded = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        for process in processes:
            if process.poll() is None:
                process.send_signal(forwarded)
        for process in processes:
            try:
                process.wait(timeout=INTERRUPT_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise


def _ending(index: int, code: int) -> str:
    if code < 0:   # ended by a signal: kill -9, the out-of-memory killer, ...
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker {index} was killed ({name}); its running trial is marked failed " \
               f"and tried again"
    return f"worker {index} stopped on an error (exit code {code}; its message is above)"


def check_exit_codes(codes: list[int]) -> None:
    """A ConfigError when a worker was killed or stopped on an error."""
    failed = [_ending(index, code) for index, code in enumerate(codes, start=1) if code != 0]
    if failed:
        raise ConfigError("; ".join(failed))


def main(argv: list[str] | None = None) -> int:
    """Entry point of one worker process (started by :func:`start`)."""
    parser = argparse.ArgumentParser(prog="python -m annie.tune.workers")
    parser.add_argument("--study", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--heartbeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    from . import studies, trials
    url, search = os.environ.get(STORAGE_VARIABLE), os.environ.get(SEARCH_VARIABLE)
    try:
        if not url or not search:
            raise ConfigError(f"{STORAGE_VARIABLE} and {SEARCH_VARIABLE} must be set (this "
                              f"program is started by annie tune --workers)")
        search = json.loads(search)
        config, tune = search["config"], from_description(search["tune"])
        storage = studies.open_storage(url, args.heartbeat)
        study = studies.open_for_worker(storage, args.study, url, tune, args.index)
        trials.run_trials(study, config, tune, args.trials, args.timeout,
                          label=f"worker {args.index}", verbose=args.verbose, storage=storage,
                          url=url)
    except AnnieError as error:
        print(f"annie: error: worker {args.index}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        return getattr(stop, "exit_code", 130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
