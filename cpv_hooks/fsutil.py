"""Writing files: the one place cpv replaces a file, atomically."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, then rename it.

    A reader sees the old content or the new, never a part; an interrupted write leaves
    nothing behind but the old file. The new file gets ``mode`` (also on creation).
    """
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def remove(path: Path) -> None:
    """Delete a file, also a read-only one (cache objects are 0444; Windows refuses those)."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        os.chmod(path, stat.S_IREAD | stat.S_IWRITE)
        path.unlink(missing_ok=True)


def inode(st: os.stat_result) -> int:
    """``st_ino``, or where the file system has none (0 on some Windows ones) ``st_ctime_ns``.

    Part of the cheap signatures that decide whether a file must be hashed again.
    """
    return st.st_ino or st.st_ctime_ns
