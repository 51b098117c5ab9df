"""Healing: every commit that changed the model or the data carries its version tag.

A commit can miss its tag when git wrote it but post-commit never ran (a killed commit, a
clone without cpv's hooks, a CI bot, a cherry-pick, a rebase, a detached HEAD). Healing gives
such a commit the next free number, oldest first. A commit below an existing version of the
same kind (one of its descendants already carries one) stays as it is: a number above that
version would break the rule that versions grow along history. Merge commits are left to
post-commit's rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.errors import ValidationError
from cpv_hooks.repo import REPO_CONFIG, Git, before_adoption, configs_at, load_repo_config
from cpv_hooks.tagging import tag_commit, version_tags
from cpv_hooks.versions import KINDS, Directive, Kind, parse_tag

_SIZE_RE = re.compile(rb"^\s*size:\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Healed:
    """A version tag healing gave (or, in a dry run, would give) a commit."""

    tag: str
    commit: str
    subject: str


def tags_by_commit(git: Git) -> dict[str, list[str]]:
    """Commit -> the cpv version tags on it."""
    found: dict[str, list[str]] = {}
    for name, _, commit in version_tags(git):
        found.setdefault(commit, []).append(name)
    return found


def untagged(git: Git, include: Sequence[str], exclude: Sequence[str]) -> list[tuple[str, Kind]]:
    """(commit, kind) pairs of ``include --not exclude`` that changed ``kind`` and lack its tag.

    Oldest first; merges left out. What a commit versions is what its own ``.cpv.yaml``
    declares (a branch may declare more than the checkout). Two ``git log`` calls when the
    range changed neither ``.cpv.yaml`` nor a pointer.
    """
    if not include:
        return []
    current = load_repo_config(git.root)
    exclude = [*exclude, *before_adoption(git, current)]  # history before adoption is DVC's
    touched = git.run("log", "--format=%H", *include, "--not", *exclude, "--", REPO_CONFIG)
    revs = [*(f"{c}^" for c in touched.split()), *touched.split()]
    seen = [current, *configs_at(git, revs).values()]
    pointers = {a.pointer for config in seen for a in config.artifacts}
    log = git.run(
        "log", "--reverse", "--topo-order", "--no-merges", "--full-history",
        "--format=%x01%H", "--name-only", *include, "--not", *exclude, "--",
        *sorted(pointers),
    )  # fmt: skip
    changed: list[tuple[str, set[str]]] = []
    for record in filter(None, log.split("\x01")):
        sha, *names = record.strip().split("\n")
        changed.append((sha, set(names)))
    if not changed:
        return []
    configs = configs_at(git, [sha for sha, _ in changed])
    tagged = tags_by_commit(git)
    out = []
    for sha, paths in changed:
        kinds = {a.kind for a in configs[sha].artifacts if a.pointer in paths}
        have = {parsed[0] for parsed in map(parse_tag, tagged.get(sha, [])) if parsed}
        out += [(sha, k) for k in KINDS if k in kinds and k not in have]
    if not out:
        return []
    dvc = {
        (sha, k): [a.pointer for a in configs[sha].of_kind(k) if a.store == "dvc"] for sha, k in out
    }
    blobs = git.read_blobs([f"{sha}:{p}" for (sha, _), ptrs in dvc.items() for p in ptrs])
    sizes = {spec: _SIZE_RE.search(data) for spec, data in blobs.items()}

    def placeholder(sha: str, kind: Kind) -> bool:  # empty DVC artifacts never get a version
        found = [sizes.get(f"{sha}:{p}") for p in dvc[sha, kind]]
        return bool(found) and not any(m and int(m.group(1)) for m in found)

    return [(sha, k) for sha, k in out if not placeholder(sha, k)]


def heal(
    root: Path,
    include: Sequence[str],
    exclude: Sequence[str] = (),
    taken: Callable[[], list[str]] = list,
    dry_run: bool = False,
) -> list[Healed]:
    """Tag the commits of ``include --not exclude`` that miss their version, oldest first.

    ``taken`` gives tag names to avoid besides the local ones (the remote's); it is called
    only when a commit needs a tag.
    """
    git = Git(root)
    missing = [
        (sha, kind)
        for sha, kind in untagged(git, include, exclude)
        # a later version of the kind in its descendants: a number here would be out of order
        if not any(
            p and p[0] == kind
            for p in map(parse_tag, filter(None, git.run("tag", "--contains", sha).split("\n")))
        )
    ]
    if not missing:
        return []
    others = taken()
    done: list[Healed] = []
    for sha, kind in missing:
        message = git.run("log", "-1", "--format=%B", sha)
        avoid = others + [h.tag for h in done]
        try:
            made = tag_commit(root, sha, None, [kind], avoid, dry_run)
        except ValidationError:  # a malformed or too-low directive: the next number instead
            made = tag_commit(root, sha, Directive(), [kind], avoid, dry_run)
        done += [Healed(tag, sha, message.split("\n", 1)[0]) for tag in made]
    return done


def heal_unpushed_parents(root: Path, commit: str = "HEAD") -> list[Healed]:
    """Heal the unpushed history of a new commit, before the commit itself is tagged."""
    parents = Git(root).run("rev-parse", f"{commit}^@").split()
    return heal(root, parents, ["--remotes"])
