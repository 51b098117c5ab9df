"""Hand the non-cpv hooks of ``.pre-commit-config.yaml`` to the pre-commit framework.

cpv's native hook scripts run cpv's own hook directly; whatever else the config lists for the
same stage (linters, secret scanners...) still runs, through ``pre-commit hook-impl`` with
cpv's hooks skipped. When the config lists only cpv hooks, nothing is started at all.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = ".pre-commit-config.yaml"
# hooks the native scripts run in-process: cpv's own, and pre-commit-hooks' secret scanners
SECRET_SCANNERS = {
    "detect-private-key": ("pre_commit_hooks.detect_private_key", []),
    "detect-aws-credentials": (
        "pre_commit_hooks.detect_aws_credentials",
        ["--allow-missing-credentials"],
    ),
}
_ID_RE = re.compile(r"^\s*-?\s*id:\s*['\"]?([\w.-]+)", re.MULTILINE)
ALL_STAGES = (
    "pre-commit",
    "pre-merge-commit",
    "pre-push",
    "prepare-commit-msg",
    "commit-msg",
    "post-checkout",
    "post-commit",
    "post-merge",
    "post-rewrite",
    "pre-rebase",
    "manual",
)


def native(hook_id: str) -> bool:
    """True for the hooks cpv's native scripts run themselves."""
    return hook_id.startswith("cpv-") or hook_id in SECRET_SCANNERS


def configured_ids(root: Path) -> list[str]:
    """The hook ids of the config (a regex: no YAML import on the hot path)."""
    try:
        return _ID_RE.findall((root / CONFIG).read_text())
    except FileNotFoundError:
        return []


def other_hooks(root: Path, stage: str) -> list[str]:
    """Ids of the hooks that cpv does not run itself and that run at ``stage``."""
    if all(native(i) for i in configured_ids(root)):
        return []  # the common case, decided without parsing YAML
    text = (root / CONFIG).read_text()
    import yaml

    conf = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    default = conf.get("default_stages") or ALL_STAGES
    legacy = {"commit": "pre-commit", "push": "pre-push", "merge-commit": "pre-merge-commit"}
    out = []
    for repo in conf.get("repos", []):
        for hook in repo.get("hooks", []):
            stages = [legacy.get(s, s) for s in hook.get("stages") or default]
            if stage in stages and not native(str(hook.get("id", ""))):
                out.append(str(hook["id"]))
    return out


def run_legacy(root: Path, stage: str, args: list[str], stdin: bytes) -> int:
    """Run the hook of another tool that ``cpv install`` kept as ``<stage>.legacy``."""
    from cpv_hooks.repo import Git

    known = Path(os.environ.get("CPV_HOOKS_DIR") or "-")  # set by hooks/cpv-hook: saves a git call
    legacy = (known.resolve() if known.is_dir() else Git(root).hooks_dir()) / f"{stage}.legacy"
    if not os.access(legacy, os.X_OK):
        return 0
    return subprocess.run([str(legacy), *args], cwd=root, input=stdin).returncode


def run_others(root: Path, stage: str, args: list[str], stdin: bytes) -> int:
    """Run the other hooks of ``stage`` through pre-commit; 0 when there are none.

    pre-commit gets an empty hook dir: the ``.legacy`` hook already ran (:func:`run_legacy`).
    """
    if not other_hooks(root, stage):
        return 0
    ids = sorted({i for i in configured_ids(root) if native(i)})
    skip = ",".join(filter(None, [os.environ.get("SKIP", ""), *ids]))
    with tempfile.TemporaryDirectory(prefix="cpv-hooks-") as empty:
        cmd = [
            sys.executable,
            "-m",
            "pre_commit",
            "hook-impl",
            f"--config={CONFIG}",
            f"--hook-type={stage}",
            "--hook-dir",
            empty,
            "--",
            *args,
        ]
        env = {**os.environ, "SKIP": skip}
        return subprocess.run(cmd, cwd=root, input=stdin, env=env).returncode


def scan_secrets(root: Path, files: list[str]) -> int:
    """Run the configured secret scanners of pre-commit-hooks on ``files``, in this process."""
    import importlib

    skip = set(os.environ.get("SKIP", "").split(","))
    result = 0
    for hook_id in configured_ids(root):
        if hook_id in SECRET_SCANNERS and hook_id not in skip and files:
            module, args = SECRET_SCANNERS[hook_id]
            result |= importlib.import_module(module).main([*args, *files])
    return result
