"""Marks of versions whose data a retention gc deleted: git notes under ``refs/notes/cpv-pruned``.

A note on the version's commit holds one JSON line per pruned tag (``{"tag", "date", "by"}``).
Notes are pushed like any ref, so every clone learns which versions were pruned; the tags
themselves are never rewritten or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cpv_hooks.errors import CheckpointNotFoundError, StorageError
from cpv_hooks.repo import Git

NOTES_REF = "refs/notes/cpv-pruned"
NOTES_FETCH = f"+{NOTES_REF}*:{NOTES_REF}*"  # a glob: no error while the remote has none


@dataclass(frozen=True)
class Mark:
    """Who pruned a version's data, and when."""

    tag: str
    commit: str
    date: str
    by: str

    def line(self) -> str:
        return json.dumps({"tag": self.tag, "date": self.date, "by": self.by})


def marks(git: Git) -> dict[str, Mark]:
    """Every pruned version: tag -> mark."""
    out = git.run("notes", f"--ref={NOTES_REF}", "list", check=False)
    pairs = [line.split() for line in out.split("\n") if line.strip()]
    blobs = git.read_blobs([note for note, _ in pairs])
    found: dict[str, Mark] = {}
    for note, commit in pairs:
        for line in blobs.get(note, b"").decode("utf-8", "replace").splitlines():
            try:
                item = json.loads(line)
                found[str(item["tag"])] = Mark(
                    str(item["tag"]), commit, str(item["date"]), str(item["by"])
                )
            except (ValueError, KeyError, TypeError):
                continue  # a note line of another tool or a hand edit: not a mark
    return found


def add_marks(git: Git, new: list[Mark]) -> None:
    """Append ``new`` marks to the notes of their commits."""
    for mark in new:
        git.run("notes", f"--ref={NOTES_REF}", "append", "-m", mark.line(), mark.commit)


def follow_marks(git: Git, remote: str = "origin") -> None:
    """Make ``git fetch`` bring the remote's marks, and bring them now (``cpv install``).

    Idempotent; an unreachable remote is left for the next ``git fetch``.
    """
    fetches = git.run("config", "--get-all", f"remote.{remote}.fetch", check=False).split("\n")
    if fetches != [""] and NOTES_FETCH not in fetches:
        git.run("config", "--add", f"remote.{remote}.fetch", NOTES_FETCH)
        git.ok("fetch", "-q", remote, NOTES_FETCH)


def pruned_error(mark: Mark) -> CheckpointNotFoundError:
    day = mark.date[:10]
    return CheckpointNotFoundError(
        f"{mark.tag}'s data was pruned on {day} by {mark.by[:80]}",  # printed escaped
        "use a kept version (`cpv model list-tags` shows pruned ones)",
    )


@contextmanager
def explained(git: Git, commit: str | None = None, tag: str | None = None) -> Iterator[None]:
    """Turn a missing-object error for a pruned version into the one-line 'pruned' message."""
    try:
        yield
    except StorageError:
        hit = _mark_of(git, commit, tag)
        if hit is None and git.ok("fetch", "-q", "origin", NOTES_FETCH):  # marks may be new
            hit = _mark_of(git, commit, tag)
        if hit is None:
            raise
        raise pruned_error(hit) from None


def _mark_of(git: Git, commit: str | None, tag: str | None) -> Mark | None:
    known = marks(git)
    return known.get(tag or "") or next(
        (m for m in known.values() if commit and m.commit == commit), None
    )
