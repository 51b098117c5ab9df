"""Shared fixtures: an isolated HOME and git config for every test, a real S3 (moto_server)
on 127.0.0.1, real bare git remotes and model repos made by the real cookiecutter."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from cpv_hooks.testing import MotoServer

# CI explores the same examples every run; a developer's run explores new ones
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
REAL_HOME = Path(os.path.expanduser("~"))
# signals to process groups, FIFOs, rlimits, sh scripts standing in for programs
posix_only = pytest.mark.skipif(os.name == "nt", reason="tests a POSIX-only mechanism")
GUARDED = [".cpv", ".gitconfig", ".ssh", ".aws", ".config/dvc", ".config/git", ".cache/pre-commit"]


def _home_snapshot() -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for rel in GUARDED:
        try:
            out[rel] = (REAL_HOME / rel).stat().st_mtime_ns
        except FileNotFoundError:
            out[rel] = None
    return out


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME, git config, cpv config dir and AWS identity all inside tmp; fails on writes to ~."""
    before = _home_snapshot()
    home = tmp_path / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
        "[advice]\n\tdetachedHead = false\n"
    )
    for key in [k for k in os.environ if k.startswith(("AWS_", "GIT_", "PRE_COMMIT", "CPV_"))]:
        monkeypatch.delenv(key)
    env = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CPV_CONFIG_DIR": str(home / ".cpv"),
        "AWS_ACCESS_KEY_ID": "AKIACPVTESTS00000000",
        "AWS_SECRET_ACCESS_KEY": "cpv-tests-fake-secret-0123456789abcdef",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    yield home
    assert _home_snapshot() == before, "a test wrote to the real home directory"


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.kill()


@dataclass
class S3:
    """A bucket of its own on a moto server."""

    server: MotoServer
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def create_bucket(self) -> None:
        self.server.client().create_bucket(Bucket=self.bucket)

    def list_keys(self, prefix: str = "") -> set[str]:
        pages = (
            self.server.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture
def s3(moto: MotoServer) -> S3:
    bucket = S3(moto, f"cpv-{uuid.uuid4().hex[:12]}")
    bucket.create_bucket()
    return bucket


def run(
    *cmd: str | Path, cwd: Path | None = None, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would; on unexpected failure show its output."""
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, input=input
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("git", *args, cwd=repo, check=check)


def write_model(path: Path, size: int = 200_000, seed: int = 0) -> bytes:
    data = (seed.to_bytes(4, "big") + os.urandom(16)) * (size // 20)
    path.write_bytes(data)
    return data


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "bitbucket" / "model.git"
    run("git", "init", "-q", "--bare", remote)
    return remote


def scaffold(
    where: Path,
    *,
    team: str = "vision",
    model: str = "resnet50",
    check: bool = True,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """Run the real cookiecutter CLI on cpv's template, as the README shows."""
    args = [f"{k}={v}" for k, v in {"team_name": team, "model_name": model, **variables}.items()]
    return run(
        BIN / "cookiecutter",
        ROOT,
        "--directory",
        "template",
        "--no-input",
        "--output-dir",
        where,
        *args,
        check=check,
    )


@pytest.fixture
def make_repo(tmp_path: Path, bare_remote: Path):  # type: ignore[no-untyped-def]
    """A model repo with the bare git remote; pass s3=S3 for the S3 remote."""

    def make(s3: S3 | None = None, **variables: str) -> Path:
        where = tmp_path / "work"
        where.mkdir(exist_ok=True)
        if s3 is not None:
            variables = {"s3_bucket": s3.bucket, "s3_endpoint_url": s3.endpoint, **variables}
        scaffold(where, git_remote_url=str(bare_remote), **variables)
        return where / variables.get("model_name", "resnet50")

    return make


def clone(remote: Path, dest: Path) -> Path:
    run("git", "clone", "-q", remote, dest)
    return dest


def teammate(remote: Path, dest: Path) -> Path:
    """A teammate's clone, set up with the one documented command (`cpv install`)."""
    clone(remote, dest)
    run(BIN / "cpv", "install", cwd=dest)
    return dest
