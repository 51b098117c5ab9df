"""Where cpv keeps its state, and the user's stored settings (paths and names, never keys).

Everything that depends on the machine (config dir, environment, clock) goes through this
module, so tests point it at a temporary directory with ``CPV_CONFIG_DIR``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from cpv_hooks.errors import ConfigError
from cpv_hooks.fsutil import atomic_write

S3_BUCKET = "vmo-model-checkpoints"
S3_REGION = "us-east-1"
DVC_REMOTE_NAME = "myremote"
CONFIG_FILE = "config.json"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The cpv config dir: ``$CPV_CONFIG_DIR`` or ``~/.cpv``."""
    raw = (os.environ if env is None else env).get("CPV_CONFIG_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".cpv"


def s3_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for an S3 answer before retrying (``$CPV_S3_TIMEOUT``, default 60)."""
    raw = (os.environ if env is None else env).get("CPV_S3_TIMEOUT", "")
    try:
        return max(1.0, float(raw)) if raw else 60.0
    except ValueError as exc:
        raise ConfigError(
            f"CPV_S3_TIMEOUT={raw!r} is not a number", "set it to seconds, e.g. 60"
        ) from exc


def now() -> _dt.datetime:
    """The current time, timezone-aware (the one clock of cpv)."""
    return _dt.datetime.now(_dt.timezone.utc)


def local_remote_dir(team: str, model: str, base: Path | None = None) -> Path:
    """The local DVC remote used when no S3 is configured."""
    return (base or config_dir()) / "remotes" / team / model


class AWSSettings(BaseModel):
    """Where a model's data goes on S3; credentials stay in the user's AWS files."""

    model_config = ConfigDict(extra="forbid")

    bucket: str = S3_BUCKET
    region: str = S3_REGION
    endpoint_url: str = ""
    profile: str = ""
    credential_path: str = ""


class BitbucketSettings(BaseModel):
    """The SSH identity used for the team's Bitbucket project."""

    model_config = ConfigDict(extra="forbid")

    user: str = ""
    key_path: str = ""
    host_alias: str = "bitbucket.org"


class StoredConfig(BaseModel):
    """The schema of ``<config dir>/config.json``."""

    model_config = ConfigDict(extra="forbid")

    aws: AWSSettings | None = None
    bitbucket: BitbucketSettings | None = None


class CPVConfig:
    """The user's cpv settings, persisted as JSON in the config dir."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.CONFIG_DIR = Path(directory) if directory else config_dir()
        self.path = self.CONFIG_DIR / CONFIG_FILE
        self._config = self._load()

    def _load(self) -> StoredConfig:
        if not self.path.exists():
            return StoredConfig()
        try:
            return StoredConfig.model_validate(json.loads(self.path.read_text()))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(
                f"{self.path} is not a valid cpv config ({first})",
                f"fix or delete {self.path}, then run `cpv aws-config` again",
            ) from exc

    def _save_config(self) -> None:
        self.CONFIG_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.CONFIG_DIR, 0o700)
        atomic_write(self.path, self._config.model_dump_json(indent=2, exclude_none=True), 0o600)

    @property
    def aws(self) -> AWSSettings | None:
        """The stored S3 settings, or None when S3 was never configured."""
        return self._config.aws

    def set_aws(self, settings: AWSSettings) -> None:
        """Store S3 settings (paths and names only)."""
        self._config.aws = settings
        self._save_config()

    def get_config(self, key: str | None = None) -> dict[str, Any]:
        """The stored configuration, or one section of it."""
        data = self._config.model_dump(exclude_none=True)
        if key is None:
            return data
        value = data.get(key, {})
        return value if isinstance(value, dict) else {key: value}

    # -- the seed API (section 3) -------------------------------------------------------

    def setup_aws_profile(
        self,
        credential_path: str | None = None,
        aws_profile: str | None = None,
        bucket: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        save: bool = True,
        **kwargs: Any,
    ) -> AWSSettings:
        """Store where the AWS credentials are (a file path and a profile name, never keys).

        Only what is given changes: a None keeps the stored value. ``save=False`` checks
        and returns the settings without storing them.
        """
        current = self.aws or AWSSettings()
        if credential_path:
            path = Path(credential_path).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(
                    f"{path} is not a file", "give the path of your AWS credentials file"
                )
            _check_profile(path, aws_profile or current.profile or "default")
            credential_path = str(path)
        updates = {
            "credential_path": credential_path,
            "profile": aws_profile,
            "bucket": bucket,
            "region": region,
            "endpoint_url": endpoint_url,
        }
        settings = current.model_copy(update={k: v for k, v in updates.items() if v is not None})
        if settings.profile == "default" and not settings.credential_path:
            settings = settings.model_copy(update={"profile": ""})
        if save:
            self.set_aws(settings)
        return settings

    def setup_bitbucket_ssh(
        self,
        keygen_filename: str | None = None,
        bitbucket_user: str | None = None,
        test: bool = True,
        **kwargs: Any,
    ) -> tuple[Any, tuple[bool, str] | None]:
        """Create or reuse an ed25519 key, write the ~/.ssh/config entry, test the connection."""
        from cpv_hooks import ssh

        user = bitbucket_user or (self._config.bitbucket.user if self._config.bitbucket else "")
        key, created = ssh.ensure_key(keygen_filename or ssh.DEFAULT_KEY, f"cpv {user}".strip())
        config_path = ssh.write_host_entry(key)
        self._config.bitbucket = BitbucketSettings(user=user, key_path=str(key))
        self._save_config()
        setup = ssh.SSHSetup(
            key,
            key.with_suffix(".pub").read_text().strip(),
            created,
            config_path,
            ssh.BITBUCKET_HOST,
        )
        return setup, (ssh.test_connection() if test else None)

    def validate_credentials(self, **kwargs: Any) -> bool:
        """True when every check of ``cpv validate`` passes."""
        from cpv_hooks.checks import validate

        return all(c.ok for c in validate(kwargs.get("repo_path"), self))


def _check_profile(path: Path, profile: str) -> None:
    from cpv_hooks.storage import read_ini

    parser = read_ini(path, "is not an AWS credentials file", "fix its [profile] sections")
    if profile not in parser.sections():
        known = ", ".join(parser.sections()) or "none"
        raise ConfigError(f"profile '{profile}' is not in {path}", f"use one of: {known}")
