"""Creating version tags for commits, and checking tags before they leave the machine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpv_hooks.dvc.pointers import lock_out, parse_pointer
from cpv_hooks.errors import CheckpointNotFoundError, ValidationError
from cpv_hooks.metrics import parse_metrics
from cpv_hooks.repo import ZERO_SHA, Git, RepoConfig, load_repo_config
from cpv_hooks.versions import (
    KINDS,
    Directive,
    Kind,
    Version,
    latest,
    name_problem,
    next_version,
    parse_directive,
    parse_tag,
    tag_for,
)

MANIFEST_SCHEMA = 1

if TYPE_CHECKING:  # pydantic is imported only when a tag is made or read
    from cpv_hooks.manifest import Manifest


def version_tags(git: Git) -> list[tuple[str, str, str]]:
    """(name, tag object, commit) of every cpv version tag (one git call)."""
    out = git.run(
        "for-each-ref", "refs/tags", "--format=%(refname:short) %(objectname) %(*objectname)"
    )
    found = []
    for line in filter(None, out.split("\n")):
        name, obj, *peeled = line.split()
        if parse_tag(name):
            found.append((name, obj, peeled[0] if peeled else obj))
    return found


def kinds_changed(git: Git, config: RepoConfig, commit: str) -> list[Kind]:
    """The kinds (model, data) whose tracked paths ``commit`` changed."""
    changed = git.changed_paths(commit)
    return [k for k in KINDS if any(a.pointer in changed for a in config.of_kind(k))]


def build_manifest(
    git: Git, config: RepoConfig, commit: str, kind: Kind, tag: str
) -> dict[str, Any]:
    """The manifest of ``kind`` at ``commit`` (the schema is manifest.Manifest).

    Built as plain JSON so that a versioned commit does not pay for importing pydantic.
    """
    arts = config.of_kind(kind)
    files = git.read_blobs([f"{commit}:{a.pointer}" for a in arts])
    infos: dict[str, dict[str, Any]] = {}
    metrics: dict[str, float] = {}
    for art in arts:
        data = files.get(f"{commit}:{art.pointer}")
        if data is None:
            continue
        if art.store == "stage":  # the output's entry of dvc.lock
            out = lock_out(data, art.path, f"{art.pointer}@{commit[:8]}")
            if out is not None:
                infos[art.path] = {**out.as_dict(), "store": "dvc"}
        elif art.store == "dvc":
            ptr = parse_pointer(data, f"{art.pointer}@{commit[:8]}")
            infos[art.path] = {**ptr.as_dict(), "store": "dvc"}
        else:
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            infos[art.path] = {"md5": md5, "size": len(data), "store": "git"}
        if art.path == config.metrics:
            metrics = parse_metrics(data.decode("utf-8", "replace"))
    author, date, subject = git.run("log", "-1", "--format=%an <%ae>%x00%aI%x00%s", commit).split(
        "\0"
    )
    lineage = {"data": trained_on(git, config, commit)} if kind == "model" else {}
    return {
        "schema": MANIFEST_SCHEMA,
        "kind": kind,
        "tag": tag,
        "version": tag.removeprefix("data-"),
        "commit": commit,
        "author": author,
        "date": date,
        "message": subject,
        "artifacts": infos,
        "metrics": metrics,
        **lineage,
    }


def trained_on(git: Git, config: RepoConfig, commit: str) -> dict[str, Any]:
    """The data at ``commit``: its DVC hashes, and the data version holding the same data
    (the newest data tag in the commit's history whose hashes match), or None."""
    arts = [a for a in config.of_kind("data") if a.store == "dvc"]

    def hashes(rev: str) -> dict[str, str]:
        blobs = git.read_blobs([f"{rev}:{a.pointer}" for a in arts])
        return {
            a.path: parse_pointer(blobs[f"{rev}:{a.pointer}"], f"{a.pointer}@{rev[:10]}").md5
            for a in arts
            if f"{rev}:{a.pointer}" in blobs
        }

    md5 = hashes(commit)
    older = [t for t in git.run("tag", "--merged", commit).split("\n") if t]
    tags = sorted((p[1], t) for t in older if (p := parse_tag(t)) and p[0] == "data")
    match = next((t for _, t in reversed(tags) if hashes(t) == md5), None)
    return {"tag": match, "md5": md5}


def manifest_text(manifest: dict[str, Any]) -> str:
    """The tag message: a human subject line, a blank line, then the JSON."""
    body = json.dumps(manifest, indent=1)
    return f"cpv {manifest['kind']} {manifest['tag']}: {manifest['message']}\n\n{body}\n"


def tag_commit(
    root: Path,
    commit: str = "HEAD",
    directive: Directive | None = None,
    kinds: list[Kind] | None = None,
    taken: Iterable[str] = (),
    dry_run: bool = False,
) -> list[str]:
    """Give ``commit`` the next version tag of each kind it changed; returns the new tags.

    A kind whose DVC artifacts are all empty placeholders, or that already has a tag on
    this commit, gets none. ``taken`` names tags to count as existing (the remote's);
    ``dry_run`` names the tags without making them.
    """
    git = Git(root)
    config = load_repo_config(root)
    kinds = kinds if kinds is not None else kinds_changed(git, config, commit)
    if not kinds:
        return []
    sha = git.run("rev-parse", "--verify", f"{commit}^{{commit}}")
    if directive is None:
        directive = parse_directive(git.run("log", "-1", "--format=%B", sha))
    if directive.skip:
        return []
    existing = git.tags() + list(taken)
    here = {parsed[0] for parsed in map(parse_tag, git.tags_at(sha)) if parsed}
    created = []
    for kind in sorted(kinds, key=lambda k: k != "data"):  # a model's manifest names its data
        if kind in here:
            continue
        name = next_version(existing, kind, directive).tag(kind)
        manifest = build_manifest(git, config, sha, kind, name)
        dvc_sizes = [i["size"] for i in manifest["artifacts"].values() if i["store"] == "dvc"]
        if dvc_sizes and not any(dvc_sizes):
            continue
        if not dry_run:
            make_tag(git, name, sha, manifest)
        existing.append(name)
        created.append(name)
    return created


def make_tag(
    git: Git, name: str, commit: str, manifest: dict[str, Any], force: bool = False
) -> None:
    """Create (or with ``force`` replace) the annotated version tag ``name`` on ``commit``.

    ``git tag -a`` signs it when the user's git says so (``tag.gpgSign``).
    """
    force_arg = ["-f"] if force else []
    git.run("tag", "-a", *force_arg, name, "-F", "-", commit, input=manifest_text(manifest))


def validate_pushed_tags(
    git: Git, config: RepoConfig, pushed: Sequence[tuple[str, str, str]], remote: str
) -> str | None:
    """Why the push of tags (name, object, the remote's object) must be refused, or None.

    The first problem found: a misspelled version, a lightweight or taken version tag, one
    on a commit without its pointers, one not above a version of its kind in its history.
    A few git calls whatever the number of tags (objects and pointers in batches on stdin,
    one walk of the history for the order of versions).
    """
    versions = []
    for name, obj, remote_obj in pushed:
        problem = name_problem(name)
        if problem:
            return problem
        if parsed := parse_tag(name):
            versions.append((name, obj, remote_obj, *parsed))
    if not versions:
        return None
    info = git.object_info([s for v in versions for s in (v[1], f"{v[1]}^{{commit}}")])
    commits: dict[str, str] = {}
    for name, obj, remote_obj, _, _ in versions:
        if info.get(obj, ("", ""))[1] != "tag":
            return f"tag {name} is lightweight: make it a cpv version with `cpv retag {name}`"
        if remote_obj not in (ZERO_SHA, obj):
            return (
                f"{name} already exists on {remote} for another commit: "
                f"renumber yours with `cpv retag {name}`"
            )
        if f"{obj}^{{commit}}" not in info:
            return f"tag {name} points at no commit: delete it with `git tag -d {name}`"
        commits[name] = info[f"{obj}^{{commit}}"][0]
    needs = {
        (name, a.pointer): f"{commits[name]}:{a.pointer}"
        for name, _, _, kind, _ in versions
        for a in config.of_kind(kind)
        if a.store == "dvc"
    }
    present = git.object_info(list(needs.values()))
    for (name, path), spec in needs.items():
        if spec not in present:
            return (
                f"tag {name} points at {commits[name][:8]}, which has no {path}: "
                f"delete it with `git tag -d {name}`"
            )
    below = highest_below(git, set(commits.values()))
    for name, _, _, kind, version in versions:
        other = below.get(commits[name], {}).get(kind)
        if other is not None and other[0] >= version:
            return (
                f"tag {name} is not above {other[1]}, which is already in its history: "
                f"retag it as the next version with `cpv retag {name}`"
            )
    return None


Highest = dict[Kind, tuple[Version, str]]  # kind -> (version, tag name)


def highest_below(git: Git, commits: Iterable[str]) -> dict[str, Highest]:
    """For each of ``commits``: the highest version tag of each kind on its ancestors (not
    on the commit itself). One walk of their history, oldest first; a history git cannot
    walk (a shallow clone's edge) gives what it can."""
    starts = list(commits)
    at: dict[str, Highest] = {}
    for name, _, commit in version_tags(git):
        if parsed := parse_tag(name):
            at[commit] = _higher(at.get(commit, {}), {parsed[0]: (parsed[1], name)})
    walk = git.result(
        "rev-list", "--topo-order", "--reverse", "--parents", "--stdin",
        input="".join(f"{c}\n" for c in starts),
    )  # fmt: skip
    below: dict[str, Highest] = {}
    for line in filter(None, walk.stdout.split("\n")):
        sha, *parents = line.split()
        found: Highest = {}
        for parent in parents:
            found = _higher(_higher(found, below.get(parent, {})), at.get(parent, {}))
        below[sha] = found
    return {c: below.get(c, {}) for c in starts}


def _higher(a: Highest, b: Highest) -> Highest:
    """The higher version of each kind of ``a`` and ``b`` (``a`` itself when ``b`` adds none:
    a history's commits share one mapping until a tag changes it)."""
    if all(kind in a and a[kind] >= found for kind, found in b.items()):
        return a
    return {k: max(v for v in (a.get(k), b.get(k)) if v is not None) for k in {*a, *b}}


@dataclass(frozen=True)
class Retag:
    """What ``cpv retag`` did (or, in a dry run, would do) and why."""

    old: str
    new: str
    reason: str


def retag(
    root: Path, tag: str, remote: str = "origin", to: str | None = None, dry_run: bool = False
) -> Retag:
    """Make ``tag`` a proper version: same name when it is free and above the newest, else
    the next number free here and on ``remote`` (or ``to``, which must be above the newest).

    The way out when a teammate pushed the same version first, or for a hand-made tag.
    """
    git = Git(root)
    parsed = parse_tag(tag)
    if parsed is None:
        raise ValidationError(
            f"{tag} is not a cpv version tag", "name a tag like v1.2 or data-v1.2"
        )
    if not git.ok("rev-parse", "--verify", "-q", f"refs/tags/{tag}"):
        raise CheckpointNotFoundError(f"there is no tag {tag}", "list versions with `git tag -l`")
    kind, version = parsed
    commit = git.run("rev-parse", f"{tag}^{{commit}}")
    obj = git.run("rev-parse", f"refs/tags/{tag}")
    listed = git.run("ls-remote", "--tags", remote).split("\n")
    taken = {
        line.split("refs/tags/", 1)[1]: line.split()[0]
        for line in listed
        if "refs/tags/" in line and not line.endswith("^{}")
    }
    others = [t for t in git.tags() if t != tag] + [t for t in taken if t != tag]
    newest = latest(others, kind)
    if taken.get(tag) == obj:
        raise ValidationError(f"{tag} is already on {remote} as it is", "there is nothing to retag")
    if to is not None:
        name = tag_for(kind, to)
        wanted = parse_tag(name)
        if newest is not None and wanted is not None and wanted[1] <= newest:
            raise ValidationError(
                f"{name} is not above the newest {newest.tag(kind)}",
                f"pick {newest.next_minor().tag(kind)} or higher, or leave the name to cpv",
            )
        reason = "the name you asked for"
    elif tag in taken:
        name = next_version([*others, tag], kind, Directive()).tag(kind)
        reason = f"{tag} is taken on {remote} by another commit"
    elif newest is not None and version <= newest:
        name = next_version(others, kind, Directive()).tag(kind)
        reason = f"{tag} is not above the newest {newest.tag(kind)}"
    else:
        name = tag
        reason = "the name is free and above every other version; now with its manifest"
    if name != tag and name in git.tags():
        raise ValidationError(
            f"{name} already exists here", f"delete it first: `git tag -d {name}`"
        )
    if not dry_run:
        manifest = build_manifest(git, load_repo_config(root), commit, kind, name)
        make_tag(git, name, commit, manifest, force=name == tag)
        if name != tag:
            git.run("tag", "-d", tag)
    return Retag(tag, name, reason)


def read_manifests(git: Git, kind: Kind | None = None) -> list[Manifest]:
    """The manifests of every cpv version tag (one git call), lowest version first.

    Tags whose manifest is malformed are left out: :func:`scan_manifests` says why.
    """
    return scan_manifests(git, kind)[0]


def scan_manifests(
    git: Git, kind: Kind | None = None
) -> tuple[list[Manifest], dict[str, ValidationError]]:
    """The manifests of every cpv version tag, and why each other version tag is left out
    (a malformed or copied manifest), from one git call."""
    from cpv_hooks.manifest import parse_manifest
    from cpv_hooks.pruned import marks

    fields = "%(refname:lstrip=2)%00%(*objectname)%00%(contents)%1e"  # a name as git spells it
    out = git.run("for-each-ref", "refs/tags", f"--format={fields}")
    found: list[tuple[tuple[int, int], Manifest]] = []
    unlisted: dict[str, ValidationError] = {}
    for record in out.split("\x1e"):
        name, _, rest = record.lstrip("\n").partition("\0")
        commit, _, text = rest.partition("\0")
        parsed = parse_tag(name)
        if not parsed or (kind and parsed[0] != kind):
            continue
        try:
            manifest = parse_manifest(name, text, commit)
            found.append(((parsed[1].major, parsed[1].minor), manifest))
        except ValidationError as exc:
            unlisted[name] = exc
    gone = marks(git)
    manifests = [
        m.model_copy(update={"pruned": f"{gone[m.tag].date[:10]} by {gone[m.tag].by}"})
        if m.tag in gone
        else m
        for _, m in sorted(found, key=lambda item: (item[1].kind, item[0]))
    ]
    return manifests, unlisted


def read_manifest(git: Git, tag: str) -> Manifest:
    """The manifest of one tag; a missing tag or a malformed manifest raises."""
    from cpv_hooks.manifest import parse_manifest

    if not git.ok("rev-parse", "--verify", "-q", f"refs/tags/{tag}"):
        raise CheckpointNotFoundError(
            f"there is no version {tag}", "list versions with `cpv model list-tags`"
        )
    text = git.run("tag", "-l", "--format=%(*objectname)%00%(contents)", tag)
    commit, _, text = text.partition("\0")
    return parse_manifest(tag, text, commit)


def manifests_of(git: Git, tags: Sequence[str]) -> dict[str, Manifest]:
    """The manifests of version ``tags``, in their order, from one ``git cat-file --batch``;
    a tag that is missing or lightweight, or whose manifest is malformed, is left out."""
    from cpv_hooks.manifest import parse_manifest

    objects = git.read_objects([f"refs/tags/{t}" for t in tags])
    found = {}
    for tag in tags:
        kind, data = objects.get(f"refs/tags/{tag}", ("", b""))
        if kind != "tag":
            continue
        header, _, message = data.partition(b"\n\n")
        commit = header.split(b"\n", 1)[0].removeprefix(b"object ").decode()
        try:
            found[tag] = parse_manifest(tag, message.decode("utf-8", "surrogateescape"), commit)
        except ValidationError:
            continue
    return found


def signature(git: Git, tag: str) -> str:
    """Whether version ``tag`` is signed, and if so whether git verifies the signature."""
    if not git.run("tag", "-l", "--format=%(contents:signature)", tag).strip():
        return "unsigned"
    if git.ok("verify-tag", tag):
        return "valid"
    return f"NOT verified (`git tag -v {tag}` says why)"
