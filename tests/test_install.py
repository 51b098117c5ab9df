"""`cpv install`: hooks of other tools kept and chained, core.hooksPath and worktrees."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import BIN, clone, git, run, write_model

from cpv_hooks.install import HOOK_TYPES, is_cpv_hook

LFS_STYLE = """#!/bin/sh
# a git-lfs style pre-push hook: it must keep running after `cpv install`
echo "args: $*" > "{marker}"
cat >> "{marker}"
"""


def test_other_tools_hook_is_chained_and_restored(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo()
    git(repo, "push", "-q")
    fresh = clone(bare_remote, tmp_path / "fresh")
    hooks = fresh / ".git" / "hooks"
    marker = tmp_path / "lfs-ran"
    theirs = LFS_STYLE.format(marker=marker)
    (hooks / "pre-push").write_text(theirs)
    os.chmod(hooks / "pre-push", 0o755)

    out = run(BIN / "cpv", "install", cwd=fresh).stdout
    assert out.count("\n") == 1 and "kept pre-push of another tool" in out
    assert is_cpv_hook(hooks / "pre-push")
    assert (hooks / "pre-push.legacy").read_text() == theirs
    run(BIN / "cpv", "install", cwd=fresh)  # again: the kept hook stays as it is
    assert (hooks / "pre-push.legacy").read_text() == theirs

    write_model(fresh / "model.bin", seed=5)
    (fresh / "metrics.log").write_text("acc: 0.5\n")
    git(fresh, "commit", "-qam", "from the clone")
    git(fresh, "push", "-q")
    ran = marker.read_text()
    assert ran.startswith(f"args: origin {bare_remote}")
    assert "refs/heads/main" in ran  # it got git's ref lines on stdin, after cpv's hook
    assert "v0.1" in git(bare_remote, "tag", "-l").stdout  # and cpv's hook ran too

    out = run(BIN / "cpv", "uninstall", cwd=fresh).stdout
    assert "restored pre-push" in out
    assert (hooks / "pre-push").read_text() == theirs
    assert not (hooks / "pre-push.legacy").exists()
    assert not any((hooks / name).exists() for name in HOOK_TYPES if name != "pre-push")


def test_hooks_path_and_worktrees_as_git_says(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    git(repo, "push", "-q")  # the worktree's own cache fetches from the remote
    shared = tmp_path / "team-hooks"
    git(repo, "config", "core.hooksPath", str(shared))
    out = run(BIN / "cpv", "install", cwd=repo).stdout
    assert str(shared) in out
    assert all(is_cpv_hook(shared / name) for name in HOOK_TYPES)

    git(repo, "config", "--unset", "core.hooksPath")
    for name in HOOK_TYPES:
        (repo / ".git" / "hooks" / name).unlink()
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    run(BIN / "cpv", "install", cwd=tmp_path / "wt")
    assert all(is_cpv_hook(repo / ".git" / "hooks" / name) for name in HOOK_TYPES)
    assert not (repo / ".git" / "worktrees" / "wt" / "hooks").exists()
