"""pre-commit: ``dvc add`` the artifacts that changed and stage their pointers.

git decides "nothing to commit" before this hook runs. When the pointers staged here are the
only change, git would stop with a misleading "nothing to commit": the hook then fails itself
with one line saying to run the same ``git commit`` again (the pointers stay staged, or
rewritten on disk under ``-a``, so the second run commits them). metrics.log, kept in git,
changes with every retrain, so after training one command is enough.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from cpv_hooks.hooks import report
from cpv_hooks.hooks.chain import other_hooks, scan_secrets, staged_blobs
from cpv_hooks.hooks.fast import remember_noop, take
from cpv_hooks.repo import find_root
from cpv_hooks.stale import RollbackGuard
from cpv_hooks.workspace import Workspace


def stage_pointers(ws: Workspace, added: bool) -> tuple[list[str], bool]:
    """Stage every pointer that differs from the index or is new (and the .gitignore files).

    Returns what was staged and whether the index matched HEAD before (git will then
    report "nothing to commit").
    """
    candidates = [a.pointer for a in ws.config.dvc_artifacts if (ws.root / a.pointer).exists()]
    if added:
        candidates += ws.gitignores(ws.config.dvc_artifacts)
    args = ("ls-files", "-z", "--modified", "--others", "--exclude-standard", "--")
    out = ws.git.run(*args, *candidates) if candidates else ""
    paths = sorted({p for p in out.split("\0") if p})
    if not paths:
        return [], False
    was_clean = ws.git.head() is not None and ws.git.ok("diff", "--cached", "--quiet", "HEAD")
    ws.git.run("add", "--", *paths)
    return paths, was_clean


def _run() -> int:
    ws = Workspace(find_root())
    before = take(ws.git, ws.config)  # the stats before looking: what a no-op is recorded as
    changed, stale = ws.changed()
    if stale:
        ws.sync(only=stale)
        print(
            f"cpv: {', '.join(a.path for a in stale)} now match(es) the pointer git changed "
            "(e.g. in a merge)",
            file=sys.stderr,
        )
    ws.check_artifacts(changed)
    ws.add(changed, check=RollbackGuard(ws.git))
    staged, was_clean = stage_pointers(ws, bool(changed))
    if scan_secrets(ws.root, lambda: staged_blobs(ws.git)):
        print(
            "cpv: a staged file holds a secret (see above): remove it, `git add` the file "
            "again and commit; rotate the key if it was ever pushed",
            file=sys.stderr,
        )
        return 1
    if staged and was_clean and "GIT_INDEX_FILE" in os.environ:
        print(
            f"cpv: staged {', '.join(staged)}, the only change, after git had found nothing "
            "to commit: run the same git commit again",
            file=sys.stderr,
        )
        return 1
    if not (changed or stale or staged or other_hooks(ws.root, "pre-commit")):
        remember_noop(ws.git, ws.config, before)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``argv`` (file names from pre-commit) is ignored."""
    return report(_run)
