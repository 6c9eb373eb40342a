"""Atomic report files: a reader sees the previous file or the complete new one, never a half-written one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def write_atomic(path: Path, render: Callable[[TextIO], object]) -> None:
    """Render into a temporary file beside `path`, fsync it, then rename it over `path`.

    If rendering or writing fails, the temporary file is removed and `path` is left as it was.
    OSError propagates; callers turn it into a message for the operator.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any file the user writes (mkstemp would force 0600).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            render(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_directory(path.parent)


def ensure_directory(path: Path) -> None:
    """Create `path` and its parents if missing; NotADirectoryError when a file is in the way."""
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "it is a file, not a folder", str(path))
    path.mkdir(parents=True, exist_ok=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a filesystem that cannot fsync a directory is not an error."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
