"""Writing files: the one place cpv replaces a file, atomically, and handles file-system quirks."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_PREFIX = ".cpv-tmp-"  # temporary files beside their target (tests look for them)


@contextmanager
def replacing(path: Path, mode: int | None = None) -> Iterator[Path]:
    """A new temporary file beside ``path`` to fill; on success it replaces ``path``.

    A reader sees the old content or the new, never a part; on an error (or Ctrl-C) the
    temporary file is removed and ``path`` is untouched. The file ends with ``mode``
    (default: the umask's permissions, as DVC leaves files); with a mode it is private
    (0600) while it is written, so a secret is never readable by others on the way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else 0o600))
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`replacing`)."""
    with replacing(path, mode) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def create_new(path: Path, data: bytes) -> bool:
    """Write ``path`` whole, only if it does not exist yet (False then); atomic, with the
    umask's permissions, so teammates sharing a directory remote can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out:
            out.write(data)
        os.link(tmp, path)  # fails when the file exists
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


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
