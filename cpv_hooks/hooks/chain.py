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
from pathlib import Path

CONFIG = ".pre-commit-config.yaml"
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


def other_hooks(root: Path, stage: str) -> list[str]:
    """Ids of the hooks that are not cpv's and run at ``stage``."""
    try:
        text = (root / CONFIG).read_text()
    except FileNotFoundError:
        return []
    if all(i.startswith("cpv-") for i in _ID_RE.findall(text)):
        return []  # the common case, decided without parsing YAML
    import yaml

    conf = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    default = conf.get("default_stages") or ALL_STAGES
    legacy = {"commit": "pre-commit", "push": "pre-push", "merge-commit": "pre-merge-commit"}
    out = []
    for repo in conf.get("repos", []):
        for hook in repo.get("hooks", []):
            stages = [legacy.get(s, s) for s in hook.get("stages") or default]
            if stage in stages and not str(hook.get("id", "")).startswith("cpv-"):
                out.append(str(hook["id"]))
    return out


def run_others(root: Path, stage: str, args: list[str], stdin: bytes, hooks_dir: Path) -> int:
    """Run the other hooks of ``stage`` through pre-commit; 0 when there are none."""
    if not other_hooks(root, stage):
        return 0
    ids = re.findall(r"\bcpv-[\w.-]+", (root / CONFIG).read_text())
    skip = ",".join(filter(None, [os.environ.get("SKIP", ""), *sorted(set(ids))]))
    cmd = [
        sys.executable,
        "-m",
        "pre_commit",
        "hook-impl",
        f"--config={CONFIG}",
        f"--hook-type={stage}",
        "--hook-dir",
        str(hooks_dir),
        "--",
        *args,
    ]
    return subprocess.run(cmd, cwd=root, input=stdin, env={**os.environ, "SKIP": skip}).returncode
