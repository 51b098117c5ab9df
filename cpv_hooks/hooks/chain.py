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
from collections.abc import Callable
from pathlib import Path

from cpv_hooks.dvc.safety import load_yaml_safe
from cpv_hooks.repo import Git

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
    conf = load_yaml_safe((root / CONFIG).read_bytes(), CONFIG) or {}
    default = conf.get("default_stages") or ALL_STAGES
    legacy = {"commit": "pre-commit", "push": "pre-push", "merge-commit": "pre-merge-commit"}
    out = []
    for repo in conf.get("repos", []):
        for hook in repo.get("hooks", []):
            stages = [legacy.get(s, s) for s in hook.get("stages") or default]
            if stage in stages and not native(str(hook.get("id", ""))):
                out.append(str(hook["id"]))
    return out


def run_others(root: Path, stage: str, args: list[str], stdin: bytes, hooks_dir: Path) -> int:
    """Run the other hooks of ``stage`` through pre-commit; 0 when there are none."""
    if not other_hooks(root, stage):
        return 0
    ids = sorted({i for i in configured_ids(root) if native(i)})
    skip = ",".join(filter(None, [os.environ.get("SKIP", ""), *ids]))
    cmd = [
        sys.executable,
        "-I",  # isolated: the repo's own files never shadow a module
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


def staged_blobs(git: Git) -> dict[str, bytes]:
    """The staged content (the index, not the work tree) of each added or changed file."""
    out = git.run("diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z")
    names = [n for n in out.split("\0") if n]
    blobs = git.read_blobs([f":{n}" for n in names])
    return {n: blobs[f":{n}"] for n in names if f":{n}" in blobs}


def pushed_blobs(git: Git, tips: list[str], remote: str) -> dict[str, bytes]:
    """Every file version that the commits up to ``tips`` add and ``remote`` lacks."""
    if not tips:
        return {}
    listed = git.run(
        "rev-list", "--objects", "--filter=object:type=blob", "--filter-provided-objects",
        *tips, "--not", f"--remotes={remote}", "--",
    )  # fmt: skip
    named = dict(line.split(" ", 1) for line in listed.split("\n") if " " in line)
    blobs = git.read_blobs(list(named))
    return {named[sha]: data for sha, data in blobs.items()}


def scan_secrets(root: Path, read: Callable[[], dict[str, bytes]]) -> int:
    """Run the configured secret scanners of pre-commit-hooks on what ``read`` returns.

    ``read`` gives the files to scan (name -> content); it is not called when no scanner is
    configured.

    The contents are written under their names in a private temporary directory, so what is
    scanned is exactly what git stores; the names follow ``--``, never read as options.
    """
    import importlib

    skip = set(os.environ.get("SKIP", "").split(","))
    scanners = [i for i in configured_ids(root) if i in SECRET_SCANNERS and i not in skip]
    blobs = read() if scanners else {}
    if not blobs:
        return 0
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="cpv-scan-") as tmp:
        for name, data in blobs.items():
            path = Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.chdir(tmp)  # the scanners print the names they are given: the repo's own
        try:
            result = 0
            for hook_id in scanners:
                module, args = SECRET_SCANNERS[hook_id]
                result |= importlib.import_module(module).main([*args, "--", *blobs])
            return result
        finally:
            os.chdir(here)
