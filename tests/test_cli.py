"""Every `cpv` command, success and failure, on real repos; help text everywhere."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import S3, write_model

from cpv_hooks.cli import cli, main


def cpv(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def repo(make_repo, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    path: Path = make_repo()
    monkeypatch.chdir(path)
    return path


def _model(tmp_path: Path, seed: int) -> Path:
    path = tmp_path / f"m{seed}.bin"
    write_model(path, seed=seed)
    return path


def test_every_command_and_option_has_help() -> None:
    def walk(cmd: click.Command, name: str) -> None:
        assert cmd.help or cmd.short_help, f"{name} has no help"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
        if isinstance(cmd, click.Group):
            for sub, child in cmd.commands.items():
                walk(child, f"{name} {sub}")

    walk(cli, "cpv")
    top = cpv("--help").output
    for name in (
        "init",
        "aws-config",
        "bitbucket-config",
        "validate",
        "model",
        "data",
        "checkpoint",
        "diff",
        "install",
        "retag",
    ):
        assert name in top
    for group, subs in {
        "model": ["upload", "download", "list-tags", "revert", "info"],
        "data": ["upload", "download", "list-tags", "revert", "info"],
        "checkpoint": ["create", "list", "revert"],
    }.items():
        text = cpv(group, "--help").output
        assert all(s in text for s in subs)


def test_model_commands(repo: Path, tmp_path: Path) -> None:
    result = cpv("model", "upload", _model(tmp_path, 1), "--metric", "acc=0.9", "-m", "first")
    assert result.exit_code == 0 and "versioned v0.1" in result.output
    assert cpv("model", "upload", _model(tmp_path, 2), "--metric", "acc=0.95").exit_code == 0
    listing = cpv("model", "list-tags").output
    assert "v0.1" in listing and "acc=0.95" in listing
    rows = json.loads(cpv("model", "list-tags", "--json").output)
    assert [r["tag"] for r in rows] == ["v0.1", "v0.2"]
    info = cpv("model", "info", "--tag", "v0.1").output
    assert "message: first" in info and "metric acc: 0.9" in info
    assert json.loads(cpv("model", "info", "--json").output)["tag"] == "v0.2"
    out = tmp_path / "dl"
    assert cpv("model", "download", "--tag", "v0.1", "-o", out).exit_code == 0
    assert (out / "model.bin").read_bytes() == (tmp_path / "m1.bin").read_bytes()
    again = cpv("model", "download", "--tag", "v0.1", "-o", out)
    assert again.exit_code == 2 and "already exists" in again.output
    assert cpv("model", "download", "--tag", "v0.1", "-o", out, "--force").exit_code == 0
    dry = cpv("--dry-run", "model", "upload", _model(tmp_path, 3))
    assert "dry run: would version model.bin as v0.3" in dry.output
    assert cpv("model", "revert", "--tag", "v0.1").output.startswith("reverted to v0.1 as v0.3")
    missing = cpv("model", "info", "--tag", "v7.0")
    assert missing.exit_code == 7 and "list-tags" in missing.output
    bad = cpv("model", "upload", _model(tmp_path, 4), "--metric", "acc")
    assert bad.exit_code == 2 and "name=number" in bad.output


def test_data_and_checkpoint_commands(repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "ds"
    src.mkdir()
    (src / "a.csv").write_text("1\n")
    assert "versioned data-v0.1" in cpv("data", "upload", src).output
    (repo / "data" / "b.csv").write_text("2\n")
    write_model(repo / "model.bin", seed=5)
    (repo / "metrics.log").write_text("acc: 0.7\n")
    created = cpv("checkpoint", "create", "-m", "both")
    assert "v0.1" in created.output and "data-v0.2" in created.output
    assert {r["tag"] for r in json.loads(cpv("checkpoint", "list", "--json").output)} == {
        "v0.1",
        "data-v0.1",
        "data-v0.2",
    }
    assert cpv("data", "list-tags").output.count("data-v") == 2
    assert "2 files" in cpv("data", "info").output
    out = tmp_path / "old"
    assert cpv("data", "download", "--tag", "v0.1", "-o", out).exit_code == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == ["a.csv"]
    diff = json.loads(cpv("diff", "data-v0.1", "data-v0.2", "--json").output)
    assert diff["artifacts"]["data"]["added"] == ["b.csv"]
    assert "added: b.csv" in cpv("diff", "data-v0.1", "data-v0.2").output
    assert cpv("data", "revert", "--tag", "v0.1").exit_code == 0
    assert sorted(p.name for p in (repo / "data").iterdir()) == ["a.csv"]
    assert cpv("checkpoint", "revert", "--tag", "v0.1").exit_code == 0
    nothing = cpv("checkpoint", "create")
    assert nothing.exit_code == 2 and "nothing changed" in nothing.output


def test_diff_reports_metric_deltas(repo: Path, tmp_path: Path) -> None:
    cpv("model", "upload", _model(tmp_path, 1), "--metric", "acc=0.5", "--metric", "loss=2")
    cpv("model", "upload", _model(tmp_path, 2), "--metric", "acc=0.75")
    result = json.loads(cpv("diff", "v0.1", "v0.2", "--json").output)
    assert result["metrics"]["acc"]["delta"] == pytest.approx(0.25)
    assert result["metrics"]["loss"]["to"] is None
    assert result["artifacts"]["model.bin"]["changed"] is True
    assert cpv("diff", "v0.1", "nope").exit_code == 7


def test_aws_config_stores_paths_not_keys(
    repo: Path, s3: S3, tmp_path: Path, isolated_env: Path
) -> None:
    creds = tmp_path / "aws-credentials"
    creds.write_text(
        "[team]\naws_access_key_id = AKIAFAKEFAKEFAKEFAKE\naws_secret_access_key = testing\n"
    )
    result = cpv(
        "aws-config",
        "-c",
        creds,
        "-p",
        "team",
        "--bucket",
        s3.bucket,
        "--endpoint-url",
        s3.endpoint,
    )
    assert result.exit_code == 0, result.output
    stored = (isolated_env / ".cpv" / "config.json").read_text()
    assert str(creds) in stored and "AKIA" not in stored
    assert stat.S_IMODE((isolated_env / ".cpv" / "config.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((isolated_env / ".cpv").stat().st_mode) == 0o700
    assert f"s3://{s3.bucket}/vision/resnet50" in (repo / ".dvc" / "config").read_text()
    assert "profile = team" in (repo / ".dvc" / "config.local").read_text()
    checked = cpv("validate")
    assert checked.exit_code == 0 and "PASS storage" in checked.output
    assert cpv("aws-config", "-c", tmp_path / "none").exit_code == 3
    wrong = cpv("aws-config", "-c", creds, "-p", "other")
    assert wrong.exit_code == 3 and "use one of: team" in wrong.output


def test_validate_fails_clearly(repo: Path, s3: S3) -> None:
    cpv("aws-config", "--bucket", "no-such-bucket", "--endpoint-url", s3.endpoint)
    result = cpv("validate")
    assert result.exit_code == 1
    assert "FAIL storage s3://no-such-bucket/vision/resnet50" in result.output
    assert "PASS git remote origin" in result.output
    rows = json.loads(cpv("validate", "--json").output)
    assert [r["ok"] for r in rows] == [False, True]


def test_validate_outside_a_repo(tmp_path: Path, s3: S3) -> None:
    assert cpv("validate").exit_code == 1
    cpv("aws-config", "--bucket", s3.bucket, "--endpoint-url", s3.endpoint)
    assert "PASS" in cpv("validate").output


def test_bitbucket_config_is_idempotent_and_private(isolated_env: Path) -> None:
    first = cpv("bitbucket-config", "-u", "alice", "--no-test")
    assert first.exit_code == 0 and "created key" in first.output
    assert "ssh-ed25519 " in first.output and "bitbucket.org/account" in first.output
    second = cpv("bitbucket-config", "-u", "alice", "--no-test")
    assert "reusing key" in second.output
    config = (isolated_env / ".ssh" / "config").read_text()
    assert config.count("Host bitbucket.org") == 1
    assert "HostName altssh.bitbucket.org" in config and "Port 443" in config
    for name in ("config", "cpv_bitbucket_ed25519"):
        assert stat.S_IMODE((isolated_env / ".ssh" / name).stat().st_mode) == 0o600


def test_bitbucket_connection_test_fails_fast_and_clearly() -> None:
    from cpv_hooks.ssh import test_connection

    ok, detail = test_connection("nowhere.invalid", timeout=5)  # the real ssh, no such host
    assert not ok
    assert "nowhere.invalid" in detail and "resolve" in detail  # ssh's own last line


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("authenticated via ssh key.\nYou can use git to connect to Bitbucket.", 0),
        ("git@altssh.bitbucket.org: Permission denied (publickey).", 9),
    ],
)
def test_bitbucket_config_exit_code_follows_the_connection_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    """Bitbucket cannot be reached here: a stand-in `ssh` answers as Bitbucket does."""
    fake = tmp_path / "bin"
    fake.mkdir()
    script = f"#!/bin/sh\necho \"$*\" > {tmp_path}/ssh-args\necho '{answer}' >&2\n"
    (fake / "ssh").write_text(script)
    os.chmod(fake / "ssh", 0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(cli, ["bitbucket-config", "-u", "alice"])
    assert result.exit_code == code
    assert ("PASS" if code == 0 else "FAIL") + " ssh bitbucket.org" in result.output
    assert "BatchMode=yes" in (tmp_path / "ssh-args").read_text()


def test_verbose_shows_traceback_and_exit_codes(tmp_path: Path) -> None:
    plain = cpv("model", "list-tags")
    assert plain.exit_code == 8 and "Traceback" not in plain.output
    assert "not inside a git repository" in plain.output
    verbose = CliRunner().invoke(cli, ["--verbose", "model", "list-tags"])
    assert "Traceback" in verbose.output
    assert main(["model", "list-tags"]) == 8
    assert main(["--version"]) == 0
    assert main(["no-such-command"]) == 2


def test_operation_log_redacts_secrets(repo: Path, tmp_path: Path, isolated_env: Path) -> None:
    import logging

    cpv("model", "upload", _model(tmp_path, 1))
    logging.getLogger("cpv").info("secret_access_key=abcd1234 key AKIAABCDEFGHIJKLMNOP")
    text = "".join(p.read_text() for p in (isolated_env / ".cpv" / "logs").glob("*.log"))
    assert "abcd1234" not in text and "AKIAABCDEFGHIJKLMNOP" not in text and "***" in text
    assert os.stat(isolated_env / ".cpv" / "logs" / "cpv.log").st_mode & 0o077 == 0
