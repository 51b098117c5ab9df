"""A stale work tree: said in one line, and its bytes never become a new version.

After ``git reset --hard`` (no hook runs) the artifacts keep the bytes of the commit before
while the pointers moved: :func:`stale_message` says so, from the stat record alone. A clone
that pulled while its hooks were missing keeps the old model while the pointers moved on;
committing would version the old bytes over the new ones. An artifact byte-identical to a
version in HEAD's history, other than the one HEAD points to, is refused unless the rollback
is meant (``cpv model revert``, or CPV_ALLOW_ROLLBACK=1).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cpv_hooks.dvc.pointers import Pointer, parse_pointer
from cpv_hooks.dvc.safety import loads_json_limited
from cpv_hooks.errors import CPVError, ValidationError
from cpv_hooks.repo import Artifact, Git
from cpv_hooks.versions import parse_tag
from cpv_hooks.workspace import Workspace

ALLOW = "CPV_ALLOW_ROLLBACK"


def stale_message(ws: Workspace) -> str | None:
    """One line when artifacts still hold what cpv left while git moved their pointers."""
    if not any(ws.pointer_moved(a) for a in ws.config.dvc_artifacts):
        return None  # the usual case, told without walking a large data/
    try:
        _, stale = ws.changed()
        stale = [a for a in stale if ws.pointer(a)]  # a broken pointer is reported as such
    except CPVError:
        return None  # a deleted artifact or a broken pointer: the command says so
    if not stale:
        return None
    return (
        f"{', '.join(a.path for a in stale)} still hold(s) the bytes of an earlier pointer (git "
        "moved the pointer without a hook, e.g. `git reset --hard`): `cpv install` checks out "
        "what HEAD points to"
    )


class RollbackGuard:
    """A ``Workspace.add`` check; reads the versions once, on the first changed artifact."""

    def __init__(self, git: Git, skip: Iterable[Artifact] = ()) -> None:
        self.git = git
        self.skip = set(skip)
        self._versions: dict[tuple[str, str], str] | None = None  # (path, md5) -> tag

    def versions(self) -> dict[tuple[str, str], str]:
        """The md5 of every artifact of every version tag in HEAD's history."""
        if self._versions is None:
            self._versions = {}
            out = self.git.run(
                "for-each-ref", "--merged", "HEAD", "refs/tags",
                "--format=%(refname:short)%00%(contents:body)%1e",
            )  # fmt: skip
            for record in out.split("\x1e"):
                name, _, body = record.lstrip("\n").partition("\0")
                if not parse_tag(name):
                    continue
                try:
                    text = body.split("\n-----BEGIN ", 1)[0]  # a signed tag's signature
                    arts = loads_json_limited(text, f"tag {name}")["artifacts"]
                    for path, info in arts.items():
                        self._versions.setdefault((path, str(info["md5"])), name)
                except (CPVError, ValueError, KeyError, TypeError, AttributeError):
                    continue
        return self._versions

    def __call__(self, art: Artifact, ptr: Pointer) -> None:
        if art in self.skip or os.environ.get(ALLOW) == "1" or not self.git.head():
            return
        spec = f"HEAD:{art.pointer}"
        data = self.git.read_blobs([spec]).get(spec)
        if data is None or parse_pointer(data, f"{art.pointer}@HEAD").md5 == ptr.md5:
            return
        tag = self.versions().get((art.path, ptr.md5))
        if tag is None:
            return
        kind = "data" if tag.startswith("data-") else "model"
        raise ValidationError(
            f"{art.path} holds the bytes of {tag}, older than what HEAD points to (a stale "
            "work tree?)",
            f"`cpv install` brings it up to date; to roll back on purpose use `cpv {kind} "
            f"revert --tag {tag}`, or commit with {ALLOW}=1",
        )
