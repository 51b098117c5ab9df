"""The global --dry-run: every command that changes something prints its plan and changes
no file, ref or setting (the work tree, .git, the git remote, HOME and the cpv config dir)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BIN, clone, git, run, scaffold, write_model

WORLD_ENV = ("HOME", "GIT_CONFIG_GLOBAL", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "CPV_CONFIG_DIR")


def _env(world: Path) -> dict[str, str]:
    home = world / "home"
    return {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CPV_CONFIG_DIR": str(home / ".cpv"),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One model repo with two versions, pushed, and stored S3 settings, built once."""
    base = tmp_path_factory.mktemp("dry")
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = T\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n"
        '[protocol "file"]\n\tallow = always\n[advice]\n\tdetachedHead = false\n'
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _env(base).items():
            mp.setenv(key, value)
        for key in [k for k in os.environ if k.startswith(("GIT_DIR", "GIT_WORK", "CPV_S3"))]:
            mp.delenv(key)
        remote = base / "origin.git"
        run("git", "init", "-q", "--bare", remote)
        scaffold(base / "work", git_remote_url=str(remote))
        repo = base / "work" / "resnet50"
        (repo / "data" / "x.txt").write_text("x")
        for seed in (1, 2):
            write_model(repo / "model.bin", seed=seed)
            (repo / "metrics.log").write_text(f"acc={seed / 10}\n")
            git(repo, "commit", "-qam", f"train {seed}")
        git(repo, "push", "-q")
        git(repo, "tag", "v0.9")  # hand-made and unpushed: what `cpv retag` is for
        run(BIN / "cpv", "aws-config", "--bucket", "team-bucket", "-p", "team")
        write_model(base / "new.bin", seed=9)
        write_model(repo / "extra.pt", seed=8)  # for `cpv track`
        (base / "newdata").mkdir()
        (base / "newdata" / "a.txt").write_text("a")
        clone(remote, base / "fresh")
        yield base


def snapshot(top: Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(dirpath) / name
            rel = str(path.relative_to(top))
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode)
            else:
                out[rel] = ("file", st.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


COMMANDS = {
    "aws-config": ["aws-config", "--bucket", "other", "-p", "someone", "--region", "eu-west-1"],
    "init": ["init", "-t", "vision", "-m", "vit", "-r", "{base}/vit"],
    "install": ["install", "{base}/fresh"],
    "uninstall": ["uninstall"],
    "retag": ["retag", "v0.9"],
    "bitbucket-config": ["bitbucket-config", "-k", "team key", "--no-test"],
    "model upload": ["model", "upload", "{base}/new.bin", "--metric", "acc=0.9"],
    "data upload": ["data", "upload", "{base}/newdata"],
    "model revert": ["model", "revert", "--tag", "v0.1"],
    "checkpoint create": ["checkpoint", "create", "-m", "again"],
    "checkpoint revert": ["checkpoint", "revert", "--tag", "v0.1"],
    "model download": ["model", "download", "--tag", "v0.1", "-o", "{base}/out"],
    "data download": ["data", "download", "-o", "{base}/out"],
    "validate": ["validate"],
    "model stage": ["model", "stage", "v0.1", "prod"],
    "registry rebuild": ["registry", "rebuild"],
    "registry html": ["registry", "html", "-o", "{base}/site"],
    "config notify": ["config", "notify", "--webhook", "https://chat.example.com/hook"],
    "track": ["track", "extra.pt", "--kind", "model"],
    "untrack": ["untrack", "data"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_dry_run_changes_nothing(name: str, world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env(world).items():
        monkeypatch.setenv(key, value)
    args = [a.replace("{base}", str(world)) for a in COMMANDS[name]]
    before = snapshot(world)
    proc = run(BIN / "cpv", "--dry-run", *args, cwd=world / "work" / "resnet50")
    assert "dry run" in proc.stdout
    after = snapshot(world)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == []
