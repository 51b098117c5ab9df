"""Setting up a clone: cpv's native git hooks, then the artifacts of the checked-out commit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cpv_hooks.errors import REINSTALL_HINT, RepositoryError
from cpv_hooks.repo import Git, find_root
from cpv_hooks.workspace import SyncReport, Workspace

HOOK_TYPES = ("pre-commit", "post-commit", "post-checkout", "post-merge", "pre-push")


def data_dir(name: str) -> Path:
    """A directory shipped with cpv (``template`` or ``hooks``), installed or in a checkout."""
    for base in (Path(__file__).parent / "_data", Path(__file__).parent.parent):
        if (base / name).is_dir():
            return base / name
    raise RepositoryError(f"cpv's {name}/ directory is missing", REINSTALL_HINT)


def hooks_dir(root: Path) -> Path:
    """Where git runs hooks from, as git itself says (``core.hooksPath``, worktrees)."""
    return (root / Git(root).run("rev-parse", "--git-path", "hooks")).resolve()


def install_hooks(root: Path) -> list[str]:
    """Install cpv's native hook script for every stage cpv serves.

    Each runs cpv's hook directly and hands the config's other hooks to the pre-commit
    framework (see ``hooks/cpv-hook``). A pre-commit hook already there is replaced.
    """
    if not (root / ".pre-commit-config.yaml").exists():
        raise RepositoryError(
            f"{root} has no .pre-commit-config.yaml",
            "run this in a repo made by `cpv init` or the cpv template",
        )
    git = Git(root)
    git.run("config", "push.followTags", "true")  # a plain `git push` carries the version tags
    git.run("config", "push.autoSetupRemote", "true")  # ...and works on the first push too
    where = hooks_dir(root)
    where.mkdir(parents=True, exist_ok=True)
    text = (data_dir("hooks") / "cpv-hook").read_text().replace("@PYTHON@", sys.executable)
    for name in HOOK_TYPES:
        dest = where / name
        (where / f"{name}.legacy").unlink(missing_ok=True)
        dest.write_text(text)
        os.chmod(dest, 0o755)
    return list(HOOK_TYPES)


def install(path: Path | str | None = None) -> SyncReport:
    """The whole set-up of a fresh clone: hooks, then the artifacts of the checked-out commit."""
    root = find_root(path)
    install_hooks(root)
    return Workspace(root).sync()
