"""Where cpv keeps its state, and the user's stored settings (paths and names, never keys).

Everything that depends on the machine (config dir, environment, clock) goes through this
module, so tests point it at a temporary directory with ``CPV_CONFIG_DIR``. The stored
settings (``CPVConfig`` and its pydantic schema) live in ``cpv_hooks.settings`` and load
on first use: commands that never read them do not import pydantic.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpv_hooks.errors import ConfigError

if TYPE_CHECKING:
    from cpv_hooks.settings import AWSSettings as AWSSettings
    from cpv_hooks.settings import BitbucketSettings as BitbucketSettings
    from cpv_hooks.settings import CPVConfig as CPVConfig
    from cpv_hooks.settings import NotifySettings as NotifySettings
    from cpv_hooks.settings import StoredConfig as StoredConfig

S3_BUCKET = "vmo-model-checkpoints"
S3_REGION = "us-east-1"
DVC_REMOTE_NAME = "myremote"
CONFIG_FILE = "config.json"
_SETTINGS = ("AWSSettings", "BitbucketSettings", "CPVConfig", "NotifySettings", "StoredConfig")


def __getattr__(name: str) -> Any:
    if name in _SETTINGS:
        from cpv_hooks import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
