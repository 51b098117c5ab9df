"""post-rewrite (amend, rebase): versions follow rewritten commits; the workspace follows HEAD.

git passes "amend" or "rebase" and ``<old> <new>`` lines on stdin. Under the pre-commit
framework there is no stdin: an amend is then read from the reflog (HEAD@{1} -> HEAD).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from cpv_hooks.hooks import report
from cpv_hooks.hooks.post_checkout import sync_and_report
from cpv_hooks.repo import Git, find_root
from cpv_hooks.rewrite import follow, parse_pairs
from cpv_hooks.tagging import tag_commit


def main(argv: Sequence[str] | None = None, stdin: str | None = None) -> int:
    """``argv`` is git's (the rewriting command); the rewritten pairs come on ``stdin``."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else os.environ.get("PRE_COMMIT_REWRITE_COMMAND", "")

    def run() -> int:
        root = find_root()
        git = Git(root)
        pairs = parse_pairs(sys.stdin.read() if stdin is None else stdin)
        if not pairs and command == "amend":
            pairs = [(git.run("rev-parse", "HEAD@{1}"), git.run("rev-parse", "HEAD"))]
        done = follow(root, pairs)
        for old, new, commit in done.moved:
            where = f"{old} -> {new}" if new != old else old
            print(f"cpv: version {where} moved to the rewritten {commit[:8]}", file=sys.stderr)
        for tag in done.dropped:
            print(f"cpv: removed unpushed {tag}: its change is gone or merged", file=sys.stderr)
        for tag, commit in done.kept:
            print(
                f"cpv: {tag} is already pushed, so it stays on the old commit; {commit[:8]} "
                f"gets a version of its own at your next push (to keep {tag} instead: "
                f"`git reset --hard {tag}`)",
                file=sys.stderr,
            )
        pushed_commits = {c for _, c in done.kept}
        if command == "amend" and git.run("symbolic-ref", "-q", "HEAD", check=False):
            head = git.run("rev-parse", "HEAD")
            if head not in pushed_commits:
                for tag in tag_commit(root, head):
                    print(f"cpv: tagged version {tag}", file=sys.stderr)
        return sync_and_report(root)

    return report(run)
