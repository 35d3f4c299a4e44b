"""Many machines on one study: a real PostgreSQL server (initdb into a temporary folder,
pg_ctl on a free loopback port) and two ``annie tune`` commands started at the same moment
against one fresh database, as two machines would be. They race to create the tables and the
study, share the trials, and end with exactly the asked total.

CI installs PostgreSQL (``.ci/run``) and sets ANNIE_REQUIRE_POSTGRES=1, so there this test
fails instead of skipping when the server cannot be started."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest

from tune_helpers import (TUNE, annie_command, finished_count, load_study, states,
                          write_config)

pytest.importorskip("psycopg")
REQUIRED = os.environ.get("ANNIE_REQUIRE_POSTGRES") == "1"


def _postgres_bin() -> str | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(found)
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                     key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2]
                     .isdigit() else 0)
    return folders[-1] if folders else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"PostgreSQL is required here (ANNIE_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres_url():
    """A running PostgreSQL server of our own; its URL (user annie, trust authentication)."""
    bin_folder = _postgres_bin()
    if bin_folder is None:
        _unavailable("PostgreSQL's initdb and pg_ctl are not installed (apt-get install "
                     "postgresql)")
    folder = tempfile.mkdtemp(prefix="annie-postgres-")
    run_as = []
    if os.geteuid() == 0:   # initdb refuses to run as root: use an unprivileged user
        user = next((name for name in ("postgres", "nobody") if _user_exists(name)), None)
        if user is None:
            _unavailable("running as root and no unprivileged user for initdb")
        shutil.chown(folder, user)
        run_as = ["runuser", "-u", user, "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    log = os.path.join(folder, "server.log")

    def command(name, *arguments):
        return subprocess.run([*run_as, os.path.join(bin_folder, name), *arguments],
                              capture_output=True, text=True, timeout=120)

    made = command("initdb", "-D", data, "-U", "annie", "--auth=trust", "-E", "UTF8",
                   "--no-sync")
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"initdb failed: {made.stderr.strip()[-500:]}")
    started = command("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o",
                      f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                      "start")
    if started.returncode != 0:
        text = open(log).read()[-500:] if os.path.exists(log) else started.stderr
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"pg_ctl start failed: {text}")
    try:
        yield f"postgresql://annie@127.0.0.1:{port}/postgres"
    finally:
        command("pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_two_machines_share_one_postgresql_study(postgres_url, tmp_path):
    path = write_config(tmp_path, epochs=40, tune=TUNE + 'pruner = "none"\n')
    commands = [annie_command("tune", str(path), "--trials", "10", "--storage", postgres_url,
                              "--study", "shared", "--out", str(tmp_path / f"machine{index}"),
                              "--no-figures", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
                for index in (1, 2)]
    outputs = [command.communicate(timeout=300) for command in commands]
    for command, (stdout, stderr) in zip(commands, outputs):
        assert command.returncode == 0, stderr
    study = load_study(postgres_url.replace("postgresql://", "postgresql+psycopg://"),
                       "shared")
    assert finished_count(study) == 10
    assert "RUNNING" not in states(study)
    numbers = [trial.number for trial in study.trials]
    assert len(set(numbers)) == len(numbers)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len({trial.user_attrs["worker"] for trial in finished}) == 2   # both did trials
    for index in (1, 2):   # each machine wrote the study's reports
        assert (tmp_path / f"machine{index}" / "trials.csv").is_file()
        assert not (tmp_path / f"machine{index}" / "study.db").exists()
