"""Setting up a clone: the hooks (pre-commit's and cpv's native pre-push) and its artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cpv_hooks.errors import RepositoryError
from cpv_hooks.repo import Git, find_root
from cpv_hooks.workspace import SyncReport, Workspace

NATIVE_HOOKS = ("pre-push",)


def data_dir(name: str) -> Path:
    """A directory shipped with cpv (``template`` or ``hooks``), installed or in a checkout."""
    for base in (Path(__file__).parent / "_data", Path(__file__).parent.parent):
        if (base / name).is_dir():
            return base / name
    raise RepositoryError(f"cpv's {name}/ directory is missing", "reinstall cpv")


def install_hooks(root: Path) -> list[str]:
    """Install pre-commit's hooks (as listed in .pre-commit-config.yaml) and cpv's native ones."""
    if not (root / ".pre-commit-config.yaml").exists():
        raise RepositoryError(
            f"{root} has no .pre-commit-config.yaml",
            "run this in a repo made by `cpv init` or the cpv template",
        )
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RepositoryError(
            f"pre-commit install failed: {detail[-1] if detail else ''}",
            "fix the cause shown (e.g. unset core.hooksPath) and run `cpv install`",
        )
    hooks_dir = Git(root).git_dir() / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    for name in NATIVE_HOOKS:
        text = (data_dir("hooks") / name).read_text().replace("@PYTHON@", sys.executable)
        dest = hooks_dir / name
        legacy = hooks_dir / f"{name}.legacy"
        legacy.unlink(missing_ok=True)
        dest.write_text(text)
        os.chmod(dest, 0o755)
    return ["pre-commit", "post-commit", "post-checkout", "post-merge", *NATIVE_HOOKS]


def install(path: Path | str | None = None) -> SyncReport:
    """The whole set-up of a fresh clone: hooks, then the artifacts of the checked-out commit."""
    root = find_root(path)
    install_hooks(root)
    return Workspace(root).sync()
