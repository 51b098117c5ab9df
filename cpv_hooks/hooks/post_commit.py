"""post-commit: tag a commit that changed the model or the data with its next version."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cpv_hooks.hooks import report
from cpv_hooks.repo import Git, find_root
from cpv_hooks.tagging import tag_commit


def _run() -> int:
    root = find_root()
    if Git(root).in_progress_operation():
        return 0
    for tag in tag_commit(root):
        kind = "data" if tag.startswith("data-") else "model"
        print(f"cpv: tagged {kind} version {tag}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (git passes no arguments)."""
    return report(_run)
