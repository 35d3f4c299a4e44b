"""What a search says when it is stopped or its database fails: Ctrl-C, SIGTERM and a lost
database end with one line each (no tracebacks from Optuna's log or the database driver),
and every finished trial stays in the study.

Each case runs ``annie tune`` in a fresh process, as a user would, with a training step that
acts in the middle of its third trial."""
import subprocess
import sys

from tune_helpers import TUNE, load_study, states, write_config

from annie import cli

WAIT_SECONDS = 120   # an upper bound for a few tiny trials, never reached

RUN = """
import os, signal, sys
from annie import cli
from annie.train import Callback
from annie.tune import bridge, studies

opened = []
open_storage = studies.open_storage
def keep(url, *arguments):
    opened.append(open_storage(url, *arguments))
    return opened[-1]
studies.open_storage = keep

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)

def sigterm():   # kill, timeout, a batch scheduler
    os.kill(os.getpid(), signal.SIGTERM)

def lose_the_database():   # every later query fails, as with a stopped server
    import sqlalchemy
    from sqlalchemy import orm
    storage = opened[-1]
    storage.engine = sqlalchemy.create_engine("sqlite:////no-such-folder/study.db")
    storage.scoped_session = orm.scoped_session(orm.sessionmaker(bind=storage.engine))

class OnFirstEpoch(Callback):
    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            ACTION()

ACTION = {"ctrl_c": ctrl_c, "sigterm": sigterm,
          "lose_the_database": lose_the_database}[sys.argv[1]]
started = []
def train_and_act_in_the_third(config, callbacks):
    started.append(config)
    extra = [OnFirstEpoch()] if len(started) == 3 else []
    return train(config, [*callbacks, *extra])
train, bridge.train = bridge.train, train_and_act_in_the_third

signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
sys.exit(cli.main(["tune", sys.argv[2], "--trials", "5", "--out", sys.argv[3],
                   "--no-figures"]))
"""


def _run(tmp_path, action: str, tune: str = TUNE + 'pruner = "none"\n'):
    path, out = write_config(tmp_path, tune=tune), tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", RUN, action, str(path), str(out)],
                          capture_output=True, text=True, timeout=WAIT_SECONDS)
    return done, load_study("sqlite:///" + str(out / "study.db"), "iris_tune")


GRID = """
[tune]
sampler = "grid"
pruner = "none"
"model.hidden" = [[2], [4], [8], [16]]
"""


def test_a_grid_point_interrupted_by_ctrl_c_is_tried_by_the_rerun(tmp_path, capsys):
    done, study = _run(tmp_path, "ctrl_c", GRID)
    assert done.returncode == 130, done.stderr
    assert states(study)[:3] == ["COMPLETE", "COMPLETE", "FAIL"]
    interrupted = study.trials[2].params["model.hidden"]
    path, out = tmp_path / "iris_tune.toml", tmp_path / "out"
    assert cli.main(["tune", str(path), "--trials", "10", "--out", str(out),
                     "--no-figures"]) == 0
    study = load_study("sqlite:///" + str(out / "study.db"), "iris_tune")
    complete = sorted(t.params["model.hidden"] for t in study.trials
                      if t.state.name == "COMPLETE")
    assert complete == ["[16]", "[2]", "[4]", "[8]"]   # each point once, none lost
    assert interrupted in complete
    assert "every point of the grid (4) has been tried" in capsys.readouterr().out
    before = len(study.trials)   # the grid is done: a rerun runs nothing more
    assert cli.main(["tune", str(path), "--trials", "10", "--out", str(out), "--quiet",
                     "--no-figures"]) == 0
    assert len(load_study("sqlite:///" + str(out / "study.db"), "iris_tune").trials) == before


def test_ctrl_c_stops_with_one_line_and_keeps_the_finished_trials(tmp_path):
    done, study = _run(tmp_path, "ctrl_c")
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == ["annie: interrupted"]
    assert "interrupted: every finished trial is kept" in done.stdout
    assert states(study) == ["COMPLETE", "COMPLETE", "FAIL"]


def test_sigterm_stops_like_ctrl_c_with_exit_code_143(tmp_path):
    done, study = _run(tmp_path, "sigterm")
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "interrupted: every finished trial is kept" in done.stdout
    assert states(study) == ["COMPLETE", "COMPLETE", "FAIL"]   # the reports were written


def test_a_lost_database_ends_with_one_line(tmp_path):
    done, study = _run(tmp_path, "lose_the_database")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("annie: error: the study's database sqlite:///")
    assert "unable to open database file" in lines[0]
    assert "run the same command again" in lines[0]
    # the finished trials are kept; the one under way could not be recorded and stays
    # running until its heartbeat is old
    assert states(study) == ["COMPLETE", "COMPLETE", "RUNNING"]
