"""Pushes that must upload exactly what the refs need, or be refused and retried."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BIN, S3, MotoServer, git, run, teammate, write_model


@pytest.fixture
def own_s3() -> Iterator[S3]:
    """A moto server of this test's own, so the test can kill it."""
    server = MotoServer().start()
    bucket = S3(server, "faults")
    bucket.create_bucket()
    yield bucket
    server.kill()


def _commit_model(repo: Path, seed: int = 1, size: int = 200_000) -> None:
    write_model(repo / "model.bin", seed=seed, size=size)
    (repo / "metrics.log").write_text(f"acc: 0.{seed}\n")
    git(repo, "commit", "-am", f"model {seed}")


def test_tag_only_push_uploads_the_tags_objects(make_repo, s3: S3, bare_remote: Path) -> None:
    repo = make_repo(s3)
    _commit_model(repo)
    git(repo, "-c", "push.followTags=false", "push", "--no-verify", "origin", "main")
    assert s3.list_keys() == set()
    git(repo, "push", "origin", "v0.1")  # the remote already has the commit
    md5 = (repo / "model.bin.dvc").read_text().split("md5: ")[1].split()[0]
    assert f"vision/resnet50/files/md5/{md5[:2]}/{md5[2:]}" in s3.list_keys()
    assert git(bare_remote, "tag", "-l").stdout.split() == ["v0.1"]


def test_push_with_nothing_new_uploads_nothing(make_repo, s3: S3) -> None:
    repo = make_repo(s3)
    _commit_model(repo)
    git(repo, "push")
    proc = git(repo, "push")
    assert "uploaded" not in proc.stderr


def test_s3_down_refuses_push_and_retry_succeeds(make_repo, own_s3: S3, bare_remote: Path) -> None:
    repo = make_repo(own_s3)
    _commit_model(repo)
    own_s3.server.kill()
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0
    assert "cpv: push refused: S3" in proc.stderr
    assert git(bare_remote, "for-each-ref").stdout == ""
    own_s3.server.start()
    own_s3.create_bucket()
    git(repo, "push")
    assert git(bare_remote, "tag", "-l").stdout.split() == ["v0.1"]
    assert len(own_s3.list_keys()) == 3  # the model, the scaffold's empty file and data listing


def test_s3_killed_mid_upload_refuses_push_and_retry_uploads_all(
    make_repo, own_s3: S3, bare_remote: Path
) -> None:
    repo = make_repo(own_s3)
    for i in range(24):
        write_model(repo / "data" / f"shard-{i:02}.bin", seed=i, size=2_000_000)
    (repo / "train.py").write_text("# uses 24 shards\n")
    git(repo, "commit", "-am", "big data")
    push = subprocess.Popen(
        ["git", "push"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not own_s3.list_keys() and time.monotonic() < deadline:
        time.sleep(0.02)
    own_s3.server.kill()
    _, err = push.communicate(timeout=120)
    assert push.returncode != 0, err
    assert "push refused" in err
    assert git(bare_remote, "for-each-ref").stdout == ""
    own_s3.server.start()  # a new, empty S3: the retry must upload everything
    own_s3.create_bucket()
    git(repo, "push")
    listing = (repo / "data.dvc").read_text().split("md5: ")[1].split()[0]
    keys = own_s3.list_keys()
    assert f"vision/resnet50/files/md5/{listing[:2]}/{listing[2:]}" in keys
    assert len(keys) >= 24 + 2


def test_same_version_from_two_clones_one_wins_other_retags(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    git(repo, "push")
    other = teammate(bare_remote, tmp_path / "other")
    _commit_model(repo, seed=1)
    _commit_model(other, seed=2)
    git(repo, "push")
    proc = git(other, "push", "origin", "v0.1", check=False)
    assert proc.returncode != 0
    assert "v0.1 already exists on origin" in proc.stderr
    assert "cpv retag v0.1" in proc.stderr
    said = run(BIN / "cpv", "retag", "v0.1", cwd=other).stdout.strip()
    assert said == "v0.1 -> v0.2 (v0.1 is taken on origin by another commit)"
    git(other, "push", "origin", "v0.2")
    assert git(bare_remote, "tag", "-l").stdout.split() == ["v0.1", "v0.2"]
    manifest = git(other, "tag", "-l", "--format=%(contents)", "v0.2").stdout
    assert '"version": "v0.2"' in manifest


def test_plain_push_refuses_a_version_number_taken_on_the_remote(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    """followTags would silently leave the local v0.1 behind: the push says so instead."""
    repo = make_repo()
    git(repo, "push")
    other = teammate(bare_remote, tmp_path / "other")
    _commit_model(other, seed=2)
    git(other, "push")
    _commit_model(repo, seed=1)
    git(repo, "pull", "-q", "--no-rebase", "--no-edit", "-X", "ours", check=False)
    git(repo, "add", "-A")
    git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-qm", "merge", check=False)
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0 and "v0.1 already exists on origin" in proc.stderr
    run(BIN / "cpv", "retag", "v0.1", cwd=repo)
    git(repo, "push")
    assert git(bare_remote, "tag", "-l").stdout.split() == ["v0.1", "v0.2"]


def test_merge_commit_gets_no_spurious_tag(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    _commit_model(repo, seed=1)
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "train.py").write_text("# side change\n")
    git(repo, "commit", "-qam", "code only")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# main change\n")
    git(repo, "commit", "-qam", "docs")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "side")
    from cpv_hooks.tagging import tag_commit

    assert tag_commit(repo) == []
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]


def test_push_after_the_bucket_was_wiped_uploads_what_is_missing(make_repo, s3: S3) -> None:
    """cpv asks the remote what it holds (one listing) and trusts no local record of it."""
    repo = make_repo(s3)
    (repo / "data" / "train.csv").write_text("a,b\n1,2\n")
    _commit_model(repo, seed=1)
    git(repo, "push")
    client = s3.server.client()
    for key in s3.list_keys():
        client.delete_object(Bucket=s3.bucket, Key=key)
    _commit_model(repo, seed=2)  # data/ unchanged: its objects are "old" but gone from S3
    git(repo, "push")
    listing = (repo / "data.dvc").read_text().split("md5: ")[1].split()[0]
    keys = s3.list_keys()
    assert any(k.endswith(listing[2:]) for k in keys)
    assert len(keys) >= 4  # the new model, the data listing and its files
