"""DVC's cache: the content-addressed objects that pointers name.

The layout is DVC 3's, both in the local cache and on a remote:
``files/md5/<2 hex>/<30 hex>`` for a file, with ``.dir`` appended for a directory listing.
Objects named by DVC 2 pointers keep DVC 2's layout (``<2 hex>/<30 hex>``) and hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.dvc import safety
from cpv_hooks.dvc.pointers import Pointer
from cpv_hooks.errors import DVCError


def object_key(md5: str) -> str:
    """The relative key of an object in a cache or remote."""
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def file_md5(path: Path, chunk: int = 1 << 20) -> str:
    """The md5 of a file, as DVC computes it."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def legacy_key(md5: str) -> str:
    """The key DVC 2 gave an object: ``<2 hex>/<30 hex>``, no ``files/md5/`` prefix."""
    return f"{md5[:2]}/{md5[2:]}"


def legacy_md5(path: Path) -> str:
    """The md5 DVC 2 gave a file: a text file (DVC's heuristic) hashed with CRLF read as LF."""
    from dvc_data.hashfile.hash import file_md5 as dvc_file_md5  # rare: DVC 2 pointers only

    return str(dvc_file_md5(str(path), name="md5-dos2unix"))


@dataclass(frozen=True)
class Obj:
    """One object of the cache: its md5 (``.dir`` suffixed for listings) and size if known."""

    md5: str
    size: int = -1
    name: str = ""  # a key of its own instead of the md5 layout (cpv validate's probe)
    legacy: bool = False  # named by a DVC 2 pointer: DVC 2's layout and hash

    @property
    def key(self) -> str:
        return self.name or (legacy_key(self.md5) if self.legacy else object_key(self.md5))

    def matches(self, path: Path, md5: str) -> bool:
        """True when ``path``, whose plain md5 is ``md5``, holds this object's content."""
        want = self.md5.removesuffix(".dir")
        return md5 == want or (self.legacy and legacy_md5(path) == want)


class Cache:
    """A repo's local DVC cache."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, md5: str) -> Path:
        """Where the object is: DVC 3's layout, or DVC 2's when only that one has it."""
        path = self.dir / object_key(md5)
        if not path.exists() and self.legacy_path(md5).exists():
            return self.legacy_path(md5)
        return path

    def legacy_path(self, md5: str) -> Path:
        """Where DVC 2 kept an object: ``<2 hex>/<30 hex>`` at the cache's top."""
        return self.dir / legacy_key(md5)

    def has(self, md5: str) -> bool:
        return self.path(md5).exists()

    def dir_entries(self, md5: str) -> list[dict[str, str]]:
        """The listing stored in a ``.dir`` object, every md5 and relpath checked."""
        where = f"directory listing {md5}"
        try:
            entries = safety.loads_json_limited(self.path(md5).read_bytes(), where)
            assert isinstance(entries, list)
            return [_entry(e, where) for e in entries]
        except (OSError, AssertionError) as exc:
            raise DVCError(
                f"{where} is missing or corrupt in the local cache",
                "fetch it again with `cpv install` (or `dvc pull`)",
            ) from exc

    def objects(self, pointers: Iterable[Pointer]) -> tuple[list[Obj], list[Obj]]:
        """The file objects and the ``.dir`` objects that ``pointers`` need.

        A ``.dir`` whose listing is not in the local cache is returned among the listings
        only; its files are then unknown here (see storage.Remote.missing).
        """
        files: dict[str, Obj] = {}
        dirs: dict[str, Obj] = {}
        for ptr in pointers:
            old = ptr.legacy
            if not ptr.is_dir:
                files[ptr.md5] = Obj(ptr.md5, ptr.size, legacy=old)
                continue
            dirs[ptr.md5] = Obj(ptr.md5, legacy=old)
            if self.has(ptr.md5):
                for entry in self.dir_entries(ptr.md5):
                    files[entry["md5"]] = Obj(entry["md5"], legacy=old)
        return list(files.values()), list(dirs.values())


def _entry(entry: object, where: str) -> dict[str, str]:
    """A listing entry whose md5 and relpath passed the gate."""
    if not isinstance(entry, dict):
        raise safety.refuse(where, f"entry {safety.shown(entry)} is not an object")
    return {
        "md5": safety.check_md5(entry.get("md5"), where),
        "relpath": safety.check_relpath(entry.get("relpath"), where),
    }
