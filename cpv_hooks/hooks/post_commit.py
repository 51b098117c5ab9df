"""post-commit: tag a commit that changed the model or the data with its next version.

Unpushed earlier commits that missed their version (a killed commit, one made without the
hooks or on a detached HEAD) get theirs first, so numbers follow commit order. A commit on a
detached HEAD gets none: it is versioned when it reaches a branch. An amend is left to
post-rewrite, which moves the amended commit's version.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cpv_hooks.heal import Healed, heal_unpushed_parents
from cpv_hooks.hooks import report
from cpv_hooks.hooks.fast import watch
from cpv_hooks.repo import Git, find_root, load_repo_config
from cpv_hooks.tagging import tag_commit


def kind_of(tag: str) -> str:
    return "data" if tag.startswith("data-") else "model"


def say_healed(healed: list[Healed], what: str) -> None:
    """One line per version given to a commit that had none."""
    for h in healed:
        print(
            f"cpv: tagged {kind_of(h.tag)} version {h.tag} on {h.commit[:8]} ({h.subject[:50]}), "
            f"which had none; {what}",
            file=sys.stderr,
        )


def _run() -> int:
    root = find_root()
    git = Git(root)
    watch(git, load_repo_config(root))  # the shell decides on its own for the next commit
    amend = git.run("reflog", "-1", "--format=%gs", check=False).startswith("commit (amend)")
    if amend or git.in_progress_operation():
        return 0
    if not git.run("symbolic-ref", "-q", "HEAD", check=False):
        return 0  # detached: versioned when it reaches a branch (push, or `cpv heal`)
    say_healed(heal_unpushed_parents(root), "versions follow commit order")
    for tag in tag_commit(root):
        print(f"cpv: tagged {kind_of(tag)} version {tag}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (git passes no arguments)."""
    return report(_run)
