"""Values written into other tools' formats are quoted for them; bad paths give one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, git, posix_only, run, write_model

WEIRD = 'team key "b\'s"'  # spaces, double and single quotes


def test_ssh_config_identity_file_with_spaces_and_quotes(isolated_env: Path) -> None:
    for _ in range(2):  # creating, then updating the entry
        run(BIN / "cpv", "bitbucket-config", "-k", WEIRD, "--no-test")
    config = isolated_env / ".ssh" / "config"
    assert config.read_text().count("Host bitbucket.org") == 1
    resolved = run("ssh", "-G", "-F", config, "bitbucket.org").stdout  # ssh's own parser
    assert f"identityfile {isolated_env / '.ssh' / WEIRD}\n" in resolved
    assert "hostname altssh.bitbucket.org\n" in resolved


@posix_only  # a sh script stands in for the odd Python
def test_hook_script_runs_a_python_whose_path_has_quotes(
    make_repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from cpv_hooks.install import install_hooks

    repo = make_repo()
    odd = tmp_path / "py's env" / "bin"
    odd.mkdir(parents=True)
    marker = tmp_path / "used"
    (odd / "python").write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sys.executable}" "$@"\n')
    os.chmod(odd / "python", 0o755)
    monkeypatch.setattr(sys, "executable", str(odd / "python"))
    install_hooks(repo)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert subprocess.run(["sh", "-n", hook]).returncode == 0
    write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("acc: 0.2\n")
    git(repo, "commit", "-qam", "through the odd python")
    assert marker.exists()  # the quoted path ran, not a fallback on PATH
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]


def test_dvc_config_values_with_spaces_and_quotes(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """cpv writes the profile and credential file through DVC; DVC and cpv read them back."""
    from dvc.repo import Repo

    from cpv_hooks.dvc.config import load as load_dvc_config

    repo = make_repo()
    creds = tmp_path / 'aws "creds" it\'s #1'
    creds.write_text("[te am]\naws_access_key_id = A\naws_secret_access_key = B\n")
    run(BIN / "cpv", "aws-config", "-c", creds, "-p", "te am", "--bucket", "b", cwd=repo)
    with Repo(str(repo)) as dvc:
        theirs = dvc.config["remote"]["myremote"]
    ours = load_dvc_config(repo)["remote:myremote"]
    assert theirs["credentialpath"] == ours["credentialpath"] == str(creds)
    assert theirs["profile"] == ours["profile"] == "te am"


def test_bad_paths_and_names_are_one_line_errors(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    write_model(repo / "model.bin", seed=1)
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-qam", "first")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    binary = tmp_path / "log.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    model = tmp_path / "m.bin"
    write_model(model, seed=3)
    cases = [
        (["init", "-t", "vision", "-m", "vit", "-r", a_file], 8, "is a file"),
        (["model", "upload", model, "--metrics-file", binary], 2, "is not a text file"),
        (["model", "upload", model, "--metric", "my acc=0.9"], 2, "bad metric"),
        (["model", "download", "-o", a_file], 2, "is a file"),
        (["model", "download", "-o", a_file / "sub"], 2, "cannot write to --output-dir"),
    ]
    for args, code, text in cases:
        proc = run(BIN / "cpv", *args, cwd=repo, check=False)
        assert (proc.returncode, proc.stderr.count("\n")) == (code, 1), (args, proc.stderr)
        assert text in proc.stderr and "Traceback" not in proc.stderr
    usage = run(
        BIN / "cpv", "model", "upload", model, "--metrics-file", tmp_path, cwd=repo, check=False
    )
    assert usage.returncode == 2 and "is a directory" in usage.stderr  # click's usage error
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]
    assert git(repo, "status", "--porcelain").stdout == ""
