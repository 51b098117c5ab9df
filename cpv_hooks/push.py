"""What a ``git push`` must upload: the data of every commit the pushed refs bring."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from cpv_hooks.dvc.cache import Cache
from cpv_hooks.dvc.pointers import Pointer, parse_pointer
from cpv_hooks.errors import ConfigError, GitError, ValidationError
from cpv_hooks.heal import Healed, heal
from cpv_hooks.pushed import RemoteIndex
from cpv_hooks.repo import (
    ZERO_SHA,
    Git,
    RepoConfig,
    before_adoption,
    load_repo_config,
    pointer_specs,
)
from cpv_hooks.stages import parse_stage_tag, validate_pushed_stage
from cpv_hooks.storage import (
    Remote,
    by_remote,
    cache_dir,
    fetch,
    missing_objects,
    open_remote,
    upload,
)
from cpv_hooks.tagging import validate_pushed_tags, version_tags
from cpv_hooks.versions import Kind, parse_tag


@dataclass(frozen=True)
class RefUpdate:
    """One line git gives the pre-push hook."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @classmethod
    def parse(cls, line: str) -> RefUpdate:
        local_ref, local_sha, remote_ref, remote_sha = line.rsplit(maxsplit=3)
        return cls(local_ref, local_sha, remote_ref, remote_sha)


@dataclass
class PushResult:
    """What a push uploaded."""

    commits: int
    objects: int
    bytes: int
    remote: str
    warnings: list[str] = field(default_factory=list)  # failed notifications


def adopted_history(git: Git, config: RepoConfig) -> set[str]:
    """Every commit of the history an adopted repo had (none for a repo cpv made)."""
    tips = before_adoption(git, config)
    return set(git.rev_list(tips)) if tips else set()


def _tag_name(up: RefUpdate) -> str | None:
    """The tag a ref line pushes (not deletes), or None."""
    if up.local_sha == ZERO_SHA or not up.remote_ref.startswith("refs/tags/"):
        return None
    return up.remote_ref[len("refs/tags/") :]


def commits_to_publish(git: Git, updates: Iterable[RefUpdate], remote: str) -> list[str]:
    """Every commit whose data the remote must hold after this push."""
    updates = [up for up in updates if up.local_sha != ZERO_SHA]
    commits: dict[str, None] = {}
    config = load_repo_config(git.root)
    adopted = before_adoption(git, config)
    tips = git.peel(up.local_sha for up in updates)
    known = git.peel(up.remote_sha for up in updates if up.remote_sha != ZERO_SHA)
    tagged = [tips[up.local_sha] for up in updates if _tag_name(up) and up.local_sha in tips]
    old = adopted_history(git, config) if adopted and tagged else set()
    commits.update(dict.fromkeys(c for c in tagged if c not in old))  # else DVC's data, as it was
    for up in updates:
        if _tag_name(up) or up.local_sha not in tips:
            continue
        exclude = [up.remote_sha] if up.remote_sha in known else [f"--remotes={remote}"]
        commits.update(dict.fromkeys(git.rev_list([tips[up.local_sha]], [*exclude, *adopted])))
    return list(commits)


def pointers_at(git: Git, commits: list[str], kind: Kind | None = None) -> list[Pointer]:
    """The distinct DVC pointers of ``commits`` (of ``kind``), as each commit declares them."""
    specs = pointer_specs(git, commits, kind)
    seen: dict[bytes, Pointer] = {}
    for spec, data in git.read_blobs(list(specs)).items():
        if data not in seen:
            seen[data] = parse_pointer(data, specs[spec])
    return list(seen.values())


def check_tags(git: Git, config: RepoConfig, updates: Iterable[RefUpdate], remote: str) -> None:
    """Refuse the push when a pushed cpv tag is malformed, lightweight, taken or not increasing."""
    tags = [(name, up) for up in updates if (name := _tag_name(up))]
    legacy = [up.local_sha for name, up in tags if name in config.legacy_tags]
    old = adopted_history(git, config) if legacy else set()
    peeled = git.peel(legacy) if old else {}
    others = []
    for name, up in tags:
        if name in config.legacy_tags and peeled.get(up.local_sha) in old:
            continue  # made before the repo was adopted: pushed as it is
        if parse_stage_tag(name):
            problem = validate_pushed_stage(git, name, up.local_sha, up.remote_sha)
            if problem:
                raise ValidationError(problem)
        else:
            others.append((name, up.local_sha, up.remote_sha))
    problem = validate_pushed_tags(git, config, others, remote)
    if problem:
        raise ValidationError(problem)


def check_held_back_tags(
    git: Git, commits: list[str], updates: list[RefUpdate], remote: str
) -> None:
    """Refuse when a pushed commit's version tag is taken on the remote by another commit.

    git's followTags silently leaves out a tag whose name the remote already has; without
    this check the local version would never be published, and nobody would know.
    """
    pushed = {u.remote_ref for u in updates}
    tagged: dict[str, str] = {}
    if commits:
        wanted = set(commits)
        for name, obj, commit in version_tags(git):
            if commit in wanted and f"refs/tags/{name}" not in pushed:
                tagged[name] = obj
    if not tagged:
        return
    few = [f"refs/tags/{t}" for t in tagged] if len(tagged) <= 100 else []  # argv stays short
    out = git.run("ls-remote", "--tags", remote, *few)
    for line in out.split("\n"):
        if not line:
            continue
        obj, ref = line.split()
        name = ref.removeprefix("refs/tags/")
        if name in tagged and obj != tagged[name]:
            raise ValidationError(
                f"{name} already exists on {remote} for another commit",
                f"renumber yours with `cpv retag {name}`, then push again",
            )


def publish(
    root: Path,
    updates: list[RefUpdate],
    remote_name: str,
    target: Remote | None = None,
    notify: bool | None = None,
) -> PushResult:
    """Validate the pushed tags, upload the objects the pushed commits need, then publish
    the pushed versions to the registry (``notify``: see ``notify.notify``)."""
    git = Git(root)
    config = load_repo_config(root)
    check_tags(git, config, updates, remote_name)
    commits = commits_to_publish(git, updates, remote_name)
    check_held_back_tags(git, commits, updates, remote_name)
    if target is None:
        with suppress(ConfigError):  # none: the upload says so if data needs one
            target = open_remote(root)  # one client for the upload and the registry
    result = _upload(root, git, config, commits, target)
    if config.dvc_artifacts:
        result.warnings = record(git, config, updates, remote_name, target, notify)
    return result


def _upload(
    root: Path, git: Git, config: RepoConfig, commits: list[str], target: Remote | None
) -> PushResult:
    if not commits:
        return PushResult(0, 0, 0, "")
    pointers = pointers_at(git, commits)
    if not pointers:
        return PushResult(len(commits), 0, 0, "")
    cache = Cache(cache_dir(root))
    objects = sent = 0
    urls = []
    for remote, ptrs in by_remote(root, pointers, target):  # a pointer's own `remote:` first
        index = RemoteIndex.open(git, remote)
        files, dirs = index.split(cache, ptrs)  # what the index cannot vouch for
        need = missing_objects(remote, cache, files, dirs)
        sent += upload(remote, cache, need) if need else 0
        if index.vouched or len(need) < len(files) + len(dirs):  # relied on objects there
            from cpv_hooks.gc import guard_push  # gc reads pointers through this module

            guard_push(remote, cache, files, dirs, index)
        index.record(files + [d for d in dirs if cache.has(d.md5)])  # a listing: its files too
        index.save()
        objects += len(need)
        urls.append(remote.url)
    return PushResult(len(commits), objects, sent, ", ".join(urls))


def record(
    git: Git,
    config: RepoConfig,
    updates: list[RefUpdate],
    remote_name: str,
    target: Remote | None,
    notify: bool | None = None,
) -> list[str]:
    """Publish the pushed version and stage tags to the registry (their data is uploaded by
    now); returns the warnings of failed notifications.

    The other entries are reconciled with the git remote when it is ``origin`` only: a push
    to a mirror must not mark the versions it lacks as deleted.
    """
    from cpv_hooks.registry import record_push

    tags = {
        name: u.local_sha
        for u in updates
        if (name := u.remote_ref.removeprefix("refs/tags/")) != u.remote_ref
        and (parse_tag(name) or parse_stage_tag(name))
    }
    try:
        remote = target or open_remote(git.root)
    except ConfigError:
        return []  # no DVC remote: no registry
    origin = remote_name == "origin" and "origin" in git.run("remote").split()
    name = f"{config.team}/{config.model}"
    return record_push(git, remote, tags, remote_name if origin else None, name, notify)


def heal_pushed(
    root: Path,
    updates: list[RefUpdate],
    remote: str,
    advertised: dict[str, str] | None = None,
    dry_run: bool = False,
) -> list[Healed]:
    """Tag the pushed branch commits that changed the model or data and have no version."""
    git = Git(root)
    tips = [
        u.local_sha
        for u in updates
        if u.local_sha != ZERO_SHA and not u.remote_ref.startswith("refs/tags/")
    ]
    if not tips:
        return []
    present = git.peel(u.remote_sha for u in updates if u.remote_sha != ZERO_SHA)
    known = [u.remote_sha for u in updates if u.remote_sha in present]

    def taken() -> list[str]:
        refs = advertised if advertised is not None else advertised_refs(git, remote, "--tags")
        return [
            r[len("refs/tags/") :].removesuffix("^{}") for r in refs if r.startswith("refs/tags/")
        ]

    return heal(root, tips, [*known, f"--remotes={remote}"], taken, dry_run)


def advertised_refs(git: Git, remote: str, *options: str) -> dict[str, str]:
    """What ``remote`` advertises: ref name -> object (one ``git ls-remote``)."""
    out = git.run("ls-remote", *options, remote)
    return {ref: sha for sha, ref in (line.split("\t", 1) for line in out.split("\n") if line)}


def push_branch(root: Path, remote: str, branch: str, notify: bool | None = None) -> PushResult:
    """``git push`` of ``branch`` and of every version tag in its history the remote lacks.

    What a push sends is computed from what the remote advertises, as git does, and the
    data of every commit in it is uploaded before any ref goes: versions committed earlier
    without a push (``--no-push``) get their data uploaded too.
    """
    git = Git(root)
    advertised = advertised_refs(git, remote)
    head = git.run("rev-parse", f"refs/heads/{branch}")
    ref = f"refs/heads/{branch}"
    update = RefUpdate(ref, head, ref, advertised.get(ref, ZERO_SHA))
    heal_pushed(root, [update], remote, advertised)
    merged = git.run("tag", "--merged", head).split("\n")
    tags = [t for t in merged if parse_tag(t) and f"refs/tags/{t}" not in advertised]
    found = git.object_info([f"refs/tags/{t}" for t in tags])
    tag_shas = [found[f"refs/tags/{t}"][0] for t in tags]
    updates = [update] + [
        RefUpdate(f"refs/tags/{t}", sha, f"refs/tags/{t}", ZERO_SHA)
        for t, sha in zip(tags, tag_shas, strict=True)
    ]
    result = publish(root, updates, remote, notify=notify)
    push = [
        "push",
        "--atomic",
        "--no-verify",
        "--no-follow-tags",
        "-q",
        "-u",
        remote,
        branch,
        *tags,
    ]
    try:
        git.run(*push)
    except GitError as exc:
        raise GitError(
            f"git push to {remote} failed: {exc.message.split(' failed: ', 1)[-1]}",
            "pull first (git pull), or renumber a taken tag with `cpv retag`",
        ) from exc
    return result


def verify_remote(root: Path) -> list[str]:
    """What the remote lacks for HEAD and every version tag ("<path>@<commit>: <md5>")."""
    git = Git(root)
    commits = dict.fromkeys([git.run("rev-parse", "HEAD")])
    commits.update(dict.fromkeys(commit for _, _, commit in version_tags(git)))
    specs = pointer_specs(git, list(commits))
    cache = Cache(cache_dir(root))
    where: dict[str, str] = {}
    pointers = []
    for spec, data in git.read_blobs(list(specs)).items():
        ptr = parse_pointer(data, specs[spec])
        where.setdefault(ptr.md5, specs[spec])
        pointers.append(ptr)
    missing = []
    for remote, ptrs in by_remote(root, pointers, open_remote(root)):
        _, dirs = cache.objects(ptrs)
        absent = [d for d in dirs if not cache.has(d.md5)]
        on_remote = remote.sizes(absent)
        fetch(remote, cache, [d for d in absent if d.md5 in on_remote])
        files, dirs = cache.objects(ptrs)
        on_remote = remote.sizes(files + dirs)
        missing += [
            f"{where.get(o.md5, 'data')}: {o.md5}" for o in files + dirs if o.md5 not in on_remote
        ]
    return missing
