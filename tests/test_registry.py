"""The team registry: entries published on push, read with no git, downloads from S3 alone."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import BIN, S3, git, run, scaffold, teammate, write_model

from cpv_hooks.registry import LocalEntries, encode, entries_of, publish_tags
from cpv_hooks.repo import Git
from cpv_hooks.storage import open_remote


def _model_repo(tmp_path: Path, s3: S3 | None, team: str, model: str) -> Path:
    """A scaffolded model repo with its own bare git remote (origin)."""
    remote = tmp_path / "git" / f"{team}-{model}.git"
    run("git", "init", "-q", "--bare", remote)
    extra = {"s3_bucket": s3.bucket, "s3_endpoint_url": s3.endpoint} if s3 else {}
    scaffold(tmp_path / team, team=team, model=model, git_remote_url=str(remote), **extra)
    return tmp_path / team / model


def _version(repo: Path, seed: int, acc: float, data: bool = False) -> None:
    write_model(repo / "model.bin", seed=seed)
    (repo / "metrics.log").write_text(f"accuracy: {acc}\n")
    if data:
        (repo / "data" / f"part{seed}.csv").write_text(f"x\n{seed}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"train {seed}")


def _entry(s3: S3, prefix: str, tag: str) -> dict:  # type: ignore[type-arg]
    body = s3.server.client().get_object(Bucket=s3.bucket, Key=f"{prefix}/cpv/versions/{tag}.json")
    return json.loads(body["Body"].read())  # type: ignore[no-any-return]


def test_push_publishes_write_once_entries_marks_deleted_and_reconciles(
    s3: S3, tmp_path: Path
) -> None:
    repo = _model_repo(tmp_path, s3, "vision", "resnet50")
    _version(repo, 1, 0.8, data=True)
    git(repo, "push", "-q", "-u", "origin", "main")
    prefix = "vision/resnet50"
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    v1 = _entry(s3, prefix, "v0.1")
    assert v1["commit"] == head and not v1["deleted"] and v1["metrics"] == {"accuracy": 0.8}
    assert _entry(s3, prefix, "data-v0.1")["kind"] == "data"

    # a teammate's v0.2 is listed; mine, made on another commit, never overwrites it
    mate = teammate(tmp_path / "git" / "vision-resnet50.git", tmp_path / "mate")
    _version(mate, 2, 0.85)
    git(mate, "push", "-q")
    theirs = git(mate, "rev-parse", "HEAD").stdout.strip()
    _version(repo, 3, 0.9)
    entries = entries_of(open_remote(repo))
    assert publish_tags(Git(repo), entries, ["v0.2"]) == []
    assert _entry(s3, prefix, "v0.2")["commit"] == theirs

    # a stale entry (its tag never reached git) is marked deleted by the next push
    stale = {**v1, "tag": "v0.9", "version": "v0.9", "commit": "0" * 39 + "1"}
    entries.put("v0.9.json", encode(stale))
    git(mate, "tag", "-d", "v0.2")
    git(mate, "push", "-q", "origin", ":refs/tags/v0.2")
    assert _entry(s3, prefix, "v0.2")["deleted"]
    assert _entry(s3, prefix, "v0.9")["deleted"]
    assert not _entry(s3, prefix, "v0.1")["deleted"]

    # rebuild re-derives the entries from the git tags
    s3.server.client().delete_object(Bucket=s3.bucket, Key=f"{prefix}/cpv/versions/v0.1.json")
    run(BIN / "cpv", "registry", "rebuild", cwd=mate)
    assert _entry(s3, prefix, "v0.1")["commit"] == head


def test_local_remote_entries_are_created_once(tmp_path: Path) -> None:
    entries = LocalEntries(tmp_path / "cpv" / "versions")
    assert entries.create("v0.1.json", b"{}")
    assert not entries.create("v0.1.json", b'{"x": 1}')
    assert entries.get("v0.1.json") == b"{}"
    assert entries.names() == ["v0.1.json"]
    assert entries.get("v0.2.json") is None
