"""The template and `cpv init`: layout, remotes, hooks, names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BIN, ROOT, S3, git, run, scaffold, write_model

from cpv_hooks.config import AWSSettings, CPVConfig


def test_template_makes_a_ready_repo(make_repo, s3: S3) -> None:
    repo = make_repo(s3, aws_profile="team-profile", aws_credential_path="/creds/aws")
    for name in (
        "README.md",
        "train.py",
        ".gitignore",
        ".pre-commit-config.yaml",
        ".cpv.yaml",
        "model.bin.dvc",
        "data.dvc",
        "metrics.log",
        "data/.gitkeep",
        "bitbucket-pipelines.yml",
        ".github/workflows/cpv.yml",
    ):
        assert (repo / name).exists(), name
    assert git(repo, "status", "--porcelain").stdout == ""
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 1
    assert git(repo, "tag", "-l").stdout == ""
    assert git(repo, "config", "push.followTags").stdout.strip() == "true"
    config = (repo / ".dvc" / "config").read_text()
    assert f"url = s3://{s3.bucket}/vision/resnet50" in config
    assert f"endpointurl = {s3.endpoint}" in config
    assert "team-profile" not in config and "/creds/aws" not in config
    local = (repo / ".dvc" / "config.local").read_text()
    assert "profile = team-profile" in local and "credentialpath = /creds/aws" in local
    assert git(repo, "check-ignore", ".dvc/config.local").returncode == 0
    hooks = repo / ".git" / "hooks"
    for hook in ("pre-commit", "post-commit", "post-checkout", "post-merge", "pre-push"):
        assert (hooks / hook).exists(), hook
    assert "from cpv_hooks.hooks import main" in (hooks / "pre-push").read_text()
    tracked = git(repo, "ls-files").stdout
    assert "model.bin.dvc" in tracked and "data.dvc" in tracked
    patterns = ["-e", "{{", "-e", "{%", "-e", "cookiecutter"]
    github = ":!.github/workflows/cpv.yml"  # GitHub's own ${{ ... }}, copied without render
    leftovers = run("git", "grep", "-I", "-n", *patterns, "--", ".", github, cwd=repo, check=False)
    assert leftovers.returncode == 1, leftovers.stdout  # nothing left unrendered in any file
    assert "team: vision" in (repo / ".cpv.yaml").read_text()


@pytest.mark.parametrize(
    "bad", ["", "..", "../escape", "a/b", "has space", "Upper", "x" * 300, "ünïcode", "-dash"]
)
def test_bad_names_are_rejected_and_leave_nothing(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for field in ("team", "model"):
        proc = scaffold(out, check=False, **{field: bad})
        assert proc.returncode != 0
        assert "invalid" in proc.stderr
        assert list(out.iterdir()) == []
        assert list(tmp_path.iterdir()) == [out, tmp_path / "home"] or (
            sorted(p.name for p in tmp_path.iterdir()) == ["home", "out"]
        )


def test_cpv_init_same_layout_with_data(tmp_path: Path) -> None:
    data = tmp_path / "incoming"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    proc = run(
        BIN / "cpv",
        "init",
        "--team-name",
        "nlp",
        "--model-name",
        "bert",
        "--data-path",
        data,
        "--repo-path",
        tmp_path / "models" / "bert-repo",
    )
    repo = tmp_path / "models" / "bert-repo"
    assert str(repo) in proc.stdout
    assert (repo / "data" / "train.csv").read_text() == "a,b\n1,2\n"
    assert git(repo, "tag", "-l").stdout.split() == ["data-v0.1"]
    assert (repo / ".pre-commit-config.yaml").exists()
    assert "no S3 configured" in proc.stderr


def test_cpv_init_rejects_bad_name_with_one_line(tmp_path: Path) -> None:
    proc = run(BIN / "cpv", "init", "-t", "vision", "-m", "Bad Name", check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "invalid model name" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_stored_aws_config_makes_s3_the_default(tmp_path: Path, s3: S3) -> None:
    CPVConfig().set_aws(AWSSettings(bucket=s3.bucket, endpoint_url=s3.endpoint))
    run(BIN / "cpv", "init", "-t", "vision", "-m", "vit")
    config = (tmp_path / "vit" / ".dvc" / "config").read_text()
    assert f"url = s3://{s3.bucket}/vision/vit" in config
    stored = json.loads((tmp_path / "home" / ".cpv" / "config.json").read_text())
    assert stored["aws"]["bucket"] == s3.bucket


def test_scaffold_commit_works_without_git_identity(tmp_path: Path, isolated_env: Path) -> None:
    (isolated_env / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    run(BIN / "cpv", "init", "-t", "vision", "-m", "anon")
    repo = tmp_path / "anon"
    assert git(repo, "log", "--format=%an").stdout.strip() == "CPV System"
    write_model(repo / "model.bin")
    git(repo, "config", "user.email", "me@example.com")
    git(repo, "config", "user.name", "Me")
    (repo / "metrics.log").write_text("acc: 1\n")
    git(repo, "commit", "-am", "first")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]


def test_hook_manifest_and_template_config_are_valid_for_pre_commit() -> None:
    run(BIN / "pre-commit", "validate-manifest", ROOT / ".pre-commit-hooks.yaml")
    config = ROOT / "template" / "{{cookiecutter.__repo_dir}}" / ".pre-commit-config.yaml"
    run(BIN / "pre-commit", "validate-config", config)
