"""Git hook entry points. Each module has ``main(argv=None) -> int``.

``cpv-hook <name> [args...]`` dispatches to them; it is what the pre-commit framework and the
native scripts in ``hooks/`` call. Importing this package stays cheap: no DVC, no boto3.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from cpv_hooks.errors import CPVError

HOOKS = {
    "pre-commit": "pre_commit",
    "post-commit": "post_commit",
    "pre-push": "pre_push",
    "post-checkout": "post_checkout",
    "post-merge": "post_checkout",
    "verify-remote": "verify_remote",
}


def report(fn: Callable[[], int], prefix: str = "cpv") -> int:
    """Run a hook body; a CPVError becomes one line on stderr and a nonzero exit."""
    try:
        return fn()
    except CPVError as exc:
        if os.environ.get("CPV_VERBOSE"):
            traceback.print_exc()
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """``cpv-hook <hook-name> [git's hook arguments]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in HOOKS:
        print(f"usage: cpv-hook {{{','.join(HOOKS)}}} [args...]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"cpv_hooks.hooks.{HOOKS[args[0]]}")
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
