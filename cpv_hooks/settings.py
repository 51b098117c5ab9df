"""The user's stored cpv settings: ``<config dir>/config.json``, validated by pydantic."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from cpv_hooks.config import CONFIG_FILE, S3_BUCKET, S3_REGION, config_dir
from cpv_hooks.errors import ConfigError
from cpv_hooks.fsutil import atomic_write


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


class NotifySettings(BaseModel):
    """Where published versions are announced (a chat webhook; the file is 0600)."""

    model_config = ConfigDict(extra="forbid")

    webhook: str = ""


class StoredConfig(BaseModel):
    """The schema of ``<config dir>/config.json``."""

    model_config = ConfigDict(extra="forbid")

    aws: AWSSettings | None = None
    bitbucket: BitbucketSettings | None = None
    notify: NotifySettings | None = None


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

    @property
    def notify(self) -> NotifySettings | None:
        """The stored notification settings, or None."""
        return self._config.notify

    def set_notify(self, webhook: str) -> None:
        """Store the webhook that announces published versions ("" turns it off)."""
        self._config.notify = NotifySettings(webhook=webhook) if webhook else None
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
