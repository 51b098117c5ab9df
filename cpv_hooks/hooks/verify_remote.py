"""verify-remote: every pointer of HEAD and of every version tag has its data on the remote.

Meant for CI (`pre-commit run --all-files`); inside a `git commit` it does nothing, so
commits stay fast and offline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from cpv_hooks.hooks import report
from cpv_hooks.repo import find_root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; file names passed by pre-commit are ignored."""
    if "GIT_INDEX_FILE" in os.environ:
        return 0

    def run() -> int:
        from cpv_hooks.push import verify_remote

        missing = verify_remote(find_root())
        for line in missing:
            print(f"cpv: missing on the remote: {line}", file=sys.stderr)
        if missing:
            print(
                "cpv: push the data from the clone that has it (`git push` there)", file=sys.stderr
            )
        return 1 if missing else 0

    return report(run)
