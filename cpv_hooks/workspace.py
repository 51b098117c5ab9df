"""The work tree's artifacts: what changed since their pointers, ``dvc add``, ``dvc checkout``.

A small record in ``.git/cpv/state.json`` remembers, for each artifact, the stat signature of
the file (or of every file under a directory) and the pointer it matched. When both are
unchanged nothing needs hashing and DVC is not even imported: that is the hooks' fast path.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import posixpath
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from json.encoder import encode_basestring_ascii
from pathlib import Path

from cpv_hooks.dvc.cache import Cache, Obj, file_md5, legacy_md5, parallel
from cpv_hooks.dvc.ignore import walk
from cpv_hooks.dvc.pointers import (
    Pointer,
    ignore_artifact,
    parse_pointer,
    pointer_path,
    pointer_text,
)
from cpv_hooks.dvc.safety import check_relpath, resolve_inside
from cpv_hooks.errors import DVCError, RepositoryError, ValidationError
from cpv_hooks.fsutil import atomic_write, inode, remove
from cpv_hooks.repo import Artifact, Git, RepoConfig, load_repo_config

MB = 1024 * 1024
Record = tuple[int, int, int, str]  # size, mtime_ns, inode (see fsutil.inode) and md5 of a file


@dataclass
class Scan:
    """One walk of an artifact: what the commit path needs of the file system.

    ``files`` holds (relative path, size, mtime_ns, inode) of each file DVC collects, sorted
    (one entry named "" for a single-file artifact); ``links`` every symlink met, repo-relative.
    """

    files: list[tuple[str, int, int, int]]
    links: list[str]
    is_dir: bool

    @cached_property
    def sig(self) -> str:
        """A cheap fingerprint of the artifact: a change of any file's key changes it."""
        if not self.is_dir:
            _, size, mtime, ino = self.files[0]
            return f"f:{size}:{mtime}:{ino}"
        text = "".join(f"{name}\0{size}:{mtime}:{ino}\n" for name, size, mtime, ino in self.files)
        return "d:" + hashlib.sha1(os.fsencode(text), usedforsecurity=False).hexdigest()


def scan(root: Path, rel: str) -> Scan | None:
    """Walk the artifact ``rel`` once (``.dvcignore``d files left out); None if it is absent."""
    path = root / rel
    links = [rel] if os.path.islink(path) else []
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return Scan([("", st.st_size, st.st_mtime_ns, inode(st))], links, False)
    met: list[str] = []
    files = sorted(
        (name, fst.st_size, fst.st_mtime_ns, inode(fst)) for name, fst in walk(root, rel, links=met)
    )
    return Scan(files, links + [f"{rel}/{name}" for name in met], True)


def dir_listing(records: Iterable[tuple[str, str]]) -> bytes:
    """A ``.dir`` listing, byte for byte DVC's ``json.dumps(entries, sort_keys=True)``, of
    (relpath, md5) pairs sorted by relpath."""
    body = ", ".join(
        f'{{"md5": "{md5}", "relpath": {encode_basestring_ascii(rel)}}}' for rel, md5 in records
    )
    return f"[{body}]".encode()


def _previous(text: str | None, where: str) -> Pointer | None:
    """The pointer being replaced, if it is a readable one (a broken one is simply replaced)."""
    try:
        return None if text is None else parse_pointer(text, where)
    except DVCError:
        return None


def _sha(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@dataclass
class SyncReport:
    """What a checkout of the artifacts did."""

    restored: list[str]
    kept: list[str]
    fetched: int


class Workspace:
    """The artifacts of one model repo's work tree."""

    def __init__(self, root: Path, git: Git | None = None) -> None:
        self.root = root
        self.git = git or Git(root)
        self.config: RepoConfig = load_repo_config(root)
        self._state_path = self.git.git_dir() / "cpv" / "state.json"
        self._state: dict[str, dict[str, str]] | None = None
        self._verified_path = self._state_path.with_name("verified.txt")
        self._cache: Cache | None = None
        self._scans: dict[str, Scan | None] = {}  # one walk per artifact, until it changes
        self._fresh = False  # the walks are changed()'s, not yet used by an operation

    def scan(self, art: Artifact) -> Scan | None:
        """The artifact's :class:`Scan`, walked once per operation (see :meth:`locked`)."""
        if art.path not in self._scans:
            self._scans[art.path] = scan(self.root, art.path)
        return self._scans[art.path]

    def _sig(self, art: Artifact) -> str | None:
        found = self.scan(art)
        return None if found is None else found.sig

    # -- the state record -------------------------------------------------------------

    @property
    def state(self) -> dict[str, dict[str, str]]:
        if self._state is None:
            try:
                self._state = json.loads(self._state_path.read_text())
            except (OSError, ValueError):
                self._state = {}
        return self._state

    def _record(self, arts: Iterable[Artifact]) -> None:
        for art in arts:
            ptr = self.pointer_bytes(art)
            sig = self._sig(art)
            if ptr is None or sig is None:
                self.state.pop(art.path, None)
            else:
                self.state[art.path] = {"sig": sig, "ptr": _sha(ptr)}
        atomic_write(self._state_path, json.dumps(self.state, indent=1, sort_keys=True))

    def pointer_bytes(self, art: Artifact) -> bytes | None:
        try:
            return (self.root / art.pointer).read_bytes()
        except FileNotFoundError:
            return None

    def pointer(self, art: Artifact) -> Pointer | None:
        data = self.pointer_bytes(art)
        return None if data is None else parse_pointer(data, art.pointer)

    def pointer_moved(self, art: Artifact) -> bool:
        """True when the pointer is not the one cpv last left the artifact with (no walk)."""
        rec = self.state.get(art.path)
        ptr = self.pointer_bytes(art)
        return rec is not None and ptr is not None and rec["ptr"] != _sha(ptr)

    def matches_pointer(self, art: Artifact) -> bool:
        """True when the record says the artifact is exactly what its pointer names."""
        rec = self.state.get(art.path)
        ptr = self.pointer_bytes(art)
        return (
            rec is not None
            and ptr is not None
            and rec["ptr"] == _sha(ptr)
            and rec["sig"] == self._sig(art)
        )

    # -- commit side ------------------------------------------------------------------

    def changed(self) -> tuple[list[Artifact], list[Artifact]]:
        """DVC artifacts the user changed, and those whose pointer git changed.

        The first list holds artifacts whose content may differ from their pointer. The
        second holds artifacts that are exactly as cpv last left them while git moved their
        pointer without a hook (a conflicted merge, a reset): those must follow the pointer,
        never be added over it. An artifact whose pointer exists but whose file is gone is an
        error when this work tree had it (deleted); when it was never checked out, skipped.
        """
        out: list[Artifact] = []
        stale: list[Artifact] = []
        self._scans.clear()  # a fresh walk, which the add that follows reuses
        self._fresh = True
        for art in self.config.dvc_artifacts:
            found = self.scan(art)  # the one walk of the commit
            if found is None:
                if self.pointer_bytes(art) is not None and art.path in self.state:
                    raise ValidationError(
                        f"{art.path} was deleted but {art.pointer} still points to it",
                        f"restore it with `dvc checkout {art.pointer}`, or stop versioning it "
                        f"with `git rm {art.pointer}`",
                    )
                continue
            rec = self.state.get(art.path)
            unchanged = rec is not None and rec["sig"] == found.sig
            ptr = self.pointer_bytes(art)
            if unchanged and ptr is not None and rec is not None and rec["ptr"] == _sha(ptr):
                continue  # exactly what its pointer names
            (stale if unchanged else out).append(art)
        return out, stale

    def check_artifacts(self, arts: Iterable[Artifact]) -> None:
        """Refuse symlinks leaving the repo (but for ``cache.type symlink`` ones into the
        cache), and model files outside the size limits."""
        top = Path(os.path.realpath(self.root))
        for art in arts:
            path = self.root / art.path
            found = self.scan(art)
            for link in [] if found is None else found.links:
                target = Path(os.path.realpath(self.root / link))
                if target.is_relative_to(top) or target.is_relative_to(
                    os.path.realpath(self.cache().dir)
                ):
                    continue  # inside the repo, or a link DVC makes into its cache
                where = self.root / link
                raise ValidationError(
                    f"{link} is a symlink to {target}, outside the repo",
                    f"copy the file in instead: cp --remove-destination {target} {where}",
                )
            resolve_inside(self.root, art.path, art.path)  # its directory may be a link out
            if art.kind == "model" and not path.is_dir():
                self.check_size(path, art.path)

    def check_size(self, path: Path, label: str) -> None:
        """Refuse a model file outside the size limits of ``.cpv.yaml``."""
        cfg = self.config
        size_mb = path.stat().st_size / MB
        if not cfg.min_model_mb <= size_mb <= cfg.max_model_mb:
            raise ValidationError(
                f"{label} is {size_mb:.3f} MB, outside the limits "
                f"{cfg.min_model_mb}-{cfg.max_model_mb} MB",
                "check you copied the right file, or change limits in .cpv.yaml",
            )

    def add(
        self, arts: list[Artifact], check: Callable[[Artifact, Pointer], None] | None = None
    ) -> None:
        """What ``dvc add`` does, in DVC's formats: cache objects, pointer, .gitignore entry.

        Done here rather than through DVC so a commit never pays for importing DVC, and so a
        directory is re-hashed only in the files whose size, mtime or inode changed (DVC's
        state db), from the one walk of the commit. New files are hashed and stored in
        parallel, each read once. ``check`` may refuse an artifact (raise) before its
        pointer is written.
        """
        if not arts:
            return
        with self.locked():
            cache = self.cache()
            written: dict[str, tuple[int, int]] = {}
            for art in arts:
                old = self.pointer_bytes(art)
                old_text = None if old is None else old.decode("utf-8", "replace")
                prev = _previous(old_text, art.pointer)
                found = self.scan(art)
                if found is None:
                    raise ValidationError(
                        f"{art.path} disappeared during the commit", "commit again once it is back"
                    )
                if prev is not None and prev.legacy and self._kept_legacy(art, cache, prev):
                    ptr = prev  # DVC keeps a DVC 2 pointer until the data changes
                elif found.is_dir:
                    ptr = self._add_dir(art, found, cache, written)
                else:
                    ptr = self._add_file(art, found, cache, written)
                if check is not None:
                    check(art, ptr)
                atomic_write(self.root / art.pointer, pointer_text(ptr, old_text))
                self._ignore(art)
            self._save_verified(written)  # one write of the record, however many files
            self._record(arts)

    def _add_file(
        self, art: Artifact, found: Scan, cache: Cache, written: dict[str, tuple[int, int]]
    ) -> Pointer:
        added = cache.add(self.root / art.path)
        if added.written:
            written[added.md5] = added.written
        if cache.linked:  # the file may now be a link to the object
            self._scans.pop(art.path)
        return Pointer(pointer_path(art.pointer), added.md5, found.files[0][1])

    def _kept_legacy(self, art: Artifact, cache: Cache, prev: Pointer) -> bool:
        """True when the DVC 2 pointer ``prev`` still names the artifact's data (DVC 2's
        hash: text files with CRLF read as LF); its objects then go to DVC 2's layout."""
        path = self.root / art.path
        if not path.is_dir():
            if prev.is_dir or prev.size != path.stat().st_size or legacy_md5(path) != prev.md5:
                return False
            cache.store(path, prev.md5, legacy=True)
            return True
        if not prev.is_dir:
            return False
        files = sorted(rel for rel, _ in walk(self.root, art.path))
        md5s = [(rel, legacy_md5(path / rel)) for rel in files]
        listing = dir_listing(md5s)  # DVC 2's .dir: DVC 3's format
        if hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir" != prev.md5:
            return False
        for rel, md5 in md5s:
            cache.store(path / rel, md5, legacy=True)
        cache.write(prev.md5, listing, legacy=True)
        self._scans.pop(art.path)
        return True

    def _add_dir(
        self, art: Artifact, found: Scan, cache: Cache, written: dict[str, tuple[int, int]]
    ) -> Pointer:
        """Hash and store the files of a directory that are new or changed (or whose object
        left the cache) and write its ``.dir`` listing."""
        base = self.root / art.path
        known = self._file_records(art)
        records: dict[str, Record] = {}
        fresh: list[str] = []
        for rel, size, mtime, ino in found.files:
            rec = known.get(rel)
            if rec is None or rec[:3] != (size, mtime, ino):
                rec = (size, mtime, ino, "")
                fresh.append(rel)
            records[rel] = rec
        lost = set(cache.missing([rec[3] for rec in records.values() if rec[3]]))
        fresh += [rel for rel, rec in records.items() if rec[3] in lost]
        for rel in fresh:
            _check_listable(art, rel)
        for rel, added in zip(fresh, parallel(lambda r: cache.add(base / r), fresh), strict=True):
            size, mtime, ino, _ = records[rel]
            if cache.linked:  # the file may now be a link to the object: another inode
                st = os.stat(base / rel)
                size, mtime, ino = st.st_size, st.st_mtime_ns, inode(st)
            records[rel] = (size, mtime, ino, added.md5)
            if added.written:
                written[added.md5] = added.written
        listing = dir_listing((rel, rec[3]) for rel, rec in records.items())
        dir_md5 = hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"
        if stored := cache.write(dir_md5, listing):
            written[dir_md5] = stored
        if records != known:
            self._save_file_records(art, records)
        if cache.linked and fresh:
            self._scans[art.path] = Scan(
                [(rel, *rec[:3]) for rel, rec in records.items()], found.links, True
            )
        total = sum(rec[0] for rec in records.values())
        return Pointer(pointer_path(art.pointer), dir_md5, total, len(records))

    def gitignores(self, arts: Iterable[Artifact]) -> list[str]:
        """The existing ``.gitignore`` files that ``add`` writes for ``arts``."""
        return sorted({a.gitignore for a in arts if (self.root / a.gitignore).exists()})

    def _ignore(self, art: Artifact) -> None:
        """Make sure git ignores the artifact, as ``dvc add`` does (``.gitignore`` beside it)."""
        if not self.git.ok("check-ignore", "-q", "--no-index", "--", art.path):
            ignore_artifact(self.root, art.path)

    def _file_records(self, art: Artifact) -> dict[str, Record]:
        """What the last add or checkout saw of each file of a directory (none if unreadable)."""
        try:
            data = marshal.loads(self._files_path(art).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_file_records(self, art: Artifact, records: dict[str, Record]) -> None:
        atomic_write(self._files_path(art), marshal.dumps(records))
        self._files_path(art).with_suffix(".json").unlink(missing_ok=True)  # an older cpv's record

    def _files_path(self, art: Artifact) -> Path:
        return self._state_path.with_name(f"files-{_sha(art.path.encode())[:12]}.marshal")

    # -- checkout side ----------------------------------------------------------------

    def sync(self, only: list[Artifact] | None = None) -> SyncReport:
        """Make the DVC artifacts (or ``only`` these) match their pointers, fetching objects.

        An artifact with changes that are in no cache is left as it is (never overwritten).
        """
        todo: list[tuple[Artifact, Pointer]] = []
        for art in self.config.dvc_artifacts if only is None else only:
            ptr = self.pointer(art)
            if ptr is not None and not self.matches_pointer(art):
                todo.append((art, ptr))
        if not todo:
            return SyncReport([], [], 0)
        with self.locked():
            kept = [a.path for a, _ in todo if not self.is_saved(a)]
            todo = [(a, p) for a, p in todo if a.path not in kept]
            pointers = [p for _, p in todo]
            fetched = self.ensure_cached(pointers)
            bad = self.verify_cache(pointers)
            if bad:
                fetched += self.ensure_cached(pointers)
                print(
                    f"cpv: {len(bad)} corrupt object(s) in the local cache (e.g. {bad[0]}) "
                    "were replaced by verified copies from the remote",
                    file=sys.stderr,
                )
            for art, ptr in todo:
                self._checkout(art, ptr)
            self._record(a for a, _ in todo)
        restored = [a.path for a, _ in todo]
        for path in kept:
            print(
                f"cpv: {path} has changes that are not committed; left it as it is: commit "
                f"it, or discard them with `dvc checkout --force {path}.dvc`",
                file=sys.stderr,
            )
        return SyncReport(restored, kept, fetched)

    def _checkout(self, art: Artifact, ptr: Pointer) -> None:
        """Put the cached content of ``ptr`` at ``art``'s path, as ``dvc checkout`` does."""
        cache = self.cache()
        self._scans.pop(art.path, None)  # walked again when recorded
        dest = resolve_inside(self.root, art.path, art.pointer)
        if not ptr.is_dir:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            # the old content is in the cache (is_saved): free it before writing the new copy
            dest.unlink(missing_ok=True)
            cache.place(ptr.md5, dest)
            return
        if dest.exists() and not dest.is_dir():
            dest.unlink()
        dest.mkdir(parents=True, exist_ok=True)
        known = self._file_records(art)
        wanted = {e["relpath"]: e["md5"] for e in cache.dir_entries(ptr.md5)}
        for parent in {posixpath.dirname(rel) for rel in wanted} - {""}:
            resolve_inside(self.root, f"{art.path}/{parent}", art.pointer)
        records: dict[str, Record] = {}
        for rel, _ in list(walk(self.root, art.path)):
            if rel not in wanted:
                (dest / rel).unlink()  # is_saved() made sure it is in the cache
        for rel, md5 in wanted.items():
            target = dest / rel
            rec = known.get(rel)
            try:
                st = target.stat()
                current = (
                    rec is not None
                    and rec[3] == md5
                    and rec[:3] == (st.st_size, st.st_mtime_ns, inode(st))
                )
            except FileNotFoundError:
                current = False
            if not current:
                cache.place(md5, target)
                st = target.stat()
            records[rel] = (st.st_size, st.st_mtime_ns, inode(st), md5)
        for sub in sorted((p for p in dest.rglob("*") if p.is_dir()), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
        self._save_file_records(art, records)

    def is_saved(self, art: Artifact) -> bool:
        """True when the work tree's copy of ``art`` is absent or already in the cache."""
        path = self.root / art.path
        rec = self.state.get(art.path)
        if not path.exists() or (rec is not None and rec["sig"] == self._sig(art)):
            return True
        cache = self.cache()
        files = [path] if not path.is_dir() else [path / r for r, _ in walk(self.root, art.path)]
        return all(cache.has(file_md5(f)) for f in files)

    def set_aside(self, art: Artifact) -> Path:
        """Move the work tree's copy of ``art`` under ``.git/cpv/set-aside/``; returns where."""
        from cpv_hooks.config import now

        stamp = now().strftime("%Y%m%dT%H%M%S%f")
        dest = self._state_path.parent / "set-aside" / stamp / art.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / art.path, dest)
        self.state.pop(art.path, None)
        self._scans.pop(art.path, None)
        return dest

    @contextmanager
    def locked(self, timeout: float = 600) -> Iterator[None]:
        """Serialise cpv operations on this repo across processes; re-entrant in a process.

        Walks of the artifacts are forgotten when it is released (the operation is over) and
        when it is first taken, except those of :meth:`changed`, which the add that follows
        reuses (any other walk made outside it may be stale)."""
        from filelock import FileLock, Timeout

        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self._state_path.parent / "lock"), is_singleton=True)
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise RepositoryError(
                "another cpv operation holds this repo's lock", "wait for it to finish, then retry"
            ) from exc
        if lock.lock_counter == 1 and not self._fresh:
            self._scans.clear()
        try:
            yield
        finally:
            lock.release()
            self._scans.clear()
            self._fresh = False

    def verify_cache(self, pointers: list[Pointer]) -> list[str]:
        """Drop cache objects of ``pointers`` whose content no longer matches their md5.

        An object is hashed again only when its size or mtime differs from when cpv last
        saw it good (added, fetched or verified), so a normal checkout hashes nothing.
        Returns the md5s of the corrupt objects removed.
        """
        cache = self.cache()
        files, dirs = cache.objects(pointers)
        record = self._verified()
        good: dict[str, tuple[int, int]] = {}
        bad = []
        for obj in dirs + files:
            path = cache.path(obj.md5)
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if record.get(obj.md5) == (st.st_size, st.st_mtime_ns):
                continue
            if obj.matches(path, file_md5(path)):
                good[obj.md5] = (st.st_size, st.st_mtime_ns)
            else:
                remove(path)  # a read-only cache object
                bad.append(obj.md5)
        self._save_verified(good)
        return bad

    def remember(self, objs: list[Obj]) -> None:
        """Note cache objects as good as they are now (just fetched)."""
        cache = self.cache()
        good = {}
        for obj in objs:
            try:
                st = cache.path(obj.md5).stat()
            except FileNotFoundError:
                continue
            good[obj.md5] = (st.st_size, st.st_mtime_ns)
        self._save_verified(good)

    def _verified(self) -> dict[str, tuple[int, int]]:
        """The record of objects seen good: md5 -> (size, mtime_ns) then (a later line wins)."""
        try:
            lines = self._verified_path.read_text().splitlines()
        except OSError:
            return {}
        record = {}
        for line in lines:
            md5, _, stamp = line.partition(" ")
            size, _, mtime = stamp.partition(" ")
            if size.isdigit() and mtime.isdigit():  # a line cut short by a crash is skipped
                record[md5] = (int(size), int(mtime))
        if len(lines) > 2 * len(record) + 1000:  # mostly superseded lines: compact it
            atomic_write(self._verified_path, self._lines(record).encode())
        return record

    @staticmethod
    def _lines(good: dict[str, tuple[int, int]]) -> str:
        return "".join(f"{md5} {size} {mtime}\n" for md5, (size, mtime) in good.items())

    def _save_verified(self, good: dict[str, tuple[int, int]]) -> None:
        """Append ``good`` to the record: one write, whatever the size of the record."""
        if good:
            self._verified_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._verified_path, "a", encoding="utf-8") as fh:
                fh.write(self._lines(good))
            self._verified_path.with_suffix(".json").unlink(
                missing_ok=True
            )  # an older cpv's record

    def cache(self) -> Cache:
        """The repo's DVC cache, with ``cache.type`` and ``cache.shared`` from DVC's config
        (read once per Workspace)."""
        if self._cache is None:
            from cpv_hooks.dvc.cache import link_types
            from cpv_hooks.dvc.config import load
            from cpv_hooks.storage import cache_dir

            config = load(self.root)
            settings = config.get("cache", {})
            self._cache = Cache(
                cache_dir(self.root, config),
                link_types(settings.get("type")),
                settings.get("shared", "").lower() == "group",
            )
        return self._cache

    def ensure_cached(self, pointers: list[Pointer]) -> int:
        """Download into the cache what ``pointers`` need and it lacks; returns objects fetched."""
        from cpv_hooks.storage import by_remote, fetch

        cache = self.cache()
        total = 0
        files, dirs = cache.objects(pointers)
        if all(cache.has(o.md5) for o in files + dirs):
            return 0
        for remote, ptrs in by_remote(self.root, pointers):  # a pointer's own `remote:` first
            for round_ in (1, 2):  # first the .dir listings, then the files they name
                files, dirs = cache.objects(ptrs)
                want = [o for o in (dirs if round_ == 1 else files) if not cache.has(o.md5)]
                if want:
                    fetch(remote, cache, want)
                    self.remember(want)
                    total += len(want)
        return total


def _check_listable(art: Artifact, rel: str) -> None:
    """Refuse at commit a file that no checkout would accept in a listing (e.g. ``.git/``)."""
    try:
        check_relpath(rel, art.path)
    except ValidationError as exc:
        raise ValidationError(
            exc.message, f"move it out of {art.path}/ or rename it; cpv cannot version it"
        ) from exc
