"""``cpv validate``: is the remote storage reachable and writable, is the git remote reachable."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.config import AWSSettings, CPVConfig
from cpv_hooks.dvc.cache import Obj
from cpv_hooks.dvc.remote import DVCRemote
from cpv_hooks.errors import CPVError, RepositoryError
from cpv_hooks.repo import Git, find_root, last_line
from cpv_hooks.storage import LocalRemote, Remote, S3Remote, open_remote

GIT_TIMEOUT = 30


@dataclass
class Check:
    """One line of ``cpv validate``."""

    name: str
    ok: bool
    detail: str


def probe_storage(remote: Remote) -> Check:
    """Write, read back and delete a small object under the remote's prefix."""
    name = f"storage {remote.url}"
    probe = Obj("probe", name=f"cpv-validate-{uuid.uuid4().hex}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "probe"
            src.write_bytes(b"cpv validate probe\n")
            remote.upload(src, probe, lambda n: None)
            found = remote.sizes([probe])
        if isinstance(remote, S3Remote):
            remote.client.delete_object(Bucket=remote.bucket, Key=remote._key(probe))
        elif isinstance(remote, LocalRemote):
            (remote.base / probe.key).unlink()
        elif isinstance(remote, DVCRemote):
            remote.remove(probe)
        if not found:
            return Check(name, False, "wrote a probe object but could not read it back")
        return Check(name, True, "reachable and writable")
    except CPVError as exc:
        return Check(name, False, str(exc))


def aws_remote(settings: AWSSettings) -> S3Remote:
    """An S3 remote for the bucket of stored settings (no repo needed)."""
    options = {
        "endpointurl": settings.endpoint_url,
        "region": settings.region,
        "profile": settings.profile,
        "credentialpath": settings.credential_path,
    }
    return S3Remote(f"s3://{settings.bucket}", options)


def check_git_remote(root: Path, name: str = "origin") -> Check:
    """``git ls-remote`` with a timeout."""
    label = f"git remote {name}"
    try:
        git = Git(root, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        proc = git.result("ls-remote", "--heads", name, timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Check(label, False, f"no answer within {GIT_TIMEOUT}s: check the network / VPN")
    if proc.returncode != 0:
        last = last_line(proc) or "unreachable"
        return Check(
            label, False, f"{last}: check the URL (git remote -v) and `cpv bitbucket-config`"
        )
    return Check(label, True, "reachable")


def validate(path: Path | str | None = None, config: CPVConfig | None = None) -> list[Check]:
    """Every check that applies here: the repo's remotes, or the stored AWS settings."""
    config = config or CPVConfig()
    checks: list[Check] = []
    try:
        root: Path | None = find_root(path)
    except RepositoryError:
        root = None
    if root is not None and (root / ".dvc").is_dir():
        try:
            checks.append(probe_storage(open_remote(root)))
        except CPVError as exc:
            checks.append(Check("storage", False, str(exc)))
        if "origin" in Git(root).run("remote", check=False).split():
            checks.append(check_git_remote(root))
    elif config.aws is not None:
        checks.append(probe_storage(aws_remote(config.aws)))
    if not checks:
        checks.append(
            Check(
                "setup",
                False,
                "nothing to check here: run inside a model repo, "
                "or store S3 settings with `cpv aws-config`",
            )
        )
    return checks
