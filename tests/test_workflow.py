"""The README's workflow end to end: real cookiecutter, git, pre-commit, DVC and S3 (moto)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import BIN, S3, clone, git, run, teammate, write_model


def _tag_manifest(repo: Path, tag: str) -> dict:  # type: ignore[type-arg]
    text = git(repo, "tag", "-l", "--format=%(contents)", tag).stdout
    return json.loads(text[text.index("\n{") + 1 :])  # type: ignore[no-any-return]


def test_commit_tag_push_clone_checkout(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    model = write_model(repo / "model.bin", seed=1)
    (repo / "metrics.log").write_text("epoch 20\nloss: 0.31\naccuracy: 0.91\n")
    (repo / "data" / "train.csv").write_text("x,y\n1,2\n")

    git(repo, "commit", "-am", "lr 3e-4, 20 epochs")

    assert git(repo, "tag", "-l").stdout.split() == ["data-v0.1", "v0.1"]
    assert git(repo, "cat-file", "-t", "v0.1").stdout.strip() == "tag"
    manifest = _tag_manifest(repo, "v0.1")
    assert manifest["kind"] == "model" and manifest["version"] == "v0.1"
    assert manifest["metrics"] == {"epoch": 20.0, "loss": 0.31, "accuracy": 0.91}
    assert manifest["artifacts"]["model.bin"]["size"] == len(model)
    assert manifest["commit"] == git(repo, "rev-parse", "HEAD").stdout.strip()
    assert _tag_manifest(repo, "data-v0.1")["artifacts"]["data"]["nfiles"] == 2

    git(repo, "push")
    keys = s3.list_keys("vision/resnet50/files/md5/")
    md5 = manifest["artifacts"]["model.bin"]["md5"]
    assert f"vision/resnet50/files/md5/{md5[:2]}/{md5[2:]}" in keys
    assert git(bare_remote, "tag", "-l").stdout.split() == ["data-v0.1", "v0.1"]

    # a second version, so that checking out v0.1 really changes the files
    write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("accuracy: 0.93\n")
    git(repo, "commit", "-am", "more epochs")
    git(repo, "push")
    assert "v0.2" in git(bare_remote, "tag", "-l").stdout.split()

    teammate = clone(bare_remote, tmp_path / "teammate")
    assert not (teammate / "model.bin").exists()
    out = run(BIN / "cpv", "install", cwd=teammate).stdout
    assert "model.bin" in out
    assert git(teammate, "config", "push.followTags").stdout.strip() == "true"
    assert (teammate / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()

    git(teammate, "checkout", "v0.1")
    assert (teammate / "model.bin").read_bytes() == model
    assert (teammate / "metrics.log").read_text().endswith("accuracy: 0.91\n")
    assert (teammate / "data" / "train.csv").read_text() == "x,y\n1,2\n"

    # DVC itself reads what cpv uploaded: plain `dvc pull` in another clone works
    other = clone(bare_remote, tmp_path / "dvc-user")
    git(other, "checkout", "v0.1")
    run(BIN / "dvc", "pull", cwd=other)
    assert (other / "model.bin").read_bytes() == model


def test_only_model_changed_needs_one_rerun_with_clear_message(make_repo) -> None:
    repo = make_repo()
    write_model(repo / "model.bin")
    first = git(repo, "commit", "-am", "new weights", check=False)
    assert first.returncode != 0
    assert "run the same git commit again" in first.stdout + first.stderr
    git(repo, "commit", "-am", "new weights")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]
    assert git(repo, "status", "--porcelain").stdout == ""


def test_data_only_commit_gets_data_tag(make_repo) -> None:
    repo = make_repo()
    (repo / "data" / "more.csv").write_text("a,b\n")
    (repo / "train.py").write_text("# reads data/more.csv\n")
    git(repo, "commit", "-am", "more data")
    assert git(repo, "tag", "-l").stdout.split() == ["data-v0.1"]


def test_version_directives_in_commit_message(make_repo) -> None:
    repo = make_repo()
    write_model(repo / "model.bin", seed=1)
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-am", "first")
    write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("acc: 0.2\n")
    git(repo, "commit", "-am", "new architecture [cpv major]")
    write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("acc: 0.3\n")
    git(repo, "commit", "-am", "release [cpv v3.5]")
    (repo / "metrics.log").write_text("acc: 0.4\n")
    git(repo, "commit", "-am", "typo in log [cpv skip]")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1", "v1.0", "v3.5"]


def test_local_remote_quickstart_without_s3(
    make_repo, bare_remote: Path, tmp_path: Path, isolated_env: Path
) -> None:
    repo = make_repo()
    config = (repo / ".dvc" / "config").read_text()
    local = isolated_env / ".cpv" / "remotes" / "vision" / "resnet50"
    assert f"url = {local}" in config
    model = write_model(repo / "model.bin")
    (repo / "metrics.log").write_text("acc: 0.5\n")
    git(repo, "commit", "-am", "first")
    git(repo, "push", "-u", "origin", "main")
    assert len(list((local / "files" / "md5").rglob("*"))) > 0
    mate = teammate(bare_remote, tmp_path / "teammate")
    assert (mate / "model.bin").read_bytes() == model
