"""DVC's cache: the content-addressed objects that pointers name.

The layout is DVC 3's, both in the local cache and on a remote:
``files/md5/<2 hex>/<30 hex>`` for a file, with ``.dir`` appended for a directory listing.
Objects named by DVC 2 pointers keep DVC 2's layout (``<2 hex>/<30 hex>``) and hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.dvc import safety
from cpv_hooks.dvc.pointers import Pointer
from cpv_hooks.errors import ConfigError, DVCError
from cpv_hooks.fsutil import TMP_PREFIX

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINKS = ("reflink", "copy")  # DVC's default cache.type
CACHE_MODE = 0o444  # DVC protects every cache object read-only
_FICLONE = 0x40049409  # Linux ioctl: copy-on-write clone of a whole file
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # a work tree file DVC copies out gets the umask's mode


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


def link_types(value: str | None) -> tuple[str, ...]:
    """DVC's ``cache.type``: the link types to try, in order."""
    types = tuple(t.strip().lower() for t in (value or "").split(",") if t.strip())
    bad = [t for t in types if t not in LINK_TYPES]
    if bad:
        raise ConfigError(
            f"cache.type {value!r} names {', '.join(bad)}, which is not a DVC link type",
            "use reflink, hardlink, symlink or copy, e.g. `dvc config cache.type hardlink,copy`",
        )
    return types or DEFAULT_LINKS


def _link(kind: str, src: Path, dest: Path) -> None:
    """Make ``dest`` a hardlink, symlink or reflink of ``src`` (OSError where it cannot)."""
    if kind == "hardlink":
        os.link(src, dest)
    elif kind == "symlink":
        os.symlink(os.path.abspath(src), dest)
    else:  # reflink
        import fcntl

        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
        except OSError:
            dest.unlink(missing_ok=True)
            raise


def _link_first(kinds: tuple[str, ...], src: Path, dest: Path) -> str:
    """Link by the first of ``kinds`` that works, else copy (as DVC); returns the kind used."""
    for kind in kinds:
        if kind == "copy":
            break
        try:
            _link(kind, src, dest)
            return kind
        except OSError:
            continue
    shutil.copyfile(src, dest)
    return "copy"


@contextmanager
def _replacing(dest: Path) -> Iterator[Path]:
    """A unique temporary name beside ``dest`` (caches are shared between repos and
    processes): it replaces ``dest`` if the block succeeds and is removed on any failure."""
    tmp = dest.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class Cache:
    """A repo's local DVC cache, with its link types (``cache.type``) and ``cache.shared``."""

    def __init__(
        self, directory: Path, links: tuple[str, ...] = DEFAULT_LINKS, shared: bool = False
    ) -> None:
        self.dir = directory
        self.links = links
        self.shared = shared

    @property
    def linked(self) -> bool:
        """True when work tree files become links to the objects (hardlink or symlink)."""
        return any(k in ("hardlink", "symlink") for k in self.links)

    def _makedirs(self, path: Path) -> None:
        """Create the object's directories; group-writable and setgid with ``cache.shared``."""
        path.mkdir(parents=True, exist_ok=True)
        if self.shared:
            while path != self.dir and path.is_relative_to(self.dir):
                os.chmod(path, 0o2775)
                path = path.parent

    def write(self, md5: str, data: bytes, legacy: bool = False) -> None:
        """Store ``data`` (a ``.dir`` listing) as object ``md5`` (in DVC 2's layout)."""
        dest = self.destination(Obj(md5, legacy=legacy))
        if not dest.exists():
            self._makedirs(dest.parent)
            with _replacing(dest) as tmp:
                tmp.write_bytes(data)
                os.chmod(tmp, CACHE_MODE)

    def store(self, src: Path, md5: str, legacy: bool = False) -> None:
        """Make the file ``src`` object ``md5``, as ``dvc add`` does with the cache's types.

        The object is a clone or hard link of ``src`` when the type and file system allow,
        else a copy; it is read-only (DVC's protection). With ``hardlink`` or ``symlink``
        the work tree file then becomes such a link to it (and so read-only too). ``legacy``
        stores it in DVC 2's layout.
        """
        dest = self.destination(Obj(md5, legacy=legacy))
        if not dest.exists():
            self._makedirs(dest.parent)
            with _replacing(dest) as tmp:
                _link_first(tuple(k for k in self.links if k != "symlink"), src, tmp)
                os.chmod(tmp, CACHE_MODE)
        if self.linked and not (src.is_symlink() or os.path.samefile(src, dest)):
            self.place(md5, src)

    def place(self, md5: str, target: Path) -> None:
        """Put object ``md5`` at ``target`` by the first link type that works (``dvc
        checkout``): a link shares the read-only object, a clone or copy is writable."""
        source = self.path(md5)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _replacing(target) as tmp:
            if _link_first(self.links, source, tmp) in ("reflink", "copy"):
                os.chmod(tmp, FILE_MODE)

    def path(self, md5: str) -> Path:
        """Where the object is: DVC 3's layout, or DVC 2's when only that one has it."""
        path = self.dir / object_key(md5)
        if not path.exists() and self.legacy_path(md5).exists():
            return self.legacy_path(md5)
        return path

    def destination(self, obj: Obj) -> Path:
        """Where a fetched object goes: DVC 2's layout for a DVC 2 pointer's, as DVC puts it."""
        return self.legacy_path(obj.md5) if obj.legacy else self.dir / object_key(obj.md5)

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
