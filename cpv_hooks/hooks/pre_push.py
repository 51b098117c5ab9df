"""pre-push: version the pushed commits that lack it, validate the pushed version tags and
upload the data the pushed refs need. A push that had to make versions is stopped after the
upload with one line: git's push cannot take refs made while it runs, and pushing them apart
would publish a version whose branch git may still refuse; the same push again carries them.

git passes every ref on stdin to cpv's native hook script (``hooks/cpv-hook``). Under the pre-commit
framework only the first branch is known (PRE_COMMIT_* variables) and tag-only pushes run no
hook at all, which is why cpv installs the native script.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from cpv_hooks.hooks import git_command_args, report
from cpv_hooks.hooks.chain import pushed_blobs, scan_secrets
from cpv_hooks.hooks.post_commit import say_healed
from cpv_hooks.push import RefUpdate, heal_pushed, publish
from cpv_hooks.repo import ZERO_SHA, Git, find_root
from cpv_hooks.stale import stale_message
from cpv_hooks.workspace import Workspace


def _from_pre_commit_env(git: Git) -> list[RefUpdate]:
    env = os.environ
    local = env.get("PRE_COMMIT_LOCAL_BRANCH", "HEAD")
    remote_ref = env.get("PRE_COMMIT_REMOTE_BRANCH", local)
    to_ref = env.get("PRE_COMMIT_TO_REF") or git.run("rev-parse", local)
    return [RefUpdate(local, to_ref, remote_ref, env.get("PRE_COMMIT_FROM_REF") or ZERO_SHA)]


def main(argv: Sequence[str] | None = None, stdin: str | None = None) -> int:
    """``argv`` is git's (remote name, remote url); ref lines come on ``stdin``."""
    args = list(sys.argv[1:] if argv is None else argv)
    remote_name = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "origin")

    def run() -> int:
        git = Git(find_root())
        if "PRE_COMMIT_REMOTE_NAME" in os.environ and not args:
            updates = _from_pre_commit_env(git)
        else:
            text = sys.stdin.read() if stdin is None else stdin
            updates = [RefUpdate.parse(line) for line in text.splitlines() if line.strip()]
        tips = [up.local_sha for up in updates if up.local_sha != ZERO_SHA]
        if scan_secrets(git.root, lambda: pushed_blobs(git, tips, remote_name)):
            print(
                "cpv: push refused: a pushed commit holds a secret (see above): remove it "
                "from the history (git rebase -i), and rotate the key",
                file=sys.stderr,
            )
            return 1
        stale = stale_message(Workspace(git.root, git))
        if stale:
            print(f"cpv: {stale}", file=sys.stderr)
        invoked = git_command_args() or []
        dry_run = "--dry-run" in invoked or "-n" in invoked
        healed = heal_pushed(git.root, updates, remote_name, dry_run=dry_run)
        if dry_run:  # git sends nothing: neither does cpv
            for h in healed:
                print(f"cpv: dry run: {h.commit[:8]} would get version {h.tag}", file=sys.stderr)
            return 0
        say_healed(healed, "sent by the next git push")
        result = publish(git.root, updates, remote_name)
        for warning in result.warnings:  # failed notifications never fail the push
            print(f"cpv: warning: {warning}", file=sys.stderr)
        if result.objects:
            print(
                f"cpv: uploaded {result.objects} object(s), {result.bytes / 1e6:.1f} MB, "
                f"to {result.remote}",
                file=sys.stderr,
            )
        if healed:  # git's push cannot take refs made now: the same push again carries them
            print(
                f"cpv: push stopped: run the same git push again to send "
                f"{', '.join(h.tag for h in healed)} with it (push.followTags, set by "
                "`cpv install`); its data is already uploaded",
                file=sys.stderr,
            )
            return 1
        return 0

    return report(run, prefix="cpv: push refused")
