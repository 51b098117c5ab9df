"""No secret ever lands in a file cpv writes; secrets are refused at commit; keys stay in place."""

from __future__ import annotations

import posixpath
import stat
from pathlib import Path

from conftest import BIN, S3, git, run, write_model
from hypothesis import example, given
from hypothesis import strategies as st

from cpv_hooks.dvc.cache import Obj
from cpv_hooks.errors import ValidationError
from cpv_hooks.repo import validate_name
from cpv_hooks.storage import S3Remote

FAKE_ID = "AKIAPLANTEDFAKEKEY42"
FAKE_SECRET = "planted/FakeSecretKey+for+cpv+tests+0123456789"


def test_no_secret_lands_anywhere(
    tmp_path: Path, s3: S3, isolated_env: Path, bare_remote: Path
) -> None:
    creds = tmp_path / "team-credentials"
    creds.write_text(
        f"[ml]\naws_access_key_id = {FAKE_ID}\naws_secret_access_key = {FAKE_SECRET}\n"
    )
    run(
        BIN / "cpv",
        "aws-config",
        "-c",
        creds,
        "-p",
        "ml",
        "--bucket",
        s3.bucket,
        "--endpoint-url",
        s3.endpoint,
    )
    run(BIN / "cpv", "init", "-t", "vision", "-m", "secure", "--git-remote-url", bare_remote)
    repo = tmp_path / "secure"
    write_model(repo / "model.bin")
    (repo / "metrics.log").write_text("acc: 0.9\n")
    git(repo, "commit", "-am", "first")
    run(BIN / "cpv", "validate", cwd=repo, check=False)
    run(BIN / "cpv", "model", "info", cwd=repo)
    run(BIN / "cpv", "--verbose", "model", "info", "--tag", "v9.9", cwd=repo, check=False)
    written = [
        p
        for base in (isolated_env, repo, bare_remote)
        for p in base.rglob("*")
        if p.is_file() and p != creds
    ]
    assert written
    for path in written:
        data = path.read_bytes()
        assert FAKE_ID.encode() not in data and FAKE_SECRET.encode() not in data, path
    tags = git(repo, "tag", "-l", "--format=%(contents)").stdout
    assert FAKE_SECRET not in tags


def test_commit_of_a_private_key_is_refused(make_repo) -> None:
    repo = make_repo()
    (repo / "deploy_key").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    git(repo, "add", "deploy_key")
    proc = git(repo, "commit", "-m", "oops", check=False)
    assert proc.returncode != 0
    assert "Private key found: deploy_key" in proc.stdout + proc.stderr
    assert "holds a secret" in proc.stderr
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 1


KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"


def test_what_is_scanned_is_what_git_stores(make_repo, bare_remote: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    # a key staged, then removed from the working file: the index still holds it
    (repo / "notes.txt").write_text(KEY)
    git(repo, "add", "notes.txt")
    (repo / "notes.txt").write_text("nothing here\n")
    proc = git(repo, "commit", "-m", "staged key", check=False)
    assert proc.returncode != 0 and "Private key found: notes.txt" in proc.stdout + proc.stderr
    git(repo, "reset", "-q", "--", "notes.txt")
    # a file named like an option beside the key is a file name, not --help
    (repo / "-h").write_text("x\n")
    (repo / "deploy_key").write_text(KEY)
    git(repo, "add", "--", "-h", "deploy_key")
    proc = git(repo, "commit", "-m", "dash", check=False)
    assert proc.returncode != 0 and "Private key found: deploy_key" in proc.stdout + proc.stderr
    # a key committed past the hook never reaches the remote
    git(repo, "commit", "--no-verify", "-m", "bypassed")
    git(repo, "rm", "-q", "deploy_key")
    git(repo, "commit", "--no-verify", "-m", "removed again")
    proc = git(repo, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0 and "a pushed commit holds a secret" in proc.stderr
    assert "Private key found: deploy_key" in proc.stdout + proc.stderr
    assert "refs/heads/main" not in git(repo, "ls-remote", "origin").stdout


def test_commit_of_this_machines_aws_secret_is_refused(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    repo = make_repo()
    (repo / "train.py").write_text(f'SECRET = "{FAKE_SECRET}"\n')
    proc = git(repo, "commit", "-am", "hardcoded key", check=False)
    assert proc.returncode != 0 and "AWS secret found in train.py" in proc.stdout + proc.stderr


def test_generated_files_are_private(isolated_env: Path) -> None:
    run(BIN / "cpv", "aws-config", "--bucket", "some-bucket")
    run(BIN / "cpv", "bitbucket-config", "--no-test")
    assert stat.S_IMODE((isolated_env / ".cpv").stat().st_mode) == 0o700
    for path in (
        isolated_env / ".cpv" / "config.json",
        isolated_env / ".ssh" / "config",
        isolated_env / ".ssh" / "cpv_bitbucket_ed25519",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


SLUG = r"[a-z0-9]+([-_][a-z0-9]+)*"
NAMES = st.one_of(st.from_regex(SLUG, fullmatch=True), st.text(max_size=70))


@example(team="..", model="m", md5="0" * 32)
@example(team="a/b", model="m", md5="0" * 32)
@example(team="v", model=".", md5="0" * 32)
@given(team=NAMES, model=NAMES, md5=st.from_regex(r"[0-9a-f]{32}(\.dir)?", fullmatch=True))
def test_s3_keys_never_leave_the_model_prefix(team: str, model: str, md5: str) -> None:
    """Whatever names are given, a key cpv builds is <team>/<model>/files/md5/xx/rest."""
    try:
        validate_name(team, "team name")
        validate_name(model, "model name")
    except ValidationError:
        return  # refused before any key exists
    key = S3Remote(f"s3://bucket/{team}/{model}", {})._key(Obj(md5))  # the real key builder
    assert posixpath.normpath(key) == key and not key.startswith("/")
    assert key.split("/") == [team, model, "files", "md5", md5[:2], md5[2:]]
