"""commit-msg: refuse a malformed or too-low ``[cpv ...]`` directive before the commit exists."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from cpv_hooks.errors import ValidationError
from cpv_hooks.hooks import git_command_args, report
from cpv_hooks.repo import Git, find_root, load_repo_config
from cpv_hooks.versions import KINDS, Directive, latest, next_version, parse_directive, parse_tag


def check_message(root: Path, text: str) -> None:
    """Raise when the directive of commit message ``text`` cannot be honoured."""
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    if "[cpv" not in text.lower():
        return  # the common case: no git call at all
    git = Git(root)
    config = load_repo_config(root)
    staged = set(git.run("diff", "--cached", "--name-only").split("\n"))
    kinds = [k for k in KINDS if any(a.pointer in staged for a in config.of_kind(k))] or ["model"]
    tags = git.tags()
    nexts = ", ".join(next_version(tags, k, Directive()).tag(k) for k in kinds)
    try:
        directive = parse_directive(text)
    except ValidationError as exc:
        raise ValidationError(
            f"the commit message's directive is malformed ({exc.message})",
            f"write [cpv major], [cpv skip] or [cpv vX.Y]; the next free version is {nexts}",
        ) from exc
    wanted = directive.explicit
    if wanted is None:
        return
    args = git_command_args()
    amend = (args is None or "--amend" in args) and git.head() is not None
    at_head = {p for p in map(parse_tag, git.tags_at("HEAD")) if p} if amend else set()
    for kind in kinds:
        top = latest(tags, kind)
        if (kind, wanted) in at_head or top is None or wanted > top:
            continue  # an amend that keeps its version, or a version above the latest
        raise ValidationError(
            f"[cpv {wanted}] is not above the latest {top.tag(kind)}",
            f"the next free version is {nexts}: ask for that or higher, or leave the directive out",
        )


def main(argv: Sequence[str] | None = None) -> int:
    """git passes the path of the message file."""
    args = list(sys.argv[1:] if argv is None else argv)

    def run() -> int:
        root = find_root()
        text = (root / args[0]).read_bytes().decode("utf-8", "replace") if args else ""
        check_message(root, text)
        return 0

    return report(run, prefix="cpv: commit refused")
