"""Run folders stand alone and are never destroyed: a moved run folder predicts and evaluates
with its training CSV deleted; an existing run is refused without --overwrite; a failed or
killed (SIGKILL, in another process) --overwrite leaves the old run evaluating exactly as
before; an interrupted run resumes from its unfinished folder."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import annie
from annie import cli
from annie.app import rundir

SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_cli(capsys, *argv):
    code = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_project(folder, rows=120, seed=0):
    """A CSV with string labels and an id column, and a configuration beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    X = np.round(np.random.default_rng(seed).normal(size=(rows, 2)), 4)
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["id,x1,x2,answer"] + [f"{i},{a},{b},{label}"
                                   for i, ((a, b), label) in enumerate(zip(X, labels))]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    (folder / "config.toml").write_text(
        'seed = 0\n[data]\npath = "data.csv"\ntarget = "answer"\ndrop = ["id"]\n'
        '[model]\nhidden = [8]\n[optimizer]\nlr = 0.03\n[train]\nepochs = 15\nplot = false\n')
    (folder / "new.csv").write_text("x2,x1\n1.0,2.0\n-1.0,-2.0\n0.5,-0.1\n")
    return folder / "config.toml"


def snapshot(folder) -> dict:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_a_moved_run_folder_predicts_and_evaluates_without_its_csv(tmp_path, capsys,
                                                                   monkeypatch):
    config = write_project(tmp_path / "project")
    monkeypatch.chdir(tmp_path)  # not the project folder: data.path is relative to the config
    assert run_cli(capsys, "train", config, "--out", "runs/first", "--quiet")[0] == 0
    code, predicted, _ = run_cli(capsys, "predict", "runs/first", "project/new.csv")
    code_e, evaluated, _ = run_cli(capsys, "evaluate", "runs/first")
    assert code == code_e == 0
    shutil.move("runs/first", "elsewhere")
    shutil.copy("project/new.csv", "new.csv")
    shutil.rmtree("project")
    assert run_cli(capsys, "predict", "elsewhere", "new.csv")[1] == predicted
    assert run_cli(capsys, "evaluate", "elsewhere")[1] == evaluated
    assert predicted.split()[:2] == ["row", "answer"]
    assert [line.split()[1] for line in predicted.splitlines()[1:]] == ["yes", "no", "yes"]


def test_an_existing_run_is_refused_and_a_failed_overwrite_changes_nothing(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    before, evaluated = snapshot(out), run_cli(capsys, "evaluate", out)[1]
    code, _, err = run_cli(capsys, "train", config, "--out", out, "--quiet",
                           "--set", "train.epochs=2")
    assert code == 2 and "already exists" in err and "--overwrite" in err
    (tmp_path / "data.csv").write_text("id,x1,x2,answer\n1,2,oops,yes\n")  # now fails
    code, _, err = run_cli(capsys, "train", config, "--out", out, "--overwrite", "--quiet",
                           "--set", "train.epochs=2")
    assert code == 2 and "cannot read 'oops'" in err
    assert snapshot(out) == before  # config.toml included: nothing was written over it
    assert run_cli(capsys, "evaluate", out)[1] == evaluated
    assert not os.path.exists(f"{out}{rundir.PARTIAL}")
    write_project(tmp_path, seed=1)
    assert run_cli(capsys, "train", config, "--out", out, "--overwrite", "--quiet")[0] == 0
    assert snapshot(out) != before and not os.path.exists(f"{out}{rundir.REPLACED}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    code, _, err = run_cli(capsys, "train", config, "--out", tmp_path / "notes", "--overwrite")
    assert code == 2 and "replaces run folders only" in err
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep"


def start_training(config, out, *extra):
    environment = {**os.environ, **SINGLE_THREAD}
    return subprocess.Popen([sys.executable, "-m", "annie", "train", str(config), "--out",
                             str(out), "--quiet", *extra], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(process, condition, timeout=60.0) -> None:
    """Wait for ``condition()`` while ``process`` keeps running."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def kill_when(process, condition, timeout=60.0) -> None:
    """SIGKILL ``process`` as soon as ``condition()`` holds (it must still be running)."""
    wait_until(process, condition, timeout)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


# a checkpoint every 2 batches from the start, so that a kill lands in the middle of training
EVERY_2 = ["--set", "train.checkpoint_every=2", "--set", "train.checkpoint_seconds=0"]
LONG = ["--set", "train.epochs=400", *EVERY_2]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_kill_9_during_overwrite_leaves_the_old_run_evaluating_as_before(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    before, evaluated = snapshot(out), run_cli(capsys, "evaluate", out)[1]
    partial = f"{out}{rundir.PARTIAL}"
    moments = [lambda: os.path.isdir(partial),  # the unfinished folder was just made
               lambda: os.path.isfile(os.path.join(partial, "checkpoint.ckpt"))]  # training
    for moment in moments:
        kill_when(start_training(config, out, "--overwrite", *LONG), moment)
        assert snapshot(out) == before
        assert run_cli(capsys, "evaluate", out)[1] == evaluated
        assert run_cli(capsys, "predict", out, tmp_path / "new.csv")[0] == 0


def test_a_replacement_cut_between_its_two_renames_keeps_the_old_run(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    evaluated = run_cli(capsys, "evaluate", out)[1]
    assert run_cli(capsys, "train", config, "--out", tmp_path / "new", "--quiet",
                   "--set", "seed=5")[0] == 0
    # the state after the first rename (old run -> .replaced), before the second
    os.rename(out, f"{out}{rundir.REPLACED}")
    os.rename(tmp_path / "new", f"{out}{rundir.PARTIAL}")
    assert run_cli(capsys, "evaluate", out)[1] == evaluated  # read from .replaced
    rundir.recover(out)  # the next annie train finishes the replacement
    assert run_cli(capsys, "evaluate", out)[1] != evaluated
    assert not os.path.exists(f"{out}{rundir.REPLACED}")
    # the same cut with an unfinished new run brings the old run back
    os.rename(out, f"{out}{rundir.REPLACED}")
    os.makedirs(f"{out}{rundir.PARTIAL}")
    rundir.recover(out)
    assert os.path.isfile(out / "run.json") and not os.path.exists(f"{out}{rundir.REPLACED}")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_killed_run_resumes_from_its_unfinished_folder_to_the_same_end(tmp_path, capsys,
                                                                         monkeypatch):
    for name, value in SINGLE_THREAD.items():
        monkeypatch.setenv(name, value)
    config = write_project(tmp_path)
    steady = ["--set", "train.epochs=30", *EVERY_2]
    assert run_cli(capsys, "train", config, "--out", tmp_path / "straight", "--quiet",
                   *steady)[0] == 0
    out = tmp_path / "killed"
    checkpoint = os.path.join(f"{out}{rundir.PARTIAL}", "checkpoint.ckpt")
    kill_when(start_training(config, out, *steady), lambda: os.path.isfile(checkpoint))
    assert not out.exists()
    code, _, err = run_cli(capsys, "evaluate", out)
    assert code == 2 and "unfinished run" in err
    code, _, err = run_cli(capsys, "train", config, "--out", out, "--quiet", *steady)
    assert code == 2 and "--resume" in err
    assert run_cli(capsys, "train", config, "--resume", out, "--quiet", *steady)[0] == 0
    assert (out / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()
    resumed = annie.load(out / "model.annie").state_dict()
    straight = annie.load(tmp_path / "straight" / "model.annie").state_dict()
    assert all(resumed[name].tobytes() == straight[name].tobytes() for name in straight)
