"""Hand the non-cpv hooks of ``.pre-commit-config.yaml`` to the pre-commit framework.

cpv's native hook scripts run cpv's own hook directly; whatever else the config lists for the
same stage (linters, secret scanners...) still runs, through ``pre-commit hook-impl`` with
cpv's hooks skipped. When the config lists only cpv hooks, nothing is started at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from cpv_hooks.dvc.safety import load_yaml_safe
from cpv_hooks.fsutil import atomic_write
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
CACHE_VERSION = 1
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
    """The hook ids of the config, in order."""
    return [hook_id for hook_id, _ in _configured(root)]


def other_hooks(root: Path, stage: str) -> list[str]:
    """Ids of the hooks that cpv does not run itself and that run at ``stage``."""
    return [i for i, stages in _configured(root) if stage in stages and not native(i)]


def _configured(root: Path) -> list[tuple[str, list[str]]]:
    """(id, stages) of every hook of the config, read by a YAML parser.

    The result is cached in the git dir, keyed by the file's size, times and inode, so a
    no-op hook reads a small JSON file instead of importing and running YAML.
    """
    path = root / CONFIG
    try:
        st = path.stat()
    except FileNotFoundError:
        return []
    key = [CACHE_VERSION, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    cache = Git(root).git_dir() / "cpv" / "pre-commit-config.json"
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return [(str(i), [str(s) for s in stages]) for i, stages in cached["hooks"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    hooks = _parse(path)
    with contextlib.suppress(OSError):  # a read-only git dir: parse every time
        atomic_write(cache, json.dumps({"key": key, "hooks": hooks}))
    return hooks


def _parse(path: Path) -> list[tuple[str, list[str]]]:
    conf = load_yaml_safe(path.read_bytes(), CONFIG)
    conf = conf if isinstance(conf, dict) else {}
    default = conf.get("default_stages") or ALL_STAGES
    legacy = {"commit": "pre-commit", "push": "pre-push", "merge-commit": "pre-merge-commit"}
    out = []
    for repo in conf.get("repos") or []:
        for hook in (repo.get("hooks") or []) if isinstance(repo, dict) else []:
            if isinstance(hook, dict):
                stages = [legacy.get(str(s), str(s)) for s in hook.get("stages") or default]
                out.append((str(hook.get("id", "")), stages))
    return out


def run_legacy(root: Path, stage: str, args: list[str], stdin: bytes) -> int:
    """Run the hook of another tool that ``cpv install`` kept as ``<stage>.legacy``."""
    known = Path(os.environ.get("CPV_HOOKS_DIR") or "-")  # set by hooks/cpv-hook: saves a git call
    legacy = (known.resolve() if known.is_dir() else Git(root).hooks_dir()) / f"{stage}.legacy"
    if not os.access(legacy, os.X_OK):
        return 0
    from pre_commit.parse_shebang import normalize_cmd  # runs a script's #! on Windows too

    cmd = normalize_cmd((str(legacy), *args))
    return subprocess.run(cmd, cwd=root, input=stdin).returncode


def run_others(root: Path, stage: str, args: list[str], stdin: bytes) -> int:
    """Run the other hooks of ``stage`` through pre-commit; 0 when there are none.

    pre-commit gets an empty hook dir: the ``.legacy`` hook already ran (:func:`run_legacy`).
    """
    if not other_hooks(root, stage):
        from cpv_hooks.hooks.fast import mark_quiet_stage

        mark_quiet_stage(Git(root), stage)  # the shell decides the next time on its own
        return 0
    ids = sorted({i for i in configured_ids(root) if native(i)})
    skip = ",".join(filter(None, [os.environ.get("SKIP", ""), *ids]))
    with tempfile.TemporaryDirectory(prefix="cpv-hooks-") as empty:
        cmd = [
            sys.executable,
            "-I",  # isolated: the repo's own files never shadow a module
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
    tips_in = "".join(f"{t}\n" for t in tips)  # on stdin: thousands of pushed tags fit no argv
    listed = git.run(
        "rev-list", "--objects", "--filter=object:type=blob", "--filter-provided-objects",
        "--stdin", "--not", f"--remotes={remote}", "--", input=tips_in,
    )  # fmt: skip
    named = dict(line.split(" ", 1) for line in listed.split("\n") if " " in line)
    blobs = git.read_blobs(list(named))
    return {named[sha]: data for sha, data in blobs.items()}


def scan_secrets(root: Path, read: Callable[[], dict[str, bytes]]) -> int:
    """Run the configured secret scanners of pre-commit-hooks on the files ``read`` returns.

    ``read`` (called only when a scanner is configured) gives name -> content as git stores
    it; the contents are written under their names in a private temporary directory, and the
    names follow ``--``, never read as options.
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
