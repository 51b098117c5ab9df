"""Garbage collection of a DVC remote and of the local cache, from what git says is needed.

Safety rules (README "Storage and cleanup", docs/RELIABILITY.md):

- needed = the data of EVERY commit reachable from any ref on the git remote (branches and
  tags, fetched fresh into ``refs/cpv-gc/*``; the user's refs are never touched) and from this
  clone's own branches, remote-tracking branches (stale ones too), tags and HEAD (unpushed
  work), not only the tips;
- ``.dir`` listings are expanded (local cache, else fetched from the remote through the
  listing gate); a needed listing that cannot be read stops gc before anything is deleted;
- an object younger than the grace period is never deleted (a push uploads its objects before
  it sends its refs), and the remote's refs are checked again just before deleting;
- only keys of DVC 3's layout (``files/md5/<2>/<30>[.dir]``) under the remote's prefix are
  candidates; pointers with a ``remote:`` of another remote do not count for this one and a
  ``remote:`` that cannot be resolved counts as this one (kept);
- one gc at a time per remote: a lock object ``cpv/gc.lock`` on the remote; a push that
  relies on objects already there checks them and the lock before its refs go (guard_push);
- before deleting, and again after, gc replaces the remote's marker ``cpv/gc.generation``,
  which drops every clone's pushed-objects index (pushed.py); listings go before files.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from cpv_hooks.dvc.cache import Cache, Obj
from cpv_hooks.dvc.pointers import Pointer, parse_pointer
from cpv_hooks.errors import ConfigError, GitError, StorageError, ValidationError
from cpv_hooks.fsutil import remove
from cpv_hooks.manifest import Manifest, parse_manifest
from cpv_hooks.pruned import NOTES_REF, Mark, add_marks, marks
from cpv_hooks.push import advertised_refs, pointers_at
from cpv_hooks.pushed import STALE_LOCK, RemoteIndex, bump_generation
from cpv_hooks.repo import Git, Retention, load_repo_config
from cpv_hooks.storage import (
    LocalRemote,
    Remote,
    S3Remote,
    cache_dir,
    fetch,
    missing_objects,
    open_remote,
)
from cpv_hooks.versions import KINDS, parse_tag

GC_NAMESPACE = "refs/cpv-gc"
LOCK_KEY = "cpv/gc.lock"
DEFAULT_GRACE = timedelta(hours=24)
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys a call
_KEY_RE = re.compile(r"(?:^|/)files/md5/([0-9a-f]{2})/([0-9a-f]{30}(?:\.dir)?)$")


@dataclass(frozen=True)
class StoredObject:
    """One object found on a remote or in the cache."""

    key: str
    md5: str
    size: int
    modified: datetime


@dataclass
class Needs:
    """What git says must stay: object md5s (``.dir`` suffixed for listings)."""

    md5s: set[str]
    refs: int
    commits: int


@dataclass
class GCReport:
    """What a gc found and deleted (or, in a dry run, would delete)."""

    target: str
    refs: int
    commits: int
    needed: int
    stored: int
    recent: int
    delete: list[StoredObject] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # versions a retention policy keeps
    pruned: list[str] = field(default_factory=list)  # versions whose data is deleted
    applied: bool = False

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.delete)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "applied": self.applied,
            "refs": self.refs,
            "commits": self.commits,
            "needed_objects": self.needed,
            "stored_objects": self.stored,
            "kept_recent": self.recent,
            "delete_objects": len(self.delete),
            "delete_bytes": self.bytes,
            "versions_kept": self.kept,
            "versions_pruned": self.pruned,
            "deleted": [o.key for o in self.delete] if self.applied else [],
        }


# -- what git needs ---------------------------------------------------------------------


def fetch_remote_refs(git: Git, remote: str) -> dict[str, str]:
    """Every branch and tag of the git ``remote``, fetched into ``refs/cpv-gc/<remote>/``.

    ``--refmap=`` keeps git from updating the user's remote-tracking branches, ``--no-tags``
    from creating local tags; ``--prune`` drops refs the remote no longer has from our
    namespace. Returns ref -> object as ``git ls-remote`` reported it just before.
    """
    listed = remote_refs(git, remote)
    ns = f"{GC_NAMESPACE}/{remote}"
    git.run(
        "fetch", "-q", "--no-tags", "--prune", "--refmap=", "--no-write-fetch-head", remote,
        f"+refs/heads/*:{ns}/heads/*", f"+refs/tags/*:{ns}/tags/*", f"+refs/notes/*:{ns}/notes/*",
    )  # fmt: skip
    return listed


def remote_refs(git: Git, remote: str) -> dict[str, str]:
    """ref -> object of every branch and tag on the git ``remote`` (``git ls-remote``)."""
    refs = advertised_refs(git, remote, "--heads", "--tags")
    return {ref: obj for ref, obj in refs.items() if not ref.endswith("^{}")}


def all_commits(git: Git, refs: Sequence[str]) -> list[str]:
    """Every commit ``refs`` reach (the refs and HEAD; not only their tips)."""
    head = ["HEAD"] if git.head() else []  # refs on stdin: thousands of tags fit no argv
    out = git.run("rev-list", "--stdin", *head, input="".join(f"{r}\n" for r in refs))
    return out.split("\n") if out else []


def for_remote(root: Path, pointers: Iterable[Pointer], target: Remote) -> list[Pointer]:
    """The pointers whose data lives on ``target``: no ``remote:``, or one that resolves to
    ``target``'s url, or one that cannot be resolved at all (kept, to be safe)."""
    urls: dict[str, str | None] = {}
    out = []
    for ptr in pointers:
        if ptr.remote is not None and ptr.remote not in urls:
            try:
                urls[ptr.remote] = open_remote(root, ptr.remote).url
            except ConfigError:
                urls[ptr.remote] = None
        if ptr.remote is None or urls[ptr.remote] in (None, target.url):
            out.append(ptr)
    return out


def expand(cache: Cache, remote: Remote, pointers: Sequence[Pointer]) -> set[str]:
    """Every object md5 ``pointers`` name, listings expanded; an unreadable listing raises."""
    _, dirs = cache.objects(pointers)
    absent = [d for d in dirs if not cache.has(d.md5)]
    if absent:
        on_remote = remote.sizes(absent)
        lost = [d.md5 for d in absent if d.md5 not in on_remote]
        if lost:
            raise StorageError(
                f"gc cannot read {len(lost)} directory listing(s) a ref needs (e.g. {lost[0]}): "
                "they are neither in the local cache nor on the remote; nothing was deleted",
                "push them from the clone that made them (git push there), then run gc again",
            )
        fetch(remote, cache, absent)
    files, dirs = cache.objects(pointers)  # dir_entries checks every entry (the listing gate)
    return {o.md5 for o in files + dirs}


@dataclass
class Versions:
    """The version tags a retention policy keeps, and those outside it (tag -> commit)."""

    kept: dict[str, str] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)


def version_tags(git: Git, namespaces: Sequence[str]) -> dict[str, Manifest]:
    """The manifests of the cpv version tags under ``namespaces`` (local and the remote's)."""
    out = git.run("for-each-ref", "--format=%(refname)%00%(contents)%1e", *namespaces)
    found: dict[str, Manifest] = {}
    for record in out.split("\x1e"):
        ref, _, text = record.lstrip("\n").partition("\0")
        name = ref.rpartition("/tags/")[2]
        if ref and parse_tag(name) and name not in found:
            try:
                found[name] = parse_manifest(name, text)
            except ValidationError:
                continue  # no manifest: not a version gc can judge; its commit stays a tip
    return found


def select(manifests: dict[str, Manifest], policy: Retention, now: datetime) -> Versions:
    """Split versions by the policy: the last N of each kind, tags matching a glob and (with
    ``older_than_days``) versions younger than that are kept; the rest are outside."""
    out = Versions()
    for kind in KINDS:
        ordered = sorted(
            (m for m in manifests.values() if m.kind == kind),
            key=lambda m: parse_tag(m.tag)[1],  # type: ignore[index]
        )
        last = ordered[-policy.keep_last :] if policy.keep_last else []
        for m in ordered:
            young = policy.older_than_days is not None and _age(m.date, now) < timedelta(
                days=policy.older_than_days
            )
            globbed = any(fnmatchcase(m.tag, g) for g in policy.keep)
            keep = m in last or globbed or young
            (out.kept if keep else out.outside)[m.tag] = m.commit
    return out


def _age(date: str, now: datetime) -> timedelta:
    try:
        when = datetime.fromisoformat(date)
    except ValueError:
        return timedelta(0)  # an unreadable date: treated as new (kept)
    return now - (when if when.tzinfo else when.replace(tzinfo=timezone.utc))


def needed(
    root: Path, target: Remote, git_remote: str = "origin", policy: Retention | None = None
) -> tuple[Needs, dict[str, str], Versions]:
    """What must stay on ``target``, the remote's refs as listed (to check them again) and,
    under a retention ``policy``, the versions it keeps and those outside it.

    Without a policy every commit of every ref's history is needed. With one: every ref's
    tip (branches here and on the remote, HEAD, tags that are not versions outside the
    policy), the kept versions, and every commit not on the remote yet.
    """
    git = Git(root)
    listed = fetch_remote_refs(git, git_remote)
    ns = f"{GC_NAMESPACE}/{git_remote}"
    heads = _refs(git, f"{ns}/heads", "refs/heads", "refs/remotes")  # stale ones too
    tags = _refs(git, f"{ns}/tags", "refs/tags")
    versions = Versions()
    if policy is None or not policy.active:
        commits = all_commits(git, heads + tags)
    else:
        manifests = version_tags(git, ["refs/tags", f"{ns}/tags"])
        versions = select(manifests, policy, datetime.now(timezone.utc))
        outside = {f"/tags/{t}" for t in versions.outside}
        tips = heads + [t for t in tags if not any(t.endswith(o) for o in outside)]
        tips += list(versions.kept.values()) + (["HEAD"] if git.head() else [])
        specs = "".join(f"{t}^{{commit}}\n" for t in tips)
        peeled = git.run("cat-file", "--batch-check=%(objectname)", input=specs).split("\n")
        if any(p.endswith(" missing") for p in peeled):  # never plan on a ref git cannot read
            raise GitError(f"a ref of {git_remote} names no commit here", "run gc again")
        unpushed = git.rev_list(["HEAD", "--branches", "--tags"], [f"--glob={ns}/*"])
        commits = list(dict.fromkeys(peeled + unpushed))
    pointers = for_remote(root, pointers_at(git, commits), target)
    md5s = expand(Cache(cache_dir(root)), target, pointers)
    return Needs(md5s, len(heads) + len(tags), len(commits)), listed, versions


def _refs(git: Git, *namespaces: str) -> list[str]:
    out = git.run("for-each-ref", "--format=%(refname)", *namespaces)
    return [n for n in out.split("\n") if n]


# -- what the remote holds --------------------------------------------------------------


def md5_of_key(key: str) -> str | None:
    """The md5 (``.dir`` suffixed) a DVC 3 object key names, or None for any other key."""
    match = _KEY_RE.search(key)
    return match.group(1) + match.group(2) if match else None


def stored_objects(remote: Remote) -> list[StoredObject]:
    """Every DVC 3 object on ``remote`` (listed in pages of 1000 on S3)."""
    if isinstance(remote, S3Remote):
        found: list[StoredObject] = remote_call(
            remote, "listing", lambda: list(_s3_objects(remote))
        )
        return found
    if isinstance(remote, LocalRemote):
        return list(_dir_objects(remote.base, ""))
    raise StorageError(f"gc does not support the remote {remote.url}", "use S3 or a directory")


def _s3_objects(remote: S3Remote) -> Iterator[StoredObject]:
    prefix = f"{remote.prefix}/files/md5/" if remote.prefix else "files/md5/"
    pages = remote.client.get_paginator("list_objects_v2").paginate(
        Bucket=remote.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}
    )
    for page in pages:
        for item in page.get("Contents", []):
            md5 = md5_of_key(item["Key"][len(prefix) - len("files/md5/") :])
            if md5:
                yield StoredObject(item["Key"], md5, int(item["Size"]), item["LastModified"])


def _dir_objects(base: Path, prefix: str) -> Iterator[StoredObject]:
    """The DVC 3 objects under a local directory (a remote or a cache); keys relative."""
    top = base / "files" / "md5"
    for dirpath, _, filenames in os.walk(top):
        for name in filenames:
            rel = Path(dirpath, name).relative_to(base).as_posix()
            md5 = md5_of_key(rel)
            if md5:
                st = Path(dirpath, name).stat()
                when = datetime.fromtimestamp(st.st_mtime, timezone.utc)
                yield StoredObject(prefix + rel, md5, st.st_size, when)


def remote_call(remote: S3Remote, what: str, fn: Any) -> Any:
    """``fn()`` with S3's errors turned into cpv's (see ``S3Remote._call``)."""
    return remote._call(what, fn)


def delete_objects(remote: Remote, objs: Sequence[StoredObject]) -> None:
    """Delete ``objs`` from ``remote``: S3 DeleteObjects, 1000 keys a call."""
    if isinstance(remote, LocalRemote):
        for obj in objs:
            remove(remote.base / obj.key)
        return
    assert isinstance(remote, S3Remote)
    for start in range(0, len(objs), DELETE_BATCH):
        batch = [{"Key": o.key} for o in objs[start : start + DELETE_BATCH]]
        answer = remote_call(
            remote,
            "delete",
            lambda b=batch: remote.client.delete_objects(
                Bucket=remote.bucket, Delete={"Objects": b, "Quiet": True}
            ),
        )
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                f"S3 refused to delete {len(errors)} object(s) on {remote.url} "
                f"(e.g. {first.get('Key')}: {first.get('Code')})",
                "check your permission to delete (s3:DeleteObject) and run gc again",
            )


# -- the lock ---------------------------------------------------------------------------


def _lock_key(remote: S3Remote) -> str:
    return f"{remote.prefix}/{LOCK_KEY}" if remote.prefix else LOCK_KEY


def _holder() -> dict[str, str]:
    from getpass import getuser

    return {
        "who": f"{getuser()}@{socket.gethostname()}",
        "pid": str(os.getpid()),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _refuse(remote: Remote, body: bytes) -> StorageError:
    try:
        held = json.loads(body)
        who, since = str(held["who"]), str(held["since"])
    except (ValueError, KeyError, TypeError):
        who, since = "an unknown process", "an unknown time"
    return StorageError(
        f"another gc holds the lock on {remote.url} ({who}, since {since})",
        f"wait for it to finish; a lock older than {STALE_LOCK.total_seconds() / 3600:g} h "
        "is taken over automatically",
    )


def _stale(modified: datetime) -> bool:
    return datetime.now(timezone.utc) - modified > STALE_LOCK


@contextmanager
def gc_lock(remote: Remote) -> Iterator[Callable[[], None]]:
    """Hold the remote's gc lock while the block runs; another holder raises StorageError.

    The block gets ``renew``: it raises when the lock is no longer this gc's (taken over as
    stale) and else makes it fresh again; gc calls it right before deleting. The lock is
    released only while it is still this gc's.
    """
    body = json.dumps(_holder()).encode()
    if isinstance(remote, LocalRemote):
        path = remote.base / LOCK_KEY
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            if not _stale(when):
                raise _refuse(remote, path.read_bytes()) from None
            path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)

        def held() -> bytes | None:
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None

        def renew_local() -> None:
            _check_ours(remote, held(), body)
            os.utime(path)

        try:
            yield renew_local
        finally:
            if held() == body:
                path.unlink(missing_ok=True)
        return
    assert isinstance(remote, S3Remote)
    key = _lock_key(remote)
    client = remote.client
    _s3_take(remote, key, body)

    def current() -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return bytes(client.get_object(Bucket=remote.bucket, Key=key)["Body"].read())
        except ClientError:
            return None

    def renew_s3() -> None:
        _check_ours(remote, remote_call(remote, "lock", current), body)
        remote_call(
            remote, "lock", lambda: client.put_object(Bucket=remote.bucket, Key=key, Body=body)
        )

    try:
        yield renew_s3
    finally:
        if remote_call(remote, "unlock", current) == body:
            remote_call(
                remote, "unlock", lambda: client.delete_object(Bucket=remote.bucket, Key=key)
            )


def _check_ours(remote: Remote, held: bytes | None, body: bytes) -> None:
    if held != body:
        raise StorageError(
            f"this gc's lock on {remote.url} was taken over (it ran past "
            f"{STALE_LOCK.total_seconds() / 3600:g} h); nothing was deleted",
            "run gc again",
        )


def _s3_take(remote: S3Remote, key: str, body: bytes) -> None:
    """Create the lock object with a conditional put (``If-None-Match: *``); a stale one is
    taken over."""

    client = remote.client
    for _ in range(2):
        if remote.put_once(key, body):
            return
        held = remote_call(remote, "lock", lambda: client.get_object(Bucket=remote.bucket, Key=key))
        if not _stale(held["LastModified"]):
            raise _refuse(remote, held["Body"].read())
        remote_call(remote, "lock", lambda: client.delete_object(Bucket=remote.bucket, Key=key))
    raise StorageError(f"could not take the gc lock on {remote.url}", "run gc again")


def lock_holder(remote: Remote) -> bytes | None:
    """The body of the remote's gc lock when a live (not stale) one is held, else None."""
    if isinstance(remote, LocalRemote):
        path = remote.base / LOCK_KEY
        try:
            st = path.stat()
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        return None if _stale(datetime.fromtimestamp(st.st_mtime, timezone.utc)) else body
    if not isinstance(remote, S3Remote):
        return None
    held = remote.get_or_none(_lock_key(remote))
    if held is None or _stale(held["LastModified"]):
        return None
    return bytes(held["Body"].read())


def guard_push(
    remote: Remote, cache: Cache, files: list[Obj], dirs: list[Obj], index: RemoteIndex
) -> None:
    """What a push checks after its uploads, before git sends its refs.

    The objects it found on the remote (and did not upload) must still be there: a gc that
    ran meanwhile did not see the refs yet. Those its index vouched for are, when the
    remote's gc generation is still the one the index was read at (a gc that deletes
    changes it first). Then no gc may be running: one that starts later lists the remote's
    refs again just before it deletes.
    """
    if index.vouched and not index.unchanged():
        raise StorageError(
            f"a gc deleted objects on {remote.url} while this push ran",
            "run the same git push again: it checks every object on the remote",
        )
    gone = missing_objects(remote, cache, files, dirs)
    if gone:
        raise StorageError(
            f"{len(gone)} object(s) this push needs left {remote.url} while it ran (a gc?)",
            "run the same git push again: it uploads them",
        )
    held = lock_holder(remote)
    if held is not None:
        error = _refuse(remote, held)
        raise StorageError(
            error.message.replace("another gc holds the lock", "a gc is running"),
            "push again when it is done (data already uploaded stays)",
        )


# -- gc of the remote -------------------------------------------------------------------


def collect(
    root: Path,
    *,
    grace: timedelta = DEFAULT_GRACE,
    apply: bool = False,
    git_remote: str = "origin",
    policy: Retention | None = None,
    target: Remote | None = None,
) -> GCReport:
    """Plan (and with ``apply`` do) the gc of the repo's DVC remote; see the module's rules.

    Versions whose data is deleted are marked pruned (git notes, pushed) before anything is
    deleted, so a missing object is always explained.
    """
    if load_repo_config(root).adopted:  # its dvc.yaml stages and other .dvc files are DVC's
        raise ConfigError(
            f"{root} was adopted from an existing repo: its remote holds data of dvc.yaml "
            "stages and .dvc files cpv does not version, which cpv's gc would delete",
            "clean it with DVC, which knows every DVC file: "
            "`dvc gc --cloud --all-commits --all-tags --all-branches`",
        )
    remote = target or open_remote(root)
    with gc_lock(remote) as renew:
        objects = stored_objects(remote)
        needs, listed, versions = needed(root, remote, git_remote, policy)
        cutoff = datetime.now(timezone.utc) - grace
        unneeded = [o for o in objects if o.md5 not in needs.md5s]
        delete = [o for o in unneeded if o.modified < cutoff]
        git = Git(root)
        pruned = _pruned(git, root, versions, {o.md5 for o in delete})
        report = GCReport(
            remote.url,
            needs.refs,
            needs.commits,
            len(needs.md5s),
            len(objects),
            len(unneeded) - len(delete),
            delete,
            kept=sorted(versions.kept),
            pruned=sorted(pruned),
        )
        if apply and delete:
            if remote_refs(git, git_remote) != listed:
                raise StorageError(
                    f"the git remote {git_remote} changed while gc planned; nothing was deleted",
                    "run gc again",
                )
            renew()
            _mark(git, git_remote, pruned)
            if pruned:
                from cpv_hooks.registry import mark_pruned

                when = datetime.now(timezone.utc).date().isoformat()
                mark_pruned(remote, pruned, f"{when} by {_holder()['who']}")
            bump_generation(remote, deleting=True)  # every clone's index of it is dropped
            delete_objects(remote, sorted(delete, key=lambda o: not o.md5.endswith(".dir")))
            bump_generation(remote, deleting=False)
        report.applied = apply
        return report


def _pruned(git: Git, root: Path, versions: Versions, deleted: set[str]) -> dict[str, str]:
    """The versions outside the policy that lose data: tag -> commit."""
    cache = Cache(cache_dir(root))
    out = {}
    for tag, commit in versions.outside.items():
        ptrs = pointers_at(git, [commit], parse_tag(tag)[0])  # type: ignore[index]
        files, dirs = cache.objects(ptrs)
        if any(o.md5 in deleted for o in files + dirs):
            out[tag] = commit
    return out


def _mark(git: Git, git_remote: str, pruned: dict[str, str]) -> None:
    """Record the pruned versions in the notes (merged with the remote's) and push them."""
    theirs = f"{GC_NAMESPACE}/{git_remote}/notes/cpv-pruned"
    if git.ok("rev-parse", "-q", "--verify", theirs):
        if git.ok("rev-parse", "-q", "--verify", NOTES_REF):
            git.run("notes", f"--ref={NOTES_REF}", "merge", "-q", "-s", "cat_sort_uniq", theirs)
        else:
            git.run("update-ref", NOTES_REF, theirs)
    known = marks(git)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    who = _holder()["who"]
    new = [Mark(t, c, now, who) for t, c in pruned.items() if t not in known]
    if not new:
        return
    add_marks(git, new)
    git.run("push", "--no-verify", "-q", git_remote, f"{NOTES_REF}:{NOTES_REF}")


# -- gc of the local cache --------------------------------------------------------------


def collect_cache(root: Path, *, keep_last: int = 1, apply: bool = False) -> GCReport:
    """Plan (and with ``apply`` do) the cleanup of the local cache.

    Kept: the objects of the work tree's pointers and of HEAD, those of the last
    ``keep_last`` versions of each kind, and every object the remote does not hold (unpushed
    data is never dropped).
    """
    from cpv_hooks.tagging import read_manifests

    git = Git(root)
    config = load_repo_config(root)
    cache = Cache(cache_dir(root))
    commits = [git.head()] if git.head() else []
    for kind in KINDS:
        manifests = read_manifests(git, kind)
        commits += [m.commit for m in manifests[-keep_last:]] if keep_last > 0 else []
    pointers = pointers_at(git, [c for c in commits if c])
    for art in config.dvc_artifacts:
        path = root / art.pointer
        if path.is_file():
            pointers.append(parse_pointer(path.read_bytes(), art.pointer))
    keep: set[str] = set()
    for ptr in pointers:  # listings not in the cache have nothing local to keep
        files, dirs = cache.objects([ptr])
        keep.update(o.md5 for o in files + dirs)
    stored = list(_dir_objects(cache.dir, ""))
    unneeded = [o for o in stored if o.md5 not in keep]
    on_remote = open_remote(root).sizes([Obj(o.md5) for o in unneeded]) if unneeded else {}
    delete = [o for o in unneeded if on_remote.get(o.md5) == o.size]
    report = GCReport(
        str(cache.dir), 0, len(commits), len(keep), len(stored), len(unneeded) - len(delete), delete
    )
    if apply:
        for obj in delete:
            remove(cache.dir / obj.key)
    report.applied = apply
    return report
