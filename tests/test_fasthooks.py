"""The hooks' fast paths (hooks/cpv-hook, cpv_hooks/hooks/fast.py) skip only what is a no-op.

A no-op commit runs commit-msg and post-commit without Python and pre-commit in a lean Python;
each test makes one of those paths face work it must not skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import git, write_model

from cpv_hooks.hooks.fast import pre_commit_is_noop

VETO = """
  - repo: local
    hooks:
      - id: team-msg-veto
        name: team commit-msg veto
        entry: "false"
        language: system
        always_run: true
        stages: [commit-msg]
      - id: team-post-commit
        name: team post-commit
        entry: touch post-commit-ran
        language: system
        pass_filenames: false
        always_run: true
        stages: [post-commit]
"""


def _tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l").stdout.split()


def _version(repo: Path, seed: int, message: str) -> None:
    write_model(repo / "model.bin", seed=seed)
    (repo / "metrics.log").write_text(f"acc: 0.{seed}\n")
    git(repo, "commit", "-qam", message)


def _shell_only(repo: Path, hook: str, *args: str) -> int:
    """Run ``hook`` as installed but with no Python to fall back on: 0 only on a fast path."""
    script = repo / git(repo, "rev-parse", "--git-path", f"hooks/{hook}").stdout.strip()
    copy = repo.parent / "shell-only" / hook
    copy.parent.mkdir(exist_ok=True)
    text = script.read_text().replace("INSTALL_PYTHON=", "INSTALL_PYTHON=/nonexistent #", 1)
    copy.write_text(text)
    copy.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "GIT_DIR"}
    env["PATH"] = "/usr/bin:/bin"  # no cpv-hook either
    proc = subprocess.run([str(copy), *args], cwd=repo, env=env, capture_output=True)
    return proc.returncode


def _pre_commit_fast(repo: Path, monkeypatch) -> bool:  # type: ignore[no-untyped-def]
    hooks = git(repo, "rev-parse", "--path-format=absolute", "--git-path", "hooks").stdout
    monkeypatch.chdir(repo)  # where git runs hooks, with the variable cpv-hook sets
    monkeypatch.setenv("CPV_HOOKS_DIR", hooks.strip())
    return pre_commit_is_noop()


def test_no_op_commit_takes_the_fast_paths_and_they_skip_no_work(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    (repo / "data" / "a.csv").write_text("a\n")
    _version(repo, 1, "first")
    git(repo, "commit", "-q", "--allow-empty", "-m", "no-op")
    (repo / "msg").write_text("a plain message\n")
    assert _shell_only(repo, "commit-msg", "msg") == 0  # decided without Python
    assert _shell_only(repo, "post-commit") == 0
    assert _pre_commit_fast(repo, monkeypatch)  # the lean check proves the no-op

    # commit-msg: a directive is read by Python, in any case of letters
    (repo / "msg").write_text("tune [CPV v0.1]\n")
    assert _shell_only(repo, "commit-msg", "msg") != 0
    write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("acc: 0.2\n")
    proc = git(repo, "commit", "-qam", "too low [CPV v0.1]", check=False)
    assert proc.returncode != 0 and "is not above the latest v0.1" in proc.stderr
    git(repo, "commit", "-qam", "big change [cpv major]")
    assert _tags(repo) == ["data-v0.1", "v0.1", "v1.0"]

    # post-commit: a change of a pointer, or of a file kept in git (metrics.log), is versioned
    (repo / "metrics.log").write_text("acc: 0.9\n")
    git(repo, "commit", "-qam", "metrics only")
    assert _tags(repo)[-1] == "v1.1"
    # ...and so is a path that only the work tree's .cpv.yaml declares (not yet committed)
    config = repo / ".cpv.yaml"
    config.write_text(
        config.read_text().replace(
            "  - {path: metrics.log,",
            "  - {path: notes.txt, kind: model, store: git}\n  - {path: metrics.log,",
        )
    )
    (repo / "notes.txt").write_text("v\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")
    assert _tags(repo)[-1] == "v1.2"
    git(repo, "checkout", "-q", ".cpv.yaml")

    # pre-commit: an unstaged pointer is staged again, a staged secret is still refused
    git(repo, "commit", "-q", "--allow-empty", "-m", "no-op")
    assert _pre_commit_fast(repo, monkeypatch)
    git(repo, "rm", "-q", "--cached", "model.bin.dvc")
    assert not _pre_commit_fast(repo, monkeypatch)
    git(repo, "commit", "-q", "--allow-empty", "-m", "keep the pointer")
    assert git(repo, "ls-files", "model.bin.dvc").stdout.strip() == "model.bin.dvc"
    (repo / "id_rsa").write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n")
    git(repo, "add", "id_rsa")
    assert git(repo, "commit", "-qm", "oops", check=False).returncode != 0
    git(repo, "rm", "-q", "--cached", "id_rsa")
    assert _pre_commit_fast(repo, monkeypatch)
    (repo / "data" / "a.csv").write_text("b\n")  # a changed artifact: no longer a no-op
    assert not _pre_commit_fast(repo, monkeypatch)
    write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("acc: 0.95\n")
    git(repo, "commit", "-qam", "weights")
    assert _tags(repo) == ["data-v0.1", "data-v0.2", "v0.1", "v1.0", "v1.1", "v1.2", "v1.3"]


def test_other_hooks_of_the_stage_still_run(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    _version(repo, 1, "first")
    git(repo, "commit", "-q", "--allow-empty", "-m", "no-op")  # the fast paths are set up
    marker = tmp_path / "legacy-ran"
    legacy = repo / ".git" / "hooks" / "commit-msg.legacy"
    legacy.write_text(f'#!/bin/sh\necho "$1" > "{marker}"\n')
    legacy.chmod(0o755)
    git(repo, "commit", "-q", "--allow-empty", "-m", "no-op")
    assert marker.read_text().strip() == ".git/COMMIT_EDITMSG"  # a kept hook of another tool
    legacy.unlink()

    with open(repo / ".pre-commit-config.yaml", "a") as fh:
        fh.write(VETO)
    git(repo, "add", ".pre-commit-config.yaml")
    proc = git(repo, "commit", "-qm", "team hooks", check=False)
    assert proc.returncode != 0 and "team commit-msg veto" in proc.stdout + proc.stderr
    git(repo, "commit", "-qm", "team hooks", "--no-verify")  # post-commit still runs
    assert (repo / "post-commit-ran").exists()


def test_fast_paths_in_a_linked_worktree(make_repo, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    _version(repo, 1, "first")
    git(repo, "push", "-q")  # the worktree's own cache fetches from the remote
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(other), "-b", "other")
    _version(other, 2, "from the worktree")
    git(other, "commit", "-q", "--allow-empty", "-m", "no-op")
    fast = Path(git(other, "rev-parse", "--git-dir").stdout.strip()) / "cpv" / "fast"
    assert sorted(p.name.split("-")[0] for p in fast.iterdir()) == [
        "commit", "post", "pre", "watched"
    ]  # fmt: skip
    monkeypatch.setenv("GIT_DIR", str(fast.parent.parent))  # as git sets it for a worktree
    assert _pre_commit_fast(other, monkeypatch)
    monkeypatch.delenv("GIT_DIR")
    git(other, "commit", "-q", "--allow-empty", "-m", "major [cpv major]")
    assert _tags(repo) == ["v0.1", "v0.2"]  # no artifact changed: no version
    _version(other, 3, "next [cpv major]")
    assert _tags(repo) == ["v0.1", "v0.2", "v1.0"]
