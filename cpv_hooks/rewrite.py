"""Versions across history rewrites (``git commit --amend``, ``git rebase``).

A version tag that was never pushed follows its commit to the rewritten one: same name, a
manifest rebuilt for the new commit (renumbered only when the new history already holds that
number). A tag that was pushed stays where it is: others may have it. Several rewritten
commits squashed into one keep the highest of their unpushed versions. No rewrite leaves two
versions for one change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cpv_hooks.heal import tags_by_commit
from cpv_hooks.repo import Git, load_repo_config
from cpv_hooks.tagging import build_manifest, kinds_changed, make_tag
from cpv_hooks.versions import Directive, Kind, Version, next_version, parse_tag


@dataclass
class RewriteReport:
    """What happened to the versions of rewritten commits."""

    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (old tag, new tag, commit)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (pushed tag, rewritten commit)
    dropped: list[str] = field(default_factory=list)  # unpushed tags whose change is gone


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """git's ``<old> <new> [extra]`` lines."""
    return [(p[0], p[1]) for p in (line.split() for line in text.splitlines()) if len(p) >= 2]


def is_pushed(git: Git, commit: str) -> bool:
    """True when a remote-tracking branch holds ``commit`` (as far as this clone knows)."""
    return bool(git.run("for-each-ref", "--count=1", "--contains", commit, "refs/remotes"))


def follow(root: Path, pairs: Iterable[tuple[str, str]]) -> RewriteReport:
    """Move the unpushed version tags of rewritten commits to their new commits."""
    git = Git(root)
    config = load_repo_config(root)
    tagged = tags_by_commit(git)
    report = RewriteReport()
    by_new: dict[str, list[tuple[str, str]]] = {}  # new commit -> (tag, old commit)
    for old, new in pairs:
        by_new.setdefault(new, []).extend((t, old) for t in tagged.get(old, []))
    for new, olds in by_new.items():
        changed = kinds_changed(git, config, new)
        here = {p[0] for p in map(parse_tag, tagged.get(new, [])) if p}
        for kind in {k for k, _ in filter(None, (parse_tag(t) for t, _ in olds))}:
            mine = [(t, o) for t, o in olds if (p := parse_tag(t)) and p[0] == kind]
            pushed = [(t, o) for t, o in mine if is_pushed(git, o)]
            report.kept += [(t, new) for t, _ in pushed]
            movable = sorted((t for t, o in mine if (t, o) not in pushed), key=_parsed)
            if not movable:
                continue
            if pushed or kind in here or kind not in changed:
                report.dropped += movable
                for tag in movable:
                    git.run("tag", "-d", tag)
                continue
            *older, keep = movable
            for tag in older:
                git.run("tag", "-d", tag)
            report.dropped += older
            name = _free_name(git, keep, new)
            make_tag(git, name, new, build_manifest(git, config, new, kind, name), force=True)
            if name != keep:
                git.run("tag", "-d", keep)
            report.moved.append((keep, name, new))
    return report


def _parsed(tag: str) -> tuple[Kind, Version]:
    """The kind and version of a tag already known to be a cpv version."""
    parsed = parse_tag(tag)
    if parsed is None:
        raise ValueError(f"{tag} is not a cpv version")
    return parsed


def _free_name(git: Git, tag: str, commit: str) -> str:
    """``tag`` when it is still above every version of its kind in ``commit``'s history."""
    kind, version = _parsed(tag)
    history = [t for t in git.run("tag", "--merged", commit).split("\n") if t and t != tag]
    below = [p[1] for p in map(parse_tag, history) if p and p[0] == kind]
    if all(v < version for v in below):
        return tag
    return next_version([*git.tags(), *history], kind, Directive()).tag(kind)
