"""Writing the small files training produces (CSV history, figures) atomically through
``annie.io``: a temporary file in the same folder, flushed, fsynced and renamed."""
from __future__ import annotations

import io
import os


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    from ..io import atomic_write_text
    atomic_write_text(path, text)


def save_figure(figure, path: str | os.PathLike) -> None:
    """Save a matplotlib figure as PNG atomically."""
    from ..io import atomic_write_bytes
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
