"""post-checkout / post-merge: make model.bin, data/ ... match the checked-out commit.

Objects missing from the local cache are fetched from the remote. File checkouts
(``git checkout -- path``) and the checkouts a rebase makes are left alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cpv_hooks.hooks import report
from cpv_hooks.pruned import explained
from cpv_hooks.repo import Git, find_root
from cpv_hooks.workspace import Workspace


def _sync() -> int:
    root = find_root()
    if Git(root).in_progress_operation():
        return 0
    return sync_and_report(root)


def sync_and_report(root: Path) -> int:
    """Make the artifacts match their pointers; one line for what changed (1: some kept).

    Missing data of a version a gc pruned is reported as such (pruned.explained).
    """
    git = Git(root)
    with explained(git, commit=git.head()):
        result = Workspace(root).sync()
    if result.restored:
        fetched = f" (fetched {result.fetched} object(s))" if result.fetched else ""
        print(f"cpv: checked out {', '.join(result.restored)}{fetched}", file=sys.stderr)
    return 1 if result.kept else 0


def main(argv: Sequence[str] | None = None) -> int:
    """git passes (previous HEAD, new HEAD, 1 for a branch checkout / 0 for files).

    post-merge passes only the squash flag: it always syncs.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    flag = args[2] if len(args) >= 3 else os.environ.get("PRE_COMMIT_CHECKOUT_TYPE", "1")
    if flag != "1":
        return 0
    return report(_sync)
