"""DVC pointer files (``*.dvc``) and the content-addressed objects they name.

The layout is DVC 3's, both in the local cache and on a remote:
``files/md5/<2 hex>/<30 hex>`` for a file, with ``.dir`` appended for a directory listing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.dvc import safety
from cpv_hooks.errors import DVCError, ValidationError


@dataclass(frozen=True)
class Pointer:
    """The one output of a ``.dvc`` file."""

    path: str
    md5: str
    size: int
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def as_text(self) -> str:
        """The ``.dvc`` file, as ``dvc add`` writes it."""
        nfiles = f"  nfiles: {self.nfiles}\n" if self.nfiles is not None else ""
        return (
            f"outs:\n- md5: {self.md5}\n  size: {self.size}\n{nfiles}"
            f"  hash: md5\n  path: {self.path}\n"
        )

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"md5": self.md5, "size": self.size}
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        return out


def parse_pointer(text: bytes | str, where: str) -> Pointer:
    """Parse a ``.dvc`` file; a hand-edited, truncated or crafted one raises DVCError."""
    try:
        out = safety.load_yaml_safe(text, where)["outs"][0]
        nfiles = out.get("nfiles")
        return Pointer(
            safety.check_relpath(out["path"], f"{where} path"),
            safety.check_md5(out["md5"], where, allow_dir=True),
            safety.check_size(out.get("size", 0), f"{where} size"),
            safety.check_size(nfiles, f"{where} nfiles") if nfiles is not None else None,
        )
    except (ValidationError, TypeError, KeyError, IndexError, AttributeError) as exc:
        problem = exc.message if isinstance(exc, ValidationError) else repr(exc)
        raise DVCError(
            f"{where} is not a valid DVC pointer ({problem})",
            f"restore it with `git checkout -- {where.split('@')[0]}` or re-add the artifact",
        ) from exc


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


@dataclass(frozen=True)
class Obj:
    """One object of the cache: its md5 (``.dir`` suffixed for listings) and size if known."""

    md5: str
    size: int = -1
    name: str = ""  # a key of its own instead of the md5 layout (cpv validate's probe)

    @property
    def key(self) -> str:
        return self.name or object_key(self.md5)


class Cache:
    """A repo's local DVC cache."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, md5: str) -> Path:
        return self.dir / object_key(md5)

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
            if not ptr.is_dir:
                files[ptr.md5] = Obj(ptr.md5, ptr.size)
                continue
            dirs[ptr.md5] = Obj(ptr.md5)
            if self.has(ptr.md5):
                for entry in self.dir_entries(ptr.md5):
                    files[entry["md5"]] = Obj(entry["md5"])
        return list(files.values()), list(dirs.values())


def _entry(entry: object, where: str) -> dict[str, str]:
    """A listing entry whose md5 and relpath passed the gate."""
    if not isinstance(entry, dict):
        raise safety.refuse(where, f"entry {safety.shown(entry)} is not an object")
    return {
        "md5": safety.check_md5(entry.get("md5"), where),
        "relpath": safety.check_relpath(entry.get("relpath"), where),
    }
