"""Stored settings: what was not given never overwrites them, and they reach a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BIN, S3, clone, git, run, write_model


def test_named_profile_reaches_a_fresh_clone_and_repo_url(
    tmp_path: Path,
    isolated_env: Path,
    s3: S3,
    make_repo,  # type: ignore[no-untyped-def]
    bare_remote: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    creds = tmp_path / "team creds"
    creds.write_text("[team]\naws_access_key_id = AKIATEAM\naws_secret_access_key = secret\n")
    run(BIN / "cpv", "aws-config", "-c", creds, "-p", "team", "--endpoint-url", s3.endpoint)
    run(BIN / "cpv", "aws-config", "--bucket", s3.bucket)  # must keep profile and file
    stored = json.loads((isolated_env / ".cpv" / "config.json").read_text())["aws"]
    assert stored["profile"] == "team"
    assert stored["credential_path"] == str(creds)
    assert stored["bucket"] == s3.bucket

    repo = make_repo()  # takes the stored S3 settings
    data = write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("acc=0.5\n")
    git(repo, "commit", "-qam", "first")
    git(repo, "push", "-q")
    assert any(k.startswith("vision/resnet50/files/md5/") for k in s3.list_keys())

    fresh = clone(bare_remote, tmp_path / "fresh")
    assert not (fresh / ".dvc" / "config.local").exists()
    run(BIN / "cpv", "install", cwd=fresh)  # exit 9 "no AWS credentials" without the settings
    assert (fresh / "model.bin").read_bytes() == data
    assert "team" not in (fresh / ".dvc" / "config").read_text()  # nothing shared learned it

    out = tmp_path / "out"
    run(BIN / "cpv", "model", "download", "--repo-url", bare_remote, "-o", out)
    assert (out / "model.bin").read_bytes() == data
