"""Several processes on one study: two local workers on one SQLite file end with exactly the
asked total and distinct trial numbers; each worker has one BLAS thread; a killed worker's
trial is failed by its heartbeat and retried by the rerun; Ctrl-C keeps every finished trial
and the study continues."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tune_helpers import (TUNE, annie_command, finished_count, load_study, states,
                          write_config)

from annie import cli
from annie.errors import ConfigError
from annie.tune import workers

WAIT_SECONDS = 120  # an upper bound for a few tiny trials on a busy machine, never reached


def _wait_for(condition, what: str, process=None):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (code {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _states(url, name="iris_tune") -> list[str]:
    try:
        return states(load_study(url, name))
    except Exception:   # the database or the study is not created yet
        return []


def _finished(found_states) -> int:
    return sum(state in ("COMPLETE", "PRUNED") for state in found_states)


def test_a_worker_has_one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    del threadpoolctl
    environment = workers.worker_environment("sqlite:///unused.db", "{}")
    script = ("import json, numpy, threadpoolctl; "
              "print(json.dumps([pool['num_threads'] for pool in "
              "threadpoolctl.threadpool_info() if pool['user_api'] == 'blas']))")
    output = subprocess.run([sys.executable, "-c", script], env=environment, check=True,
                            capture_output=True, text=True).stdout
    counts = json.loads(output)
    assert counts and all(count == 1 for count in counts)


KILLED_RUN = """
import os, signal, sys
import annie
from annie.train import Callback
from annie.tune import bridge, stopped

if sys.argv[3] == "elsewhere":   # as a worker on another machine: known by its heartbeat only
    stopped.machine_id = lambda: "another-machine"

class KillAfterTwoEpochs(Callback):   # SIGKILL: no cleanup of any kind
    def on_epoch_end(self, epoch, logs):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

trained = []
def train_then_kill_the_third(config, callbacks):
    trained.append(config)
    extra = [KillAfterTwoEpochs()] if len(trained) == 3 else []
    return train(config, [*callbacks, *extra])

train, bridge.train = bridge.train, train_then_kill_the_third
annie.tune(sys.argv[1], n_trials=6, out_dir=sys.argv[2], heartbeat_interval=int(sys.argv[4]),
           verbose=0, figures=False)
"""


def _killed_in_its_third_trial(tmp_path, where: str, heartbeat_interval: int):
    """A search killed (SIGKILL) in its third trial: (config path, out folder, url, study)."""
    path = write_config(tmp_path, epochs=4, tune=TUNE + 'pruner = "none"\n')
    out = tmp_path / "out"
    url = "sqlite:///" + str(out / "study.db")
    process = subprocess.run([sys.executable, "-c", KILLED_RUN, str(path), str(out), where,
                              str(heartbeat_interval)], timeout=WAIT_SECONDS)
    assert process.returncode == -signal.SIGKILL   # killed in its third trial
    killed = load_study(url, "iris_tune")
    assert states(killed) == ["COMPLETE", "COMPLETE", "RUNNING"]
    assert sorted(killed.trials[2].intermediate_values) == [0, 1]
    return path, out, url, killed


def test_a_killed_workers_study_resumes(tmp_path):
    path, out, url, killed = _killed_in_its_third_trial(tmp_path, "elsewhere", 1)
    killed_trial = killed.trials[2]
    kept = {t.number: t.value for t in killed.trials[:2]}
    time.sleep(3.5)   # two heartbeat intervals (1 s) pass: the killed trial is now stale

    import annie
    annie.tune(str(path), n_trials=6, out_dir=str(out), heartbeat_interval=1, verbose=0,
               figures=False)
    resumed = load_study(url, "iris_tune")
    assert finished_count(resumed) == 6 and "RUNNING" not in states(resumed)
    assert resumed.trials[2].state.name == "FAIL"
    for number, value in kept.items():   # nothing finished was lost
        assert resumed.trials[number].value == value
    retried = [t for t in resumed.trials if t.system_attrs.get("failed_trial") == 2]
    assert len(retried) == 1 and retried[0].params == killed_trial.params
    assert retried[0].state.name == "COMPLETE"


def test_a_rerun_at_once_fails_and_retries_a_trial_whose_process_is_gone(tmp_path):
    # killed on this machine: the rerun, started at once (long before two heartbeats of 10 s
    # have passed), sees that the trial's process is gone
    path, out, url, killed = _killed_in_its_third_trial(tmp_path, "here", 10)
    code = cli.main(["tune", str(path), "--trials", "6", "--out", str(out), "--no-figures",
                     "--quiet"])
    assert code == 0
    resumed = load_study(url, "iris_tune")
    assert finished_count(resumed) == 6 and "RUNNING" not in states(resumed)
    assert resumed.trials[2].state.name == "FAIL"
    retried = [t for t in resumed.trials if t.system_attrs.get("failed_trial") == 2]
    assert len(retried) == 1 and retried[0].params == killed.trials[2].params
    with open(out / "trials.csv", newline="") as handle:
        notes = {int(row["number"]): row["note"] for row in csv.DictReader(handle)}
    worker = killed.trials[2].user_attrs["worker"]
    assert notes[2] == f"its worker {worker} stopped (the process is gone); retried as " \
                       f"trial {retried[0].number}"
    assert notes[retried[0].number] == ""   # the retry does not inherit the failed one's
    assert retried[0].user_attrs["worker"] != worker


def test_no_more_workers_start_than_trials_are_left(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(workers, "start", lambda count, *rest: started.append(count) or [])
    path = write_config(tmp_path)
    cli.main(["tune", str(path), "--trials", "2", "--workers", "8", "--out",
              str(tmp_path / "out"), "--quiet", "--no-figures"])
    assert started == [2]


def test_a_killed_worker_is_named_with_its_signal():
    with pytest.raises(ConfigError) as raised:
        workers.check_exit_codes([0, -signal.SIGKILL, 2])
    message = str(raised.value)
    assert "worker 2 was killed (SIGKILL)" in message
    assert "worker 3 stopped on an error (exit code 2" in message
    workers.check_exit_codes([0, 0])   # all well: nothing raised


def _as_in_a_terminal():
    """Ctrl-C's default action, as for a command in a terminal (a background job of a
    script inherits SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_two_workers_share_one_sqlite_study_and_ctrl_c_keeps_finished_trials(tmp_path,
                                                                            capfd):
    path = write_config(tmp_path, epochs=20, tune=TUNE + 'pruner = "none"\n')
    out = tmp_path / "out"
    url = "sqlite:///" + str(out / "study.db")
    process = annie_command("tune", str(path), "--trials", "40", "--workers", "2", "--out",
                            str(out), "--no-figures", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_in_a_terminal)
    try:
        _wait_for(lambda: _finished(_states(url)) >= 2, "two finished trials", process)
    finally:
        process.send_signal(signal.SIGINT)   # what Ctrl-C sends to the command
        stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and "run the same command again" in stdout
    study = load_study(url, "iris_tune")
    assert "RUNNING" not in states(study)   # the interrupted trials are marked failed
    done = finished_count(study)
    assert 2 <= done < 40
    kept = {t.number: t.value for t in study.trials if t.state.name == "COMPLETE"}
    before = len(study.trials)
    rows = (out / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + before   # the report was written on the way out

    # the same command continues the study to exactly its total, two workers sharing it
    code = cli.main(["tune", str(path), "--trials", str(done + 8), "--workers", "2",
                     "--out", str(out), "--no-figures"])
    stdout, err = capfd.readouterr()   # the workers' lines come from their processes
    assert code == 0, err
    study = load_study(url, "iris_tune")
    assert finished_count(study) == done + 8 and "RUNNING" not in states(study)
    numbers = [trial.number for trial in study.trials]
    assert len(set(numbers)) == len(numbers)
    assert all(study.trials[number].value == value for number, value in kept.items())
    new = [t for t in study.trials if t.number >= before and t.state.name == "COMPLETE"]
    assert len({trial.user_attrs["worker"] for trial in new}) == 2   # both did trials
    assert "[worker 1]" in stdout and "[worker 2]" in stdout


@pytest.fixture(autouse=True)
def _no_leftover_environment():
    yield
    assert workers.STORAGE_VARIABLE not in os.environ


def _worker_processes(study_name: str) -> list[str]:
    """Command lines of the running worker processes of ``study_name`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "annie.tune.workers" in command and f"--study {study_name} " in command:
            found.append(command)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="lists processes through /proc")
def test_sigterm_to_the_command_stops_its_workers_and_writes_the_reports(tmp_path):
    path = write_config(tmp_path, epochs=20, tune=TUNE + 'pruner = "none"\n',
                        name="sigterm_search.toml")
    out = tmp_path / "out"
    url = "sqlite:///" + str(out / "study.db")
    process = annie_command("tune", str(path), "--trials", "40", "--workers", "2", "--out",
                            str(out), "--no-figures", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _finished(_states(url, "sigterm_search")) >= 2,
                  "two finished trials", process)
    finally:
        process.send_signal(signal.SIGTERM)   # kill, timeout, a batch scheduler
        stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr, stderr
    assert _worker_processes("sigterm_search") == []   # no worker left running
    study = load_study(url, "sigterm_search")
    assert "RUNNING" not in states(study) and finished_count(study) >= 2
    rows = (out / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + len(study.trials)   # the report was written on the way out
