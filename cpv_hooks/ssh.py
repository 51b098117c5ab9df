"""Bitbucket over SSH: an ed25519 key and a ``~/.ssh/config`` entry for altssh.bitbucket.org:443."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cpv_hooks.errors import ConfigError, CredentialError

BITBUCKET_HOST = "bitbucket.org"
BITBUCKET_SSH_HOST = "altssh.bitbucket.org"
BITBUCKET_SSH_PORT = 443
KEYS_PAGE = "https://bitbucket.org/account/settings/ssh-keys/"
SSH_TIMEOUT = 30
DEFAULT_KEY = "cpv_bitbucket_ed25519"


@dataclass
class SSHSetup:
    """What ``bitbucket-config`` did."""

    key_path: Path
    public_key: str
    created_key: bool
    config_path: Path
    host: str


def ssh_dir() -> Path:
    return Path.home() / ".ssh"


def planned_key(name: str | None) -> tuple[Path, bool]:
    """The key file ``name`` (default ``DEFAULT_KEY``) would be, and whether it exists."""
    name = name or DEFAULT_KEY
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise ConfigError(
            f"bad key file name '{name}'", "give a plain file name, e.g. cpv_bitbucket"
        )
    key = ssh_dir() / name
    return key, key.exists()


def ensure_key(name: str, comment: str) -> tuple[Path, bool]:
    """Generate ``~/.ssh/<name>`` (ed25519, no passphrase) unless it exists; files 0600."""
    if shutil.which("ssh-keygen") is None:
        raise ConfigError(
            "ssh-keygen is not installed", "install OpenSSH (e.g. apt install openssh-client)"
        )
    planned_key(name)
    base = ssh_dir()
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    key = base / name
    created = not key.exists()
    if created:
        proc = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ConfigError(
                f"ssh-keygen failed: {proc.stderr.strip()}", "check ~/.ssh is writable"
            )
    os.chmod(key, 0o600)
    if not key.with_suffix(".pub").exists():
        raise ConfigError(
            f"{key}.pub is missing", f"recreate it: ssh-keygen -y -f {key} > {key}.pub"
        )
    return key, created


def ssh_quote(value: str) -> str:
    """``value`` as one ssh_config argument: quoted, ``\\`` and ``"`` escaped, ``%`` doubled."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def write_host_entry(key: Path, host: str = BITBUCKET_HOST) -> Path:
    """Add or update the ``Host`` entry for Bitbucket in ``~/.ssh/config`` (never twice)."""
    from sshconf import empty_ssh_config_file, read_ssh_config

    path = ssh_dir() / "config"
    conf = read_ssh_config(str(path)) if path.exists() else empty_ssh_config_file()
    settings = {
        "HostName": BITBUCKET_SSH_HOST,
        "Port": BITBUCKET_SSH_PORT,
        "User": "git",
        "IdentityFile": ssh_quote(str(key)),
        "IdentitiesOnly": "yes",
    }
    if host in conf.hosts():
        conf.set(host, **settings)
    else:
        conf.add(host, **settings)
    conf.write(str(path))
    os.chmod(path, 0o600)
    return path


def test_connection(host: str = BITBUCKET_HOST, timeout: int = SSH_TIMEOUT) -> tuple[bool, str]:
    """Try ``ssh -T git@host``; Bitbucket answers authenticated logins with a greeting."""
    if shutil.which("ssh") is None:
        raise CredentialError(
            "ssh is not installed", "install OpenSSH (e.g. apt install openssh-client)"
        )
    try:
        proc = subprocess.run(
            [
                "ssh",
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                f"ConnectTimeout={timeout}",
                "-o",
                "StrictHostKeyChecking=accept-new",
                f"git@{host}",
            ],
            capture_output=True,
            text=True,
            timeout=timeout + 5,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer from {host} within {timeout}s"
    text = (proc.stdout + proc.stderr).strip()
    ok = "authenticated" in text.lower() or "logged in as" in text.lower()
    return ok, text.splitlines()[-1] if text else f"ssh exited {proc.returncode}"
