"""Run folders: what a finished run keeps, and how a run is written without ever destroying one.

A run is trained in a sibling folder ``<out>.partial`` (its checkpoint lives there, so an
interrupted run can be resumed) and renamed to ``<out>`` only when it is complete. Replacing an
existing run (``--overwrite``) renames the old one to ``<out>.replaced``, the new one into
place, then deletes the old one; a crash between those two renames leaves the old run whole in
``<out>.replaced``, which ``locate`` reads and the next ``annie train`` puts right. ``run.json``
is written last, so a folder with it is complete. While a command trains a run it holds the
lock file ``<out>.lock``, so a second command on the same run is refused instead of deleting
or sharing the first one's unfinished folder.
"""
from __future__ import annotations

import contextlib
import os
import shutil

from ..errors import ConfigError
from ..io.atomic import fsync_directory

MODEL_FILE = "model.annie"
CONFIG_FILE = "config.toml"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"
FIGURE_FILE = "history.png"
PARTIAL = ".partial"
REPLACED = ".replaced"
LOCK = ".lock"


def _paths(out) -> tuple[str, str, str]:
    out = os.path.normpath(os.fspath(out))
    return out, out + PARTIAL, out + REPLACED


def is_complete(folder: str) -> bool:
    """True for a folder holding a finished run (``run.json`` is written last)."""
    return os.path.isfile(os.path.join(folder, RUN_FILE))


def recover(out) -> None:
    """Put right a replacement interrupted between its two renames: finish it when the new
    run is complete, else bring the old run back."""
    out, partial, replaced = _paths(out)
    if not os.path.isdir(replaced):
        return
    if os.path.isdir(out):  # both renames happened; only deleting the old run was left
        shutil.rmtree(replaced)
        return
    os.rename(partial if is_complete(partial) else replaced, out)
    if os.path.isdir(replaced):
        shutil.rmtree(replaced)
    fsync_directory(os.path.dirname(out) or ".")


def locate(run_dir) -> str:
    """The folder holding the run called ``run_dir``: itself, or the previous run kept in
    ``<run_dir>.replaced`` while a replacement was interrupted. ConfigError if there is none."""
    out, partial, replaced = _paths(run_dir)
    for folder in (out, replaced):
        if os.path.isdir(folder) and is_complete(folder):
            return folder
    if os.path.isfile(out):
        raise ConfigError(f"{os.fspath(run_dir)!r} is a file, not a run folder")
    if os.path.isdir(out):
        raise ConfigError(f"{os.fspath(run_dir)!r} is not a run folder: {RUN_FILE} is missing")
    if os.path.isdir(partial) and not _has_checkpoint(partial):
        raise ConfigError(f"run folder {os.fspath(run_dir)!r} not found; "
                          f"{_stopped_before_checkpoint(partial, out)}")
    if os.path.isdir(partial):
        raise ConfigError(f"run folder {os.fspath(run_dir)!r} not found; {partial!r} holds an "
                          f"unfinished run (continue it with annie train CONFIG --resume "
                          f"{os.fspath(run_dir)})")
    raise ConfigError(f"run folder {os.fspath(run_dir)!r} not found")


def check_target(out, overwrite: bool, resume: bool) -> None:
    """Refuse, before anything is read or written, a run that would replace a run without
    ``overwrite`` or replace a folder that is not a run."""
    recover(out)
    out, partial, _ = _paths(out)
    if resume:
        return
    if os.path.isfile(out):
        raise ConfigError(f"--out {out!r} is a file, not a run folder: choose another --out")
    empty_folder = os.path.isdir(out) and not os.listdir(out)
    if os.path.exists(out) and not empty_folder:
        if not overwrite:
            raise ConfigError(f"run folder {out!r} already exists: choose another --out, or "
                              f"pass --overwrite to replace it (the old run stays whole until "
                              f"the new one is complete)")
        if not os.path.isdir(out) or not is_complete(out):
            raise ConfigError(f"--overwrite replaces run folders only; {out!r} is not one "
                              f"(no {RUN_FILE})")
    if os.path.isdir(partial) and not overwrite:
        if not _has_checkpoint(partial):
            raise ConfigError(_stopped_before_checkpoint(partial, out))
        raise ConfigError(f"{partial!r} holds an unfinished run: continue it with --resume "
                          f"{out}, or pass --overwrite to start again")


def _has_checkpoint(folder: str) -> bool:
    from ..train.checkpoint import has_checkpoint
    return has_checkpoint(folder)


def _stopped_before_checkpoint(partial: str, out: str) -> str:
    """The message for an unfinished run stopped before its first checkpoint."""
    return (f"{partial!r} holds a run stopped before its first checkpoint "
            f"(train.checkpoint_seconds, train.checkpoint_every), so there is nothing to "
            f"resume: pass --out {out} --overwrite to start again")


@contextlib.contextmanager
def lock(out):
    """Hold ``<out>.lock`` while a command trains the run ``out``; ConfigError naming the
    process when another one holds it. (Without ``fcntl``, on Windows, nothing is locked.)"""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - POSIX only
        yield
        return
    out = _paths(out)[0]
    path = out + LOCK
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    while True:
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip()
            handle.close()
            raise ConfigError(f"run folder {out!r} is being trained by another annie command"
                              f"{f' (process {owner})' if owner else ''}: wait for it to end, "
                              f"or choose another --out") from None
        try:  # the file may have been removed and made anew between open and flock
            current = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        handle.close()
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    try:
        yield
    finally:
        os.remove(path)  # still held: a command waiting on this file will try again
        handle.close()


def resume_folder(out, has_checkpoint) -> str:
    """The folder a resumed run continues from: the unfinished ``<out>.partial``, else the
    finished run ``<out>`` (to train further). ``has_checkpoint(folder)`` says whether a
    folder holds a checkpoint; ConfigError when neither does."""
    out, partial, _ = _paths(out)
    for folder in (partial, out):
        if os.path.isdir(folder) and has_checkpoint(folder):
            return folder
    if os.path.isfile(out):
        raise ConfigError(f"--resume: {out!r} is a file, not a run folder")
    if not os.path.isdir(out) and not os.path.isdir(partial):
        raise ConfigError(f"--resume: run folder {out!r} not found")
    if os.path.isdir(partial) and not os.path.isdir(out):
        raise ConfigError(f"--resume: {_stopped_before_checkpoint(partial, out)}")
    raise ConfigError(f"--resume: {out!r} holds no checkpoint to resume")


def stage(out, resume_from: str | None = None) -> str:
    """The folder to train in: a fresh ``<out>.partial``; for a resumed run, the unfinished
    one, or a copy of the finished run ``resume_from`` to train further (see
    ``resume_folder``)."""
    out, partial, _ = _paths(out)
    if resume_from is None or os.path.normpath(resume_from) != partial:
        if os.path.isdir(partial):
            shutil.rmtree(partial)
        if resume_from is None:
            os.makedirs(partial)
            return partial
        shutil.copytree(resume_from, partial)
        os.remove(os.path.join(partial, RUN_FILE))  # incomplete until written again
    for name in os.listdir(partial):  # temporary files of writes cut short by a kill
        if name.startswith(".") and name.endswith(".tmp"):
            os.remove(os.path.join(partial, name))
    return partial


def commit(partial: str, out) -> str:
    """Move the complete run in ``partial`` to ``out``, replacing a run there; returns
    ``out``. At every moment one whole run is at ``out`` or ``<out>.replaced``."""
    out, _, replaced = _paths(out)
    fsync_directory(partial)
    if os.path.isdir(out):
        os.rename(out, replaced)
        os.rename(partial, out)
        fsync_directory(os.path.dirname(out) or ".")
        shutil.rmtree(replaced)
    else:
        os.rename(partial, out)
        fsync_directory(os.path.dirname(out) or ".")
    return out


def abandon(partial: str) -> None:
    """Delete an unfinished run folder (after an error, not after an interruption)."""
    shutil.rmtree(partial, ignore_errors=True)
