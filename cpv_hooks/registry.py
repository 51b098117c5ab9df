"""The team registry: every pushed version's manifest, kept beside its data on the remote.

Each model's DVC remote (``s3://<bucket>/<team>/<model>``, or the local fallback
directory) holds ``cpv/versions/<tag>.json``: the tag's manifest plus ``deleted``. An entry is
written only after the version's data was uploaded, and write-once: a push that lost the
number to a teammate keeps the teammate's entry. What the git remote really holds is the
truth; :func:`reconcile` (each push, ``cpv registry rebuild``) brings the entries back to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cpv_hooks.dvc.safety import loads_json_limited
from cpv_hooks.errors import CheckpointNotFoundError, ConfigError, CPVError, ValidationError
from cpv_hooks.fsutil import TMP_PREFIX, atomic_write, create_new
from cpv_hooks.repo import ZERO_SHA, Git, validate_name
from cpv_hooks.storage import LocalRemote, Remote, S3Remote, map_requests
from cpv_hooks.versions import Kind, parse_tag

if TYPE_CHECKING:
    from cpv_hooks.stages import StageEvent

VERSIONS = "cpv/versions"
STAGES = "cpv/stages"  # one entry per stage event: <stage>.<N>.json
SUMMARY = "summary.json"  # under cpv/: the model's row of `cpv registry list`
INDEX = "index.json"  # under cpv/: every entry and its md5, what `registry versions` reads
_MD5_RE = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1000  # tags whose manifests are read (and entries written) at a time


class Entries(Protocol):
    """The registry files of one model, by name (``<tag>.json``)."""

    def create(self, name: str, data: bytes) -> bool:
        """Store ``data`` unless ``name`` exists; returns whether it was stored."""

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name``, replacing it."""

    def get(self, name: str) -> bytes | None:
        """The content of ``name``, or None."""

    def names(self) -> list[str]:
        """Every entry name."""

    def digests(self) -> dict[str, str]:
        """name -> md5 of its content, for the entries whose md5 a listing tells (S3's ETag
        of a single-part upload); the others are left out."""


@dataclass
class LocalEntries:
    """Entries in a directory (the local remote's ``cpv/versions``)."""

    base: Path

    def create(self, name: str, data: bytes) -> bool:
        return create_new(self.base / name, data)

    def put(self, name: str, data: bytes) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        atomic_write(self.base / name, data.decode("utf-8"))

    def get(self, name: str) -> bytes | None:
        try:
            return (self.base / name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        if not self.base.is_dir():
            return []
        return sorted(p.name for p in self.base.iterdir() if p.name.endswith(".json"))

    def digests(self) -> dict[str, str]:
        return {}  # reading a local entry costs no more than a listing would


@dataclass
class S3Entries:
    """Entries under an S3 prefix; ``create`` is a conditional put (``If-None-Match: *``).

    The prefix is listed once per object (one push, one command), then kept up to date with
    this object's own writes.
    """

    remote: S3Remote
    prefix: str
    _listed: dict[str, str] | None = field(default=None, init=False, repr=False)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def _wrote(self, name: str, data: bytes) -> None:
        if self._listed is not None:
            self._listed[name] = _md5(data)

    def create(self, name: str, data: bytes) -> bool:
        made = self.remote.put_once(self._key(name), data)
        if made:
            self._wrote(name, data)
        return made

    def put(self, name: str, data: bytes) -> None:
        self.remote._call(
            "registry write",
            lambda: self.remote.client.put_object(
                Bucket=self.remote.bucket, Key=self._key(name), Body=data
            ),
        )
        self._wrote(name, data)

    def get(self, name: str) -> bytes | None:
        found = self.remote.get_or_none(self._key(name))
        return None if found is None else bytes(found["Body"].read())

    def _listing(self) -> dict[str, str]:
        """name -> ETag of every entry (one request per 1,000, the first time)."""
        if self._listed is not None:
            return self._listed

        def listing() -> dict[str, str]:
            pages = self.remote.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.remote.bucket, Prefix=f"{self.prefix}/"
            )
            return {
                o["Key"].rsplit("/", 1)[1]: str(o.get("ETag", "")).strip('"')
                for page in pages
                for o in page.get("Contents", [])
                if o["Key"].endswith(".json")
            }

        self._listed = self.remote._call("registry listing", listing)
        return self._listed

    def names(self) -> list[str]:
        return list(self._listing())

    def digests(self) -> dict[str, str]:
        return {n: tag for n, tag in self._listing().items() if _MD5_RE.match(tag)}


def entries_of(remote: Remote, folder: str = VERSIONS) -> Entries:
    """The registry entries kept on ``remote`` (the model's DVC remote)."""
    if isinstance(remote, S3Remote):
        return S3Entries(remote, f"{remote.prefix}/{folder}".lstrip("/"))
    if isinstance(remote, LocalRemote):
        return LocalEntries(remote.base / folder)
    raise ConfigError(f"remote {remote.url} cannot hold a registry", "use S3 or a directory")


def encode(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, indent=1, sort_keys=True).encode("utf-8")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def decode(name: str, data: bytes) -> dict[str, Any] | None:
    """An entry, or None when it is not a registry entry (it is then left out)."""
    try:
        entry = loads_json_limited(data, f"registry entry {name}")
    except (ValueError, CPVError):
        return None
    if not isinstance(entry, dict) or f"{entry.get('tag')}.json" != name:
        return None
    return entry


def _manifest_entries(git: Git, tags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """tag -> its entry, from its manifest (one git call); unreadable ones are left out."""
    from cpv_hooks.tagging import manifests_of

    return {
        tag: {**manifest.model_dump(by_alias=True), "deleted": False}
        for tag, manifest in manifests_of(git, tags).items()
    }


def publish_tags(git: Git, entries: Entries, tags: Iterable[str]) -> list[dict[str, Any]]:
    """Write the entry of each version tag whose data is on the remote; returns those written.

    A tag whose entry exists for another commit keeps that entry (a teammate's, or one
    :func:`reconcile` will correct); one for the same commit is rewritten only if it was
    marked deleted. One already stored byte for byte (its md5 in the listing) is left alone;
    the conditional writes run in parallel.
    """

    def one(entry: dict[str, Any]) -> bool:
        name = f"{entry['tag']}.json"
        if entries.create(name, encode(entry)):
            return True
        old = decode(name, entries.get(name) or b"")
        if old is not None and old.get("commit") == entry["commit"] and old.get("deleted"):
            entries.put(name, encode(entry))
            return True
        return False

    tags = list(tags)
    same = entries.digests() if tags else {}  # stored byte for byte already: nothing to do
    written = []
    for start in range(0, len(tags), CHUNK):  # memory stays bounded with 100,000 tags
        found = _manifest_entries(git, tags[start : start + CHUNK]).values()
        todo = [e for e in found if same.get(f"{e['tag']}.json") != _md5(encode(e))]
        written += [e for e, done in zip(todo, map_requests(one, todo), strict=True) if done]
    return written


def _mark(entries: Entries, tags: Iterable[str], key: str, value: object) -> None:
    """Set ``key`` in the entries of ``tags`` that lack it (in parallel)."""

    def one(tag: str) -> None:
        old = decode(f"{tag}.json", entries.get(f"{tag}.json") or b"")
        if old is not None and not old.get(key):
            entries.put(f"{tag}.json", encode({**old, key: value}))

    map_requests(one, list(tags))


def mark_deleted(entries: Entries, tags: Iterable[str]) -> None:
    """Mark the entries of ``tags`` deleted (their tag left the git remote)."""
    _mark(entries, tags, "deleted", True)


def mark_pruned(remote: Remote, tags: Iterable[str], note: str) -> None:
    """Mark the entries of ``tags`` pruned (a gc deleted their data): no listing shows them."""
    _mark(entries_of(remote), tags, "pruned", note)
    write_summary(remote)


def _listed(entry: dict[str, Any]) -> bool:
    """Whether an entry's version is there to list: not deleted, data not pruned."""
    return not (entry.get("deleted") or entry.get("pruned"))


def reconcile(
    git: Git,
    entries: Entries,
    on_remote: dict[str, str],
    skip: Iterable[str] = (),
    full: bool = True,
) -> None:
    """Bring the entries to what the git remote holds (``on_remote``: tag -> commit).

    A listed tag absent from the git remote is marked deleted; one the remote holds for
    another commit is rewritten from the local tag when that is the remote's; a version on
    the git remote with no (or a deleted) entry gets one. Unless ``full``, only entries
    whose tag the git remote lacks are read (a push that carries no tag: cheap).
    """
    present = {n.removesuffix(".json") for n in entries.names()}
    check = sorted(present - set(skip) if full else present - set(on_remote) - set(skip))
    olds = _parallel_get(entries, [f"{t}.json" for t in check])
    moved = [
        str(o["tag"]) for o in olds if on_remote.get(str(o["tag"])) not in (None, o.get("commit"))
    ]
    fresh = _manifest_entries(git, moved)
    writes: list[tuple[str, dict[str, Any]]] = []
    for old in olds:
        tag = str(old["tag"])
        commit = on_remote.get(tag)
        if commit == old.get("commit"):
            if old.get("deleted"):
                writes.append((tag, {**old, "deleted": False}))
            continue
        if tag in fresh and fresh[tag]["commit"] == commit:
            writes.append((tag, fresh[tag]))
        elif not old.get("deleted"):
            writes.append((tag, {**old, "deleted": True}))
    map_requests(lambda w: entries.put(f"{w[0]}.json", encode(w[1])), writes)
    local = set(git.tags())
    publish_tags(git, entries, [t for t in on_remote if t in local and t not in present])


def remote_versions(git: Git, remote: str) -> dict[str, str]:
    """The version tags ``remote`` holds: tag -> the commit it points at (one ls-remote)."""
    out = git.run("ls-remote", "--tags", remote)
    found: dict[str, str] = {}
    for line in filter(None, out.split("\n")):
        sha, ref = line.split("\t", 1)
        name = ref.removeprefix("refs/tags/")
        peeled = name.endswith("^{}")
        name = name.removesuffix("^{}")
        if parse_tag(name) and (peeled or name not in found):
            found[name] = sha
    return found


def rebuild(root: Path, git_remote: str = "origin") -> dict[str, str]:
    """Re-derive the model's entries from the version tags on ``git_remote``; returns those."""
    from cpv_hooks.storage import open_remote

    git = Git(root)
    on_remote = remote_versions(git, git_remote)
    remote = open_remote(root)
    reconcile(git, entries_of(remote), on_remote)
    write_summary(remote)
    return on_remote


def record_push(
    git: Git,
    remote: Remote,
    tag_updates: dict[str, str],
    git_remote: str | None,
    name: str,
    announce: bool | None = None,
) -> list[str]:
    """After a push's data upload: publish the pushed version tags (``tag_updates``: tag ->
    object, or ZERO_SHA for a deleted tag), reconcile the rest with ``git_remote``, and
    announce the new versions of ``TEAM/MODEL``; returns the notifications' warnings."""
    from cpv_hooks.notify import notify
    from cpv_hooks.stages import parse_stage_tag

    staged = [t for t, obj in tag_updates.items() if parse_stage_tag(t) and obj != ZERO_SHA]
    if staged:
        publish_stages(git, entries_of(remote, STAGES), staged)
    versions = {t: obj for t, obj in tag_updates.items() if parse_tag(t)}
    entries = entries_of(remote)
    written = publish_tags(git, entries, [t for t, obj in versions.items() if obj != ZERO_SHA])
    mark_deleted(entries, [t for t, obj in versions.items() if obj == ZERO_SHA])
    if git_remote is not None:
        on_remote = remote_versions(git, git_remote)
        reconcile(git, entries, on_remote, skip=versions, full=bool(versions))
    write_summary(remote, entries)
    return notify(name, written, announce) if written else []


def write_summary(remote: Remote, entries: Entries | None = None) -> None:
    """Store the model's ``cpv/summary.json`` (what ``registry list`` reads in one GET), from
    ``entries`` (the model's versions, as already listed) or a new listing.

    Last writer wins: a push racing another may store a view a moment old, which the next
    push or ``cpv registry rebuild`` corrects.
    """
    row = summarize(entries or entries_of(remote), entries_of(remote, STAGES))
    entries_of(remote, "cpv").put(SUMMARY, encode(row))


def publish_stages(git: Git, entries: Entries, tags: list[str]) -> None:
    """Write the entry of each pushed stage tag (write-once, like versions)."""
    from cpv_hooks.stages import events

    found = {e.tag: e for e in events(git)}
    for tag in tags:
        if tag in found:
            event = found[tag]
            entries.create(f"{event.stage}.{event.number}.json", encode(event.as_dict()))


def read_stage_events(entries: Entries) -> list[StageEvent]:
    """The last event of each stage in ``entries`` (``<stage>.<N>.json``: only those are
    read, one GET a stage); malformed ones are left out."""
    from cpv_hooks.stages import parse_event

    last: dict[str, tuple[int, str]] = {}
    for n in entries.names():
        stage, _, number = n.removesuffix(".json").rpartition(".")
        if number.isdigit() and int(number) > last.get(stage, (0, ""))[0]:
            last[stage] = (int(number), n)
    names = [n for _, n in last.values()]
    found = []
    for n, data in zip(names, map_requests(entries.get, names), strict=True):
        stage, _, number = n.removesuffix(".json").rpartition(".")
        try:
            found.append(parse_event(f"stage/{stage}/{number}", (data or b"").decode()))
        except (CPVError, UnicodeDecodeError):
            continue
    return found


def _newest(entries: Entries, names: list[str], kind: Kind) -> dict[str, Any] | None:
    """The highest live version of ``kind``: one GET unless the newest were deleted."""
    ranked = sorted(
        ((p[1], n) for n in names if (p := parse_tag(n.removesuffix(".json"))) and p[0] == kind),
        reverse=True,
    )
    for _, n in ranked:
        entry = decode(n, entries.get(n) or b"")
        if entry is not None and _listed(entry):
            return entry
    return None


def summarize(entries: Entries, stage_entries: Entries) -> dict[str, Any]:
    """A model's row of ``cpv registry list``, from its entries."""
    from cpv_hooks.stages import current

    names = entries.names()
    model = _newest(entries, names, "model")
    data = _newest(entries, names, "data")
    top = model or data or {}
    headline = next(iter((top.get("metrics") or {}).items()), None)
    held = current(read_stage_events(stage_entries))
    return {
        "model_version": model["tag"] if model else None,
        "data_version": data["tag"] if data else None,
        "date": top.get("date"),
        "author": top.get("author"),
        "metric": {headline[0]: headline[1]} if headline else {},
        "stages": {s: v for v, stages in held.items() for s in stages},
    }


def decode_summary(data: bytes | None) -> dict[str, Any] | None:
    """A model's stored summary, or None when absent or malformed (then it is recomputed)."""
    try:
        row = loads_json_limited(data, SUMMARY) if data else None
    except (ValueError, CPVError):
        return None
    keys = ("model_version", "data_version", "date", "author", "metric", "stages")
    return row if isinstance(row, dict) and all(k in row for k in keys) else None


def _parallel_get(entries: Entries, names: list[str]) -> list[dict[str, Any]]:
    datas = map_requests(entries.get, names)
    return [e for n, d in zip(names, datas, strict=True) if d and (e := decode(n, d))]


def read_all(entries: Entries, home: Entries) -> list[dict[str, Any]]:
    """Every entry; on S3 from one listing and the copies in ``home``'s ``index.json``.

    The index holds the bytes of each entry: a copy whose md5 is the ETag the listing gives
    (the md5 of a plain PUT) is the entry as the bucket has it, so the index adds no trust;
    any other entry is read (one GET each) and the index rewritten. 2,000 versions then cost
    three requests, not 2,000; a stale or missing index costs only speed. Whoever reads
    writes it (a reader without write access just reads every entry each time).
    """
    if not isinstance(entries, S3Entries):
        return _parallel_get(entries, entries.names())
    listed = entries.names()
    digests = entries.digests()  # from the same listing
    index = _decode_index(home.get(INDEX))
    kept = {n: index[n] for n in listed if n in index and digests.get(n) == _md5(index[n])}
    missing = [n for n in listed if n not in kept]
    for name, data in zip(missing, map_requests(entries.get, missing), strict=True):
        if data is not None:
            kept[name] = data
    if missing:
        texts = {n: data.decode("utf-8", "surrogateescape") for n, data in kept.items()}
        with contextlib.suppress(CPVError):  # read-only credentials: no index, still correct
            home.put(INDEX, json.dumps(texts, sort_keys=True).encode("utf-8", "surrogateescape"))
    return [e for n in listed if n in kept and (e := decode(n, kept[n]))]


def _decode_index(data: bytes | None) -> dict[str, bytes]:
    """The entries' bytes the index holds (nothing from a malformed one)."""
    try:
        raw = loads_json_limited(data, INDEX) if data else {}
    except (ValueError, CPVError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {n: t.encode("utf-8", "surrogateescape") for n, t in raw.items() if isinstance(t, str)}


def _order(entry: dict[str, Any]) -> tuple[str, int, int]:
    parsed = parse_tag(str(entry.get("tag")))
    return (parsed[0], parsed[1].major, parsed[1].minor) if parsed else ("", -1, -1)


def split_name(name: str) -> tuple[str, str]:
    """``TEAM/MODEL`` checked and split."""
    team, sep, model = name.partition("/")
    if not sep:
        raise ValidationError(f"'{name}' is not TEAM/MODEL", "name a model like vision/resnet50")
    return validate_name(team, "team name"), validate_name(model, "model name")


class Registry:
    """Every team's models and versions, read from the bucket alone (no git, no clone).

    The bucket and endpoint are the arguments, else the stored ``cpv aws-config``
    settings; with no S3 configured, the local fallback remotes under the cpv config dir.
    """

    def __init__(
        self,
        bucket: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        credential_path: str | None = None,
        region: str | None = None,
        local_root: Path | None = None,
    ) -> None:
        from cpv_hooks.config import CPVConfig, config_dir

        stored = CPVConfig().aws
        self.local: Path | None = None
        self._s3: S3Remote | None = None
        if bucket is None and stored is None:
            self.local = local_root or config_dir() / "remotes"
            return
        options = {
            "endpointurl": endpoint_url or (stored.endpoint_url if stored else ""),
            "region": region or (stored.region if stored else ""),
            "profile": profile or (stored.profile if stored else ""),
            "credentialpath": credential_path or (stored.credential_path if stored else ""),
        }
        name = bucket or (stored.bucket if stored else "")
        self._s3 = S3Remote(f"s3://{name}", {k: str(v) for k, v in options.items() if v})

    @property
    def where(self) -> str:
        """The bucket url or local directory read."""
        return self._s3.url if self._s3 else str(self.local)

    def model_remote(self, team: str, model: str) -> Remote:
        """The DVC remote holding the model's data."""
        if self._s3 is not None:
            return S3Remote(f"{self._s3.url}/{team}/{model}", self._s3.options)
        assert self.local is not None
        return LocalRemote(str(self.local / team / model))

    def entries(self, team: str, model: str, folder: str = VERSIONS) -> Entries:
        """The registry entries of one model."""
        if self._s3 is not None:
            return S3Entries(self._s3, f"{team}/{model}/{folder}")
        assert self.local is not None
        return LocalEntries(self.local / team / model / folder)

    def stage_events(self, name: str) -> list[StageEvent]:
        """Every published stage event of ``TEAM/MODEL``."""
        return read_stage_events(self.entries(*split_name(name), STAGES))

    def _children(self, prefix: str) -> list[str]:
        if self._s3 is None:
            assert self.local is not None
            base = self.local / prefix
            return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        s3 = self._s3

        def listing() -> list[str]:
            pages = s3.client.get_paginator("list_objects_v2").paginate(
                Bucket=s3.bucket, Prefix=prefix, Delimiter="/"
            )
            return [
                p["Prefix"][len(prefix) :].rstrip("/")
                for page in pages
                for p in page.get("CommonPrefixes", [])
            ]

        names: list[str] = s3._call("listing", listing)
        return names

    def models(self, team: str | None = None) -> list[tuple[str, str]]:
        """Every (team, model) whose prefix holds registry entries."""
        teams = [validate_name(team, "team name")] if team else self._children("")
        found = []
        for t in teams:
            for m in self._children(f"{t}/"):
                if _name_ok(t) and _name_ok(m):
                    found.append((t, m))
        return found

    def versions(self, name: str, deleted: bool = False) -> list[dict[str, Any]]:
        """Every version of ``TEAM/MODEL`` (model and data), lowest first; with ``deleted``
        also those whose tag was deleted or whose data a gc pruned."""
        from cpv_hooks.stages import current

        team, model = split_name(name)
        found = read_all(self.entries(team, model), self.entries(team, model, "cpv"))
        held = current(self.stage_events(name))
        for entry in found:
            entry["stages"] = held.get(str(entry.get("tag")), [])
        return sorted((e for e in found if deleted or _listed(e)), key=_order)

    def summary(self, team: str | None = None) -> list[dict[str, Any]]:
        """Per model: its latest model and data version, date, author, headline metric and
        stages, from its ``cpv/summary.json`` (one GET), else from its entries."""

        def one(pair: tuple[str, str]) -> dict[str, Any]:
            root = self.entries(*pair, "cpv")
            row = decode_summary(root.get(SUMMARY))
            if row is None:
                row = summarize(self.entries(*pair), self.entries(*pair, STAGES))
            return {"team": pair[0], "model": pair[1], **row}

        rows = map_requests(one, self.models(team))
        return [r for r in rows if r["model_version"] or r["data_version"]]

    def resolve(
        self, name: str, kind: Kind, tag: str | None = "latest", stage: str | None = None
    ) -> dict[str, Any]:
        """The entry of ``tag`` (``latest``: the highest version of ``kind``), or of the
        version in ``stage``, of a model."""
        listed = [e for e in self.versions(name) if e.get("kind") == kind]
        if stage is not None:
            held = [e for e in listed if stage in e["stages"]]
            if not held:
                raise CheckpointNotFoundError(
                    f"no version of {name} is in stage {stage}",
                    f"`cpv registry versions {name}` shows the stages",
                )
            return held[-1]
        if tag in (None, "latest"):
            if not listed:
                raise CheckpointNotFoundError(
                    f"{name} has no {kind} version in the registry {self.where}",
                    "push one (git push), or check the name with `cpv registry list`",
                )
            return listed[-1]
        for entry in listed:
            if entry.get("tag") == tag:
                return entry
        raise CheckpointNotFoundError(
            f"{name} has no {kind} version {tag} in the registry {self.where}",
            f"list them with `cpv registry versions {name}`",
        )

    def download(
        self,
        name: str,
        tag: str | None = "latest",
        output_dir: str | Path = ".",
        kind: Kind = "model",
        force: bool = False,
        stage: str | None = None,
        paths: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], list[tuple[Path, str]]]:
        """Write a version's DVC artifacts to ``output_dir`` from the bucket alone, each file
        md5-verified (``paths``: only these files of a directory); returns the entry and the
        (path, md5) written."""
        from cpv_hooks.dvc.cache import Cache
        from cpv_hooks.dvc.pointers import Pointer
        from cpv_hooks.dvc.safety import check_md5, check_size, resolve_inside
        from cpv_hooks.storage import export

        team, model = split_name(name)
        entry = self.resolve(name, kind, tag, stage)
        remote = self.model_remote(team, model)
        out = Path(output_dir).expanduser().resolve()
        out.mkdir(parents=True, exist_ok=True)
        written = []
        with tempfile.TemporaryDirectory(prefix=TMP_PREFIX) as scratch:
            cache = Cache(Path(scratch))
            for path, art in dict(entry.get("artifacts") or {}).items():
                if not isinstance(art, dict) or art.get("store") != "dvc":
                    continue  # git-stored files (metrics.log) live in the git repo only
                where = f"registry entry {entry['tag']}"
                dest = resolve_inside(out, str(path), where)
                if dest.exists() and not force:
                    raise ValidationError(
                        f"{dest} already exists", "choose another --output-dir or pass --force"
                    )
                md5 = check_md5(art.get("md5"), where, allow_dir=True)
                ptr = Pointer(str(path), md5, check_size(art.get("size", 0), where))
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_dir() and not dest.is_symlink():  # --force: as `cpv model download`
                    shutil.rmtree(dest)
                export(ptr, dest, cache, lambda: remote, False, paths)
                written.append((dest, md5))
        return entry, written


def _name_ok(name: str) -> bool:
    try:
        validate_name(name, "name")
    except ValidationError:
        return False
    return True
