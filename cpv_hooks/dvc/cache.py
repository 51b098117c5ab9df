"""DVC's cache: the content-addressed objects that pointers name.

The layout is DVC 3's, both in the local cache and on a remote:
``files/md5/<2 hex>/<30 hex>`` for a file, with ``.dir`` appended for a directory listing.
Objects named by DVC 2 pointers keep DVC 2's layout (``<2 hex>/<30 hex>``) and hash.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

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
BUFFER = 4 << 20  # bytes read (and copied) at a time while hashing: see bench/commit.py
WORKERS = min(4, os.cpu_count() or 1)  # files hashed at once (hashlib and I/O release the GIL)
_NO_LINK = {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.EPERM, errno.ENOSYS}
T = TypeVar("T")
R = TypeVar("R")


def object_key(md5: str) -> str:
    """The relative key of an object in a cache or remote."""
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def file_md5(path: Path | str, copy_to: int | None = None) -> str:
    """The md5 of a file, as DVC computes it; its bytes also go to the descriptor
    ``copy_to`` when given (a file read once to hash and copy it: a block is written by a
    second thread while the next one is read and hashed)."""
    digest = hashlib.md5(usedforsecurity=False)
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if copy_to is not None and size > BUFFER:
            _hash_copying(fd, copy_to, digest)
            return digest.hexdigest()
        buf = bytearray(min(BUFFER, size + 1))  # a small file: one read
        view = memoryview(buf)
        while n := os.readv(fd, [buf]):
            digest.update(view[:n])
            if copy_to is not None:
                _write_all(copy_to, view[:n])
    finally:
        os.close(fd)
    return digest.hexdigest()


def _hash_copying(fd: int, copy_to: int, digest: hashlib._Hash) -> None:
    """Hash ``fd`` into ``digest`` and copy it to ``copy_to``, two buffers in turn."""
    from concurrent.futures import Future, ThreadPoolExecutor

    bufs = (bytearray(BUFFER), bytearray(BUFFER))
    pending: Future[None] | None = None
    with ThreadPoolExecutor(1) as writer:
        for turn in itertools.count():
            buf = bufs[turn % 2]  # its last write finished before the previous one started
            n = os.readv(fd, [buf])
            if not n:
                break
            view = memoryview(buf)[:n]
            digest.update(view)
            if pending is not None:
                pending.result()
            pending = writer.submit(_write_all, copy_to, view)
        if pending is not None:
            pending.result()


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def parallel(fn: Callable[[T], R], items: Sequence[T], workers: int = WORKERS) -> list[R]:
    """``[fn(i) for i in items]``, run by ``workers`` threads with no future per item (memory
    stays bounded). The first error, or Ctrl-C, stops the threads after their current item
    and is raised."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    slots: list[R | None] = [None] * len(items)
    todo = iter(range(len(items)))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                slots[i] = fn(items[i])
            except BaseException as exc:  # raised again in the caller's thread
                errors.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # Ctrl-C: let each thread finish its item, then stop
        errors.append(exc)
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]
    return slots  # type: ignore[return-value]  # every slot was filled


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


def _link_first(
    kinds: Iterable[str], src: Path, dest: Path, refused: set[str] | None = None
) -> str:
    """Link by the first of ``kinds`` that works, else copy (as DVC); returns the kind used.

    Kinds the file system refuses as such are added to ``refused`` (not tried again)."""
    for kind in kinds:
        if kind == "copy":
            break
        try:
            _link(kind, src, dest)
            return kind
        except OSError as exc:
            if refused is not None and exc.errno in _NO_LINK:
                refused.add(kind)
            continue
    shutil.copyfile(src, dest)
    return "copy"


def _new_object(tmp: Path, fill: Callable[[int], T]) -> tuple[T, os.stat_result]:
    """Create the read-only file ``tmp`` and ``fill`` it through its descriptor; returns
    what ``fill`` returned and the file's stat."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, CACHE_MODE)
    try:
        result = fill(fd)
        if _UMASK & CACHE_MODE:
            os.fchmod(fd, CACHE_MODE)
        return result, os.fstat(fd)
    finally:
        os.close(fd)


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


class Added(NamedTuple):
    """A file made a cache object: its md5, and the object's (size, mtime_ns) if written now."""

    md5: str
    written: tuple[int, int] | None


class Cache:
    """A repo's local DVC cache, with its link types (``cache.type``) and ``cache.shared``."""

    def __init__(
        self, directory: Path, links: tuple[str, ...] = DEFAULT_LINKS, shared: bool = False
    ) -> None:
        self.dir = directory
        self.links = links
        self.shared = shared
        self._refused: set[str] = set()  # link types this file system refused
        self._made: set[Path] = set()  # object directories made (or found) here

    @property
    def linked(self) -> bool:
        """True when work tree files become links to the objects (hardlink or symlink)."""
        return any(k in ("hardlink", "symlink") for k in self.links)

    def _makedirs(self, path: Path) -> None:
        """Create the object's directories; group-writable and setgid with ``cache.shared``."""
        if path in self._made:
            return
        path.mkdir(parents=True, exist_ok=True)
        self._made.add(path)
        if self.shared:
            while path != self.dir and path.is_relative_to(self.dir):
                os.chmod(path, 0o2775)
                path = path.parent

    def _put(self, obj: Obj, make: Callable[[Path], os.stat_result]) -> tuple[int, int] | None:
        """Make object ``obj`` by ``make(temporary path)`` (which leaves it read-only and
        returns its stat) unless it exists; returns its (size, mtime_ns) when written now."""
        dest = self.destination(obj)
        if dest.exists():
            return None
        self._makedirs(dest.parent)
        with _replacing(dest) as tmp:
            st = make(tmp)
        return st.st_size, st.st_mtime_ns

    def _linked_in(self, kinds: Iterable[str], src: Path, tmp: Path) -> os.stat_result:
        """``src`` linked (or copied) to ``tmp`` by the first of ``kinds`` that works, read-only."""
        _link_first(kinds, src, tmp, self._refused)
        os.chmod(tmp, CACHE_MODE)
        return tmp.stat()

    def write(self, md5: str, data: bytes, legacy: bool = False) -> tuple[int, int] | None:
        """Store ``data`` (a ``.dir`` listing, a small file) as object ``md5`` (in DVC 2's
        layout); returns its (size, mtime_ns) when written now."""
        return self._put(
            Obj(md5, legacy=legacy),
            lambda tmp: _new_object(tmp, lambda fd: _write_all(fd, memoryview(data)))[1],
        )

    def store(self, src: Path, md5: str, legacy: bool = False) -> None:
        """Make the file ``src``, whose md5 is known, object ``md5`` (see :meth:`add`);
        ``legacy`` stores it in DVC 2's layout."""
        self._put(Obj(md5, legacy=legacy), lambda tmp: self._linked_in(self._store_links, src, tmp))
        self._link_back(src, md5)

    def add(self, src: Path) -> Added:
        """Hash the file ``src`` and make it an object, as ``dvc add`` does, reading it once.

        The object is a clone or hard link of ``src`` when the type and file system allow
        (hashed, then linked), else a copy made while hashing; it is read-only (DVC's
        protection). With ``hardlink`` or ``symlink`` the work tree file then becomes such a
        link to it (and so read-only too). A link type the file system refuses is not tried
        again by this Cache.
        """
        kinds = [k for k in self._store_links if k not in self._refused]
        if kinds:
            md5 = file_md5(src)
            written = self._put(Obj(md5), lambda tmp: self._linked_in(kinds, src, tmp))
        else:
            md5, written = self._copy_in(src)
        self._link_back(src, md5)
        return Added(md5, written)

    @property
    def _store_links(self) -> list[str]:
        """The link types that may make an object of a work tree file (before ``copy``)."""
        kinds = self.links[: self.links.index("copy")] if "copy" in self.links else self.links
        return [k for k in kinds if k != "symlink"]

    def _copy_in(self, src: Path) -> tuple[str, tuple[int, int] | None]:
        """Copy ``src`` into the cache, reading it once: a small file is read whole, hashed
        and written (only if new) as its object; a big one is copied into a temporary object
        while it is hashed, then named by its md5."""
        if os.stat(src).st_size <= BUFFER:
            data = src.read_bytes()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            return md5, self.write(md5, data)
        top = self.dir / "files" / "md5"
        self._makedirs(top)
        tmp = top / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            md5, st = _new_object(tmp, lambda fd: file_md5(src, copy_to=fd))
            dest = self.destination(Obj(md5))
            if dest.exists():
                return md5, None
            self._makedirs(dest.parent)
            os.replace(tmp, dest)
            return md5, (st.st_size, st.st_mtime_ns)
        finally:
            tmp.unlink(missing_ok=True)

    def _link_back(self, src: Path, md5: str) -> None:
        """With a linking ``cache.type``, make the work tree file a link to its object."""
        if self.linked and not (src.is_symlink() or os.path.samefile(src, self.path(md5))):
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

    def missing(self, md5s: Sequence[str]) -> list[str]:
        """Those of ``md5s`` the cache lacks. When they are many compared with the cache
        (estimated from one object directory, as DVC estimates a remote's size), the object
        directories are listed instead of a stat per object."""
        top = self.dir / "files" / "md5"
        prefixes = sorted({m[:2] for m in md5s})
        if len(md5s) >= 1000:
            names = {prefixes[0]: _names(top / prefixes[0])}
            if len(names[prefixes[0]]) * 256 < 3 * len(md5s):  # a name listed: 1/3 of a stat
                names.update((p, _names(top / p)) for p in prefixes[1:])
                return [m for m in md5s if m[2:] not in names[m[:2]] and not self.has(m)]
        return [m for m in md5s if not self.has(m)]

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


def _names(directory: Path) -> set[str]:
    try:
        return set(os.listdir(directory))
    except FileNotFoundError:
        return set()


def _entry(entry: object, where: str) -> dict[str, str]:
    """A listing entry whose md5 and relpath passed the gate."""
    if not isinstance(entry, dict):
        raise safety.refuse(where, f"entry {safety.shown(entry)} is not an object")
    return {
        "md5": safety.check_md5(entry.get("md5"), where),
        "relpath": safety.check_relpath(entry.get("relpath"), where),
    }
