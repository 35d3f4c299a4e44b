"""Nothing a user has is lost or misrecorded by a command that fails or collides: a diverged
run is not saved (and does not replace the run in --out), ``predict --output`` and ``export
--onnx`` never write over the input or a run's files, ``annie demo`` replaces only an earlier
demo run, a run being trained is locked against a second command (a killed one's lock is taken
over), ``--resume`` cannot record fewer epochs than were trained, and a refused ``--resume``
leaves nothing behind (nor does a resumed one keep the temporary files of writes a kill cut
short)."""
import os
import signal

import pytest

from annie.app import rundir
from test_cli_runs import LONG, run_cli, snapshot, start_training, wait_until, write_project

DIVERGE = ["--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e8"]


def test_a_diverged_run_is_not_saved_and_keeps_the_old_run(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    before = snapshot(out)
    code, stdout, err = run_cli(capsys, "train", config, "--out", out, "--overwrite", "--quiet",
                                *DIVERGE)
    assert code == 2 and err.count("\n") == 1, err
    assert "training failed, the run is not saved: loss became" in err and "held-out" in err
    assert "Warning" not in err and stdout == ""
    assert snapshot(out) == before and not os.path.exists(f"{out}{rundir.PARTIAL}")
    code, _, err = run_cli(capsys, "train", config, "--out", tmp_path / "new", "--quiet",
                           *DIVERGE)
    assert code == 2 and not (tmp_path / "new").exists()


def test_predict_and_export_never_write_over_the_input_or_the_run(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    rows, before = (tmp_path / "new.csv").read_bytes(), snapshot(out)
    code, _, err = run_cli(capsys, "predict", out, tmp_path / "new.csv", "--output",
                           tmp_path / "new.csv")
    assert code == 2 and "is the input file" in err
    for name in ("model.annie", "run.json", "heldout.csv"):
        code, _, err = run_cli(capsys, "predict", out, tmp_path / "new.csv", "--output",
                               out / name)
        assert code == 2 and "is a file of the run folder" in err
    code, _, err = run_cli(capsys, "export", out, "--onnx", out / "model.annie")
    assert code == 2 and "--onnx" in err and "is a file of the run folder" in err
    assert (tmp_path / "new.csv").read_bytes() == rows and snapshot(out) == before
    assert run_cli(capsys, "predict", out, tmp_path / "new.csv", "--output",
                   out / "predictions.csv")[0] == 0  # a new file beside the run's is fine


def test_demo_replaces_an_earlier_demo_run_and_nothing_else(tmp_path, capsys):
    config = write_project(tmp_path)
    mine = tmp_path / "runs" / "mine"
    assert run_cli(capsys, "train", config, "--out", mine, "--quiet")[0] == 0
    before = snapshot(mine)
    code, _, err = run_cli(capsys, "demo", "--out", mine, "--epochs", "1", "--quiet")
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert snapshot(mine) == before
    demo = tmp_path / "runs" / "demo"
    assert run_cli(capsys, "demo", "--out", demo, "--epochs", "1", "--quiet")[0] == 0
    first = snapshot(demo)
    assert run_cli(capsys, "demo", "--out", demo, "--epochs", "1", "--seed", "1",
                   "--quiet")[0] == 0
    assert snapshot(demo) != first
    assert run_cli(capsys, "demo", "--out", mine, "--epochs", "1", "--overwrite",
                   "--quiet")[0] == 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_being_trained_is_locked_and_a_killed_ones_lock_is_taken_over(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    partial = f"{out}{rundir.PARTIAL}"
    checkpoint = os.path.join(partial, "checkpoint.ckpt")
    process = start_training(config, out, *LONG)
    try:
        wait_until(process, lambda: os.path.isfile(checkpoint))
        for extra in (["--out", out, "--overwrite"], ["--resume", out]):
            code, _, err = run_cli(capsys, "train", config, *extra, "--quiet", *LONG)
            assert code == 2 and "is being trained by another annie command (process " \
                f"{process.pid})" in err, err
            assert os.path.isfile(checkpoint)  # the first command's folder is untouched
    finally:
        process.kill()
        process.wait()
    assert os.path.exists(f"{out}{rundir.LOCK}")  # left by the kill, held by no one
    assert run_cli(capsys, "train", config, "--out", out, "--overwrite", "--quiet")[0] == 0
    assert not os.path.exists(f"{out}{rundir.LOCK}") and not os.path.exists(partial)


def test_resume_removes_the_temporary_files_of_writes_cut_short(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    partial = f"{out}{rundir.PARTIAL}"
    os.rename(out, partial)  # a run killed after its last checkpoint
    os.remove(os.path.join(partial, "run.json"))
    open(os.path.join(partial, ".checkpoint.ckpt.cut.tmp"), "w").close()  # cut by the kill
    assert run_cli(capsys, "train", config, "--resume", out, "--quiet")[0] == 0
    assert sorted(os.listdir(out)) == ["checkpoint.ckpt", "config.toml", "heldout.csv",
                                       "history.csv", "model.annie", "run.json"]


def test_resume_cannot_record_fewer_epochs_and_a_refusal_leaves_nothing(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0  # 15 epochs
    before = snapshot(out)
    code, _, err = run_cli(capsys, "train", config, "--resume", out, "--quiet", "--set",
                           "train.epochs=5")
    assert code == 2 and "has trained 15 epochs" in err and "train.epochs >= 15" in err
    code, _, err = run_cli(capsys, "train", config, "--resume", out, "--quiet", "--set",
                           "optimizer.lr=0.5")
    assert code == 2 and f"the run {str(out)!r} was started with" in err
    assert snapshot(out) == before
    assert sorted(os.listdir(out.parent)) == ["x"]  # no x.partial, no x.lock


def test_a_file_is_not_taken_for_a_run_folder(tmp_path, capsys):
    config = write_project(tmp_path)
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "data.csv")
    assert code == 2 and "is a file, not a run folder" in err
    code, _, err = run_cli(capsys, "train", config, "--out", tmp_path / "data.csv", "--quiet")
    assert code == 2 and "is a file, not a run folder" in err


def test_a_run_stopped_before_its_first_checkpoint_is_not_offered_to_resume(tmp_path, capsys):
    config = write_project(tmp_path)
    out = tmp_path / "runs" / "x"
    assert run_cli(capsys, "train", config, "--out", out, "--quiet")[0] == 0
    partial = f"{out}{rundir.PARTIAL}"
    os.rename(out, partial)  # a run killed before it wrote its first checkpoint
    for name in os.listdir(partial):
        if name != "config.toml":
            os.remove(os.path.join(partial, name))
    for command in (["train", config, "--out", out, "--quiet"],
                    ["train", config, "--resume", out, "--quiet"], ["evaluate", out]):
        code, _, err = run_cli(capsys, *command)
        assert code == 2 and "stopped before its first checkpoint" in err, err
        assert f"--out {out} --overwrite" in err and "continue it with" not in err, err
    assert run_cli(capsys, "train", config, "--out", out, "--overwrite", "--quiet")[0] == 0
    assert rundir.is_complete(str(out)) and not os.path.exists(partial)
