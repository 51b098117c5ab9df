"""DVC's config as DVC reads it (dvc/config.py): four levels, configobj syntax, DVC's paths.

The levels shadow each other in DVC's order: system, global, repo (``.dvc/config``), local
(``.dvc/config.local``). Files are parsed by configobj, DVC's own parser (quoted values,
inline comments, ``remote "name"`` sections); keys are lower-cased; ``cache.dir`` and a
remote's local ``url`` or ``credentialpath`` are resolved against the directory of the file
that sets them, after ``~`` expansion, as DVC does.

The result is flat: ``{"core": {...}, "cache": {...}, "remote:NAME": {...}}``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cpv_hooks.errors import ConfigError

Config = dict[str, dict[str, str]]
_NAMED = re.compile(r'^\s*(remote|machine|db)\s*"(.*)"\s*$')
_PATHS = {"cache": ("dir",), "remote": ("url", "credentialpath", "configpath", "keyfile")}


def config_files(root: Path) -> dict[str, Path]:
    """The file of each level, as DVC finds them (``DVC_*_CONFIG_DIR``, then platformdirs)."""
    import platformdirs

    system = os.getenv("DVC_SYSTEM_CONFIG_DIR") or platformdirs.site_config_dir("dvc", "iterative")
    user = os.getenv("DVC_GLOBAL_CONFIG_DIR") or platformdirs.user_config_dir("dvc", "iterative")
    return {
        "system": Path(system) / "config",
        "global": Path(user) / "config",
        "repo": root / ".dvc" / "config",
        "local": root / ".dvc" / "config.local",
    }


def load_file(path: Path) -> Config:
    """One config file, flat, with its paths resolved; a missing file is empty."""
    from configobj import ConfigObj, ConfigObjError

    try:
        with open(path, "rb") as fh:
            raw = ConfigObj(fh).dict()
    except FileNotFoundError:
        return {}
    except (ConfigObjError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"{path} is malformed ({first})", "fix it with `dvc config` or a text editor"
        ) from exc
    out: Config = {}
    for section, values in raw.items():
        if not isinstance(values, dict):
            continue  # a value outside any section: DVC's schema rejects it too
        section = section.lower()  # as DVC: remote names too
        match = _NAMED.match(section)
        kind = match.group(1) if match else section
        key = f"{kind}:{match.group(2)}" if match else kind
        flat = {k.lower(): _text(v) for k, v in values.items() if not isinstance(v, dict)}
        for name in _PATHS.get(kind, ()):
            if name in flat:
                flat[name] = _resolve(path.parent, flat[name])
        if kind == "core" and "remote" in flat:
            flat["remote"] = flat["remote"].lower()  # DVC's schema: Lower
        out[key] = flat
    return out


def load(root: Path) -> Config:
    """The merged config of the repo at ``root``, later levels overriding earlier ones."""
    merged: Config = {}
    for path in config_files(root).values():
        for section, values in load_file(path).items():
            merged.setdefault(section, {}).update(values)
    return merged


# S3 remote options cpv carries out itself (see storage.make_s3_client / S3Remote), those
# that change nothing for cpv, and those it refuses (DVC's config_schema.py lists them all)
S3_OPTIONS = {
    "url", "region", "profile", "credentialpath", "configpath", "endpointurl",
    "access_key_id", "secret_access_key", "session_token", "use_ssl", "ssl_verify",
    "allow_anonymous_login", "read_timeout", "connect_timeout", "sse", "sse_kms_key_id", "acl",
    "grant_read", "grant_read_acp", "grant_write_acp", "grant_full_control",
    # no effect on what is stored: cpv always verifies md5s, picks its own parallelism
    "verify", "jobs", "checksum_jobs", "listobjects", "no_traverse", "cache_regions",
}  # fmt: skip
LOCAL_OPTIONS = {"url", "verify", "jobs", "checksum_jobs", "no_traverse", "slow_link_warning"}
UPLOAD_ARGS = {
    "sse": "ServerSideEncryption",
    "sse_kms_key_id": "SSEKMSKeyId",
    "acl": "ACL",
    "grant_read": "GrantRead",
    "grant_read_acp": "GrantReadACP",
    "grant_write_acp": "GrantWriteACP",
    "grant_full_control": "GrantFullControl",
}


def check_remote_options(name: str, options: dict[str, str], s3: bool) -> None:
    """Refuse a remote whose options cpv does not carry out (never ignore them silently)."""
    known = S3_OPTIONS if s3 else LOCAL_OPTIONS
    extra = sorted(k for k in options if k not in known and not is_false(options[k]))
    if extra:
        raise ConfigError(
            f"the DVC remote '{name}' sets {', '.join(extra)}, which cpv does not implement",
            f"move its data with `dvc push -r {name}` / `dvc pull -r {name}`, and push git "
            "with `git push --no-verify`; or remove the option with `dvc remote modify --unset`",
        )


def is_false(value: str) -> bool:
    """DVC's Bool for a false value."""
    return value.strip().lower() in ("false", "no", "0", "off", "")


def upload_args(options: dict[str, str]) -> dict[str, str]:
    """boto3 ``ExtraArgs`` for the remote's encryption and ACL options."""
    return {arg: options[key] for key, arg in UPLOAD_ARGS.items() if options.get(key)}


def _text(value: object) -> str:
    """configobj gives ``a,b`` as a list: DVC's comma-separated string again."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _resolve(base: Path, value: str) -> str:
    """A path option as DVC resolves it: URLs kept, ``~`` expanded, relative to ``base``."""
    if re.match(r"\w+://", value):
        return value
    return os.path.abspath(os.path.join(base, os.path.expanduser(value)))
