"""Atomic file writes: a file annie writes is either the old version or the new one, never a mix.

The recipe: write to a temporary file in the same folder, flush, fsync, ``os.replace`` it over
the target (an atomic rename on POSIX and Windows), then fsync the folder so the rename itself
survives a power cut. If anything fails before the rename, the temporary file is removed and the
old file is untouched. (A process killed with SIGKILL cannot clean up: it may leave a
``.<name>.*.tmp`` file beside the target, but the target is still whole.)
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from ..errors import SerializationError, WriteError

_CHUNK_BYTES = 1 << 20  # write large buffers in pieces of 1 MiB


def _new_file_mode(path: Path) -> int:
    """Permission bits for the new file: the old file's, or 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_directory(folder: str | os.PathLike) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        descriptor = os.open(folder, flags)
    except OSError:  # e.g. Windows, where a folder cannot be opened this way
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb",
                encoding: str | None = None) -> Iterator[IO]:
    """Context manager giving a file to write; on a clean exit it replaces ``path`` atomically.

    ``mode`` is ``"wb"`` or ``"w"`` (text, with ``encoding``, UTF-8 by default). If the block
    raises, ``path`` is left as it was and the temporary file is deleted; a failed write
    (disk full, file-size limit) raises ``annie.errors.WriteError`` naming ``path``.
    """
    if mode not in ("wb", "w"):
        raise SerializationError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SerializationError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise SerializationError(f"cannot write {str(path)!r}: it is a folder")
    file_mode = _new_file_mode(path)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        if mode == "w":
            handle = os.fdopen(descriptor, "w", encoding=encoding or "utf-8", newline="")
        else:
            handle = os.fdopen(descriptor, "wb")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, file_mode)
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if isinstance(error, OSError) and not isinstance(error, WriteError):
            reason = error.strerror or str(error)
            raise WriteError(f"cannot write {str(path)!r}: {reason} (errno {error.errno}); the "
                             f"previous file is unchanged", error.errno) from error
        raise
    fsync_directory(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (old content or new, never a mix)."""
    view = memoryview(data).cast("B")
    with atomic_open(path, "wb") as handle:
        for start in range(0, len(view), _CHUNK_BYTES):
            handle.write(view[start:start + _CHUNK_BYTES])


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (old content or new, never a mix)."""
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)
