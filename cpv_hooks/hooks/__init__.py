"""Git hook entry points. Each module has ``main(argv=None) -> int``.

``cpv-hook <name> [args...]`` dispatches to them; it is what the pre-commit framework and the
native scripts in ``hooks/`` call. Importing this package stays cheap: no DVC, no boto3.
"""

from __future__ import annotations

import importlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op commit imports nothing but the os module (see hooks.fast)
    from collections.abc import Callable, Sequence

HOOKS = {
    "pre-commit": "pre_commit",
    "post-commit": "post_commit",
    "pre-push": "pre_push",
    "post-checkout": "post_checkout",
    "post-merge": "post_checkout",
    "post-rewrite": "post_rewrite",
    "commit-msg": "commit_msg",
    "verify-remote": "verify_remote",
}


def report(fn: Callable[[], int], prefix: str = "cpv") -> int:
    """Run a hook body inside cpv's error boundary (see :mod:`cpv_hooks.boundary`)."""
    from cpv_hooks.boundary import guarded

    return guarded(fn, prefix, bool(os.environ.get("CPV_VERBOSE")))


def git_command_args() -> list[str] | None:
    """The arguments of the git command that runs this hook (``--amend``, ``--dry-run``...).

    Read from /proc (git, or the pre-commit process under it); None where there is no /proc.
    """
    pid = os.getppid()
    for _ in range(3):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
        if os.path.basename(args[0]) == "git":
            return args
    return []


def _in_cpv_repo() -> bool:
    """True in a cpv model repo: one with ``.cpv.yaml``, or where ``cpv install`` ran (an
    adopted repo's older commits have no ``.cpv.yaml``); elsewhere cpv's hooks do nothing."""
    from cpv_hooks.errors import CPVError
    from cpv_hooks.repo import INSTALLED, REPO_CONFIG, Git, find_root

    try:
        root = find_root()
    except CPVError:
        return False
    if (root / REPO_CONFIG).exists():
        return True
    return Git(root).run("config", "--local", "--get", INSTALLED, check=False) == "true"


def main(argv: Sequence[str] | None = None) -> int:
    """``cpv-hook [--native] <hook-name> [git's hook arguments]``.

    ``--native`` is what cpv's own git hook scripts pass: after cpv's hook, the other hooks
    of ``.pre-commit-config.yaml`` for the stage run through the pre-commit framework.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    native = bool(args) and args[0] == "--native"
    args = args[1:] if native else args
    if not args or args[0] not in HOOKS:
        print(f"usage: cpv-hook [--native] {{{','.join(HOOKS)}}} [args...]", file=sys.stderr)
        return 2
    stage, rest = args[0], args[1:]
    if native and stage == "pre-commit":
        from cpv_hooks.hooks.fast import pre_commit_is_noop

        if pre_commit_is_noop():
            return 0
    reads = stage in ("pre-push", "post-rewrite")  # git gives these their lines on stdin
    stdin = sys.stdin.buffer.read() if reads else b""
    result = 0
    if not native or _in_cpv_repo():  # a hooks dir shared by every repo (core.hooksPath)
        module = importlib.import_module(f"cpv_hooks.hooks.{HOOKS[stage]}")
        kwargs = {"stdin": stdin.decode("utf-8", "surrogateescape")} if reads else {}
        result = module.main(rest, **kwargs)
    if native and result == 0:
        from cpv_hooks.hooks.chain import run_legacy, run_others
        from cpv_hooks.repo import find_root

        def chain() -> int:
            root = find_root()
            return run_legacy(root, stage, rest, stdin) or run_others(root, stage, rest, stdin)

        result = report(chain)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
