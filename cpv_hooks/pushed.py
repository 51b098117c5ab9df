"""What this clone knows is on a remote: the index of pushed objects.

A push asks the remote only about the objects the index cannot vouch for, so a push that
brings no new data lists nothing (DVC keeps such an index since 1.0). Trust comes first
(docs/RELIABILITY.md, "The pushed-objects index"): an entry must never make a push skip an
object that is no longer there.

- An entry is written only for an object this push uploaded or found on the remote, and a
  listing (``.dir``) only with every file it names: a vouched listing is not expanded.
- Deleting goes through ``cpv gc``, which replaces the remote's marker ``cpv/gc.generation``
  before it deletes (state ``deleting``) and again after. Every entry belongs to the marker
  a push read before it looked at the remote; a push that reads another marker drops the
  index; while the marker says ``deleting`` (a gc deletes now) the index is neither used nor
  written. A push checks the marker again before its refs go (gc.guard_push).
- Anything else that deletes (``dvc gc -c``, a bucket lifecycle rule, a wiped prefix) is not
  announced: a sample of the vouched objects (the listings first) is checked with HEAD on
  every push, and one missing drops the index. Replacing the marker with anything drops
  every clone's index.
- Only cpv's own remotes (S3, a directory) keep a marker; remotes through DVC's plugins get
  no index, and ``verify-remote`` never reads one.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cpv_hooks.dvc.cache import Cache, Obj
from cpv_hooks.dvc.pointers import Pointer
from cpv_hooks.fsutil import atomic_write, create_new, remove
from cpv_hooks.repo import Git
from cpv_hooks.storage import LocalRemote, Remote, S3Remote

MARKER = "cpv/gc.generation"
STALE_LOCK = timedelta(hours=2)  # a gc lock (or a deleting marker) older than this is dead
SAMPLE = 8  # vouched objects checked with HEAD on every push
FORMAT = 1


def _marker_key(remote: S3Remote) -> str:
    return f"{remote.prefix}/{MARKER}" if remote.prefix else MARKER


def _read_marker(remote: S3Remote | LocalRemote) -> tuple[bytes, datetime] | None:
    if isinstance(remote, LocalRemote):
        path = remote.base / MARKER
        try:
            data, st = path.read_bytes(), path.stat()
        except FileNotFoundError:
            return None
        return data, datetime.fromtimestamp(st.st_mtime, timezone.utc)
    got = remote.get_or_none(_marker_key(remote))
    return None if got is None else (bytes(got["Body"].read()), got["LastModified"])


def _marker(state: str) -> bytes:
    return json.dumps({"state": state, "token": uuid.uuid4().hex}).encode()


def generation(remote: Remote) -> str | None:
    """The remote's gc generation (a digest of its marker, which the first reader makes), or
    None while a gc deletes, and for remotes that keep no marker."""
    if not isinstance(remote, (S3Remote, LocalRemote)):
        return None
    for _ in range(2):
        found = _read_marker(remote)
        if found is None:
            body = _marker("idle")
            made = (
                create_new(remote.base / MARKER, body)
                if isinstance(remote, LocalRemote)
                else remote.put_once(_marker_key(remote), body)
            )
            if made:
                return _digest(body)
            continue  # another push made it first: read theirs
        data, when = found
        try:
            deleting = json.loads(data).get("state") == "deleting"
        except (ValueError, AttributeError):
            deleting = False  # replaced by hand: any content is a generation
        if deleting and datetime.now(timezone.utc) - when < STALE_LOCK:
            return None
        return _digest(data)
    return None


def bump_generation(remote: Remote, deleting: bool) -> None:
    """Replace the remote's marker (``cpv gc``: with ``deleting`` before it deletes, without
    after): every clone's index of this remote is dropped on its next push."""
    body = _marker("deleting" if deleting else "idle")
    if isinstance(remote, LocalRemote):
        atomic_write(remote.base / MARKER, body)
    elif isinstance(remote, S3Remote):
        client = remote.client
        remote._call(
            "marker write",
            lambda: client.put_object(Bucket=remote.bucket, Key=_marker_key(remote), Body=body),
        )


def _digest(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _top(ptr: Pointer) -> Obj:
    """The object a pointer names (its file, or its listing), as ``Cache.objects`` makes it."""
    return Obj(ptr.md5, -1 if ptr.is_dir else ptr.size, legacy=ptr.legacy)


def _identity(remote: Remote) -> str:
    """The remote as the index knows it: its url and, for S3, its endpoint."""
    endpoint = remote.options.get("endpointurl", "") if isinstance(remote, S3Remote) else ""
    return f"{remote.url}\n{endpoint}"


@dataclass
class RemoteIndex:
    """The objects one remote held at one gc generation, as this clone saw them."""

    remote: Remote
    path: Path
    generation: str | None  # None: no index now (a gc deletes, or no marker on this remote)
    keys: set[str] = field(default_factory=set)
    vouched: int = 0  # objects this push took from the index
    added: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, git: Git, remote: Remote) -> RemoteIndex:
        """The index of ``remote`` (read once its marker was read: one small GET)."""
        name = hashlib.sha256(_identity(remote).encode()).hexdigest()[:24]
        index = cls(remote, git.git_dir() / "cpv" / "pushed" / name, generation(remote))
        index.keys = index._load()
        return index

    def _load(self) -> set[str]:
        """The keys stored for this generation (none when the file is of another)."""
        if self.generation is None:
            return set()
        try:
            header, _, body = self.path.read_text().partition("\n")
            meta = json.loads(header)
        except (OSError, ValueError):
            return set()
        if not isinstance(meta, dict) or meta.get("generation") != self.generation:
            return set()
        if meta.get("format") != FORMAT or meta.get("remote") != _identity(self.remote):
            return set()
        return set(body.split("\n")) - {""}

    def split(self, cache: Cache, pointers: list[Pointer]) -> tuple[list[Obj], list[Obj]]:
        """The file and listing objects of ``pointers`` the remote must be asked about: the
        ones the index cannot vouch for. A vouched listing is not read. A sample of the
        vouched objects is checked on the remote first; one missing drops the index."""
        known: list[Obj] = []
        rest: list[Pointer] = []
        for ptr in pointers:
            if _top(ptr).key in self.keys:
                known.append(_top(ptr))
            else:
                rest.append(ptr)
        files, dirs = cache.objects(rest)
        vouched = known + [o for o in files + dirs if o.key in self.keys]
        if vouched and not self._sampled(cache, vouched):
            remove(self.path)  # its other entries are as doubtful
            self.keys = set()
            return cache.objects(pointers)
        self.vouched = len(vouched)
        return [o for o in files if o.key not in self.keys], [
            d for d in dirs if d.key not in self.keys
        ]

    def _sampled(self, cache: Cache, vouched: list[Obj]) -> bool:
        """True when a sample of ``vouched`` (listings first) is on the remote, whole."""
        listings = [o for o in vouched if o.md5.endswith(".dir")][:SAMPLE]
        rest = [o for o in vouched if not o.md5.endswith(".dir")]
        sample = listings + random.sample(rest, min(len(rest), SAMPLE - len(listings)))
        sizes = self.remote.sizes(sample)
        return all(
            o.md5 in sizes
            and (not cache.has(o.md5) or cache.path(o.md5).stat().st_size == sizes[o.md5])
            for o in sample
        )

    def record(self, objs: list[Obj]) -> None:
        """Remember ``objs`` as on the remote (call once they all are)."""
        if self.generation is not None:
            self.added.update(o.key for o in objs if o.key not in self.keys)

    def unchanged(self) -> bool:
        """True when the remote's gc generation is still the one the index was read at."""
        return self.generation is not None and generation(self.remote) == self.generation

    def save(self) -> None:
        """Store the index with what this push recorded (another push's additions of the
        same generation are kept; atomic: a reader sees the old index or the new)."""
        if not self.added:
            return
        keys = self._load() | self.keys | self.added
        header = {"format": FORMAT, "remote": _identity(self.remote), "generation": self.generation}
        atomic_write(self.path, json.dumps(header) + "\n" + "\n".join(sorted(keys)) + "\n")
        self.keys, self.added = keys, set()
