"""Atomic writes: a file is always the old version or the new one, never a mix or a fragment."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import annie
from annie import nn
from annie.io import atomic_open, atomic_write_bytes, atomic_write_text


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_write_new_and_replace(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")
    assert path.read_bytes() == b"old"
    atomic_write_bytes(path, bytearray(b"new content"))
    assert path.read_bytes() == b"new content"
    atomic_write_text(tmp_path / "t.txt", "line 1\r\nünïcode ✓\n")
    assert (tmp_path / "t.txt").read_bytes() == "line 1\r\nünïcode ✓\n".encode("utf-8")
    assert leftovers(tmp_path) == []


def test_large_buffer_written_in_chunks(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, size=3 * (1 << 20) + 17, dtype=np.uint8)
    atomic_write_bytes(tmp_path / "big.bin", data.tobytes())
    assert (tmp_path / "big.bin").read_bytes() == data.tobytes()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_of_existing_file_are_kept(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"new")
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_error_inside_the_block_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old version")
    with pytest.raises(RuntimeError, match="serialiser broke"):
        with atomic_open(path) as handle:
            handle.write(b"half of the new vers")
            raise RuntimeError("serialiser broke")
    assert path.read_bytes() == b"old version"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failing_fsync_or_rename_keeps_the_old_model(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.annie"
    old_model = nn.Sequential(nn.Linear(3, 2))
    annie.save(old_model, path)
    old_bytes = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="No space left"):
        annie.save(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1)), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert leftovers(tmp_path) == []
    assert len(annie.load(path)) == 1


def test_failing_serialisation_keeps_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "model.annie"
    annie.save(nn.Sequential(nn.Linear(3, 2)), path)
    old_bytes = path.read_bytes()

    def broken(tensors, metadata):
        raise MemoryError("out of memory while serialising")

    monkeypatch.setattr(annie.io.format, "seal", broken)
    with pytest.raises(MemoryError):
        annie.save(nn.Sequential(nn.Linear(3, 2)), path)
    assert path.read_bytes() == old_bytes
    assert leftovers(tmp_path) == []


def test_missing_folder_and_folder_target(tmp_path):
    with pytest.raises(annie.SerializationError, match="does not exist"):
        atomic_write_bytes(tmp_path / "no" / "f.bin", b"x")
    with pytest.raises(annie.SerializationError, match="is a folder"):
        atomic_write_bytes(tmp_path, b"x")


# A child process that saves versions 1, 2, 3, ... of a ~1 MB model as fast as it can;
# every parameter of version v is filled with the value v, so a mix of versions shows.
SAVER = """
import sys
import annie
import annie.io
from annie import nn
path, first_version = sys.argv[1], int(sys.argv[2])
model = nn.Sequential(nn.Linear(256, 512), nn.Linear(512, 256))
print("ready", flush=True)
sys.stdin.readline()  # wait for "go", so the parent can start the next saver early
version = first_version
while True:
    for parameter in model.parameters():
        parameter.data[...] = version
    annie.save(model, path, verify=False)
    version += 1
"""


def start_saver(path, first_version):
    child = subprocess.Popen([sys.executable, "-c", SAVER, str(path), str(first_version)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return child, first_version


def saved_version(path) -> int:
    """The single version number every parameter of the saved model holds."""
    model = annie.load(path)
    values = {float(value) for parameter in model.parameters() for value in np.unique(parameter.data)}
    assert len(values) == 1, f"a mix of versions: {sorted(values)[:5]}"
    return int(values.pop())


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_saves_never_leaves_a_mix(tmp_path):
    path = tmp_path / "model.annie"
    model = nn.Sequential(nn.Linear(256, 512), nn.Linear(512, 256))
    for parameter in model.parameters():
        parameter.data[...] = 0
    annie.save(model, path)
    rng = np.random.default_rng(0)
    previous = 0
    kills = 16
    waiting = start_saver(path, 1_000_000)
    for kill in range(kills):
        child, first_version = waiting
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        if kill + 1 < kills:  # the next saver imports annie while this one writes
            waiting = start_saver(path, (kill + 2) * 1_000_000)
        time.sleep(float(rng.uniform(0.0, 0.06)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdin.close()
        child.stdout.close()
        version = saved_version(path)
        assert version == previous or first_version <= version, (version, previous)
        previous = version
    # temp files left by killed writers are the only trace; the model file is always whole
    assert all(name.startswith(".model.annie.") for name in leftovers(tmp_path))
