"""Stages (prod, staging, ...) as immutable annotated git tags: ``stage/<stage>/<N>``.

Each assignment or removal is a new tag, numbered per stage, on the commit of the model
version it names; its message carries the event as JSON. The current state of a stage is
its highest-numbered event, so no tag is ever moved or deleted, on the remote or here.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cpv_hooks.dvc.safety import loads_json_limited
from cpv_hooks.errors import CPVError, ValidationError
from cpv_hooks.repo import ZERO_SHA, Git, validate_name
from cpv_hooks.versions import parse_tag

PREFIX = "stage/"
_STAGE_TAG_RE = re.compile(r"^stage/([a-z0-9]+(?:[-_][a-z0-9]+)*)/([1-9][0-9]{0,8})$")


@dataclass(frozen=True)
class StageEvent:
    """One assignment (or removal, ``action="remove"``) of a model version to a stage."""

    stage: str
    number: int
    version: str
    commit: str
    action: str
    author: str
    date: str

    @property
    def tag(self) -> str:
        return f"{PREFIX}{self.stage}/{self.number}"

    def as_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, **asdict(self)}


def parse_stage_tag(name: str) -> tuple[str, int] | None:
    """The stage and number of a stage tag name, or None."""
    match = _STAGE_TAG_RE.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def parse_event(name: str, text: str, commit: str | None = None) -> StageEvent:
    """The event a stage tag's message (or a registry entry) carries; raises when malformed."""
    parsed = parse_stage_tag(name)
    start = text.find("{")
    try:
        data = loads_json_limited(text[start:] if start >= 0 else "", f"tag {name}")
        event = StageEvent(**{k: data[k] for k in StageEvent.__dataclass_fields__})
    except (ValueError, TypeError, KeyError, CPVError) as exc:
        raise ValidationError(
            f"tag {name} carries no valid stage event", f"delete it with `git tag -d {name}`"
        ) from exc
    version = parse_tag(str(event.version))
    if (
        parsed != (event.stage, event.number)
        or version is None
        or version[0] != "model"
        or event.action not in ("assign", "remove")
        or (commit is not None and event.commit != commit)
    ):
        raise ValidationError(
            f"tag {name} carries the stage event of another tag or commit",
            f"delete it with `git tag -d {name}` and stage again with `cpv model stage`",
        )
    return event


def events(git: Git) -> list[StageEvent]:
    """Every well-formed stage event of the repo (one git call), in stage and number order."""
    out = git.run(
        "for-each-ref",
        f"refs/tags/{PREFIX}",
        "--format=%(refname:short)%00%(*objectname)%00%(contents)%1e",
    )
    found = []
    for record in out.split("\x1e"):
        name, _, rest = record.lstrip("\n").partition("\0")
        commit, _, text = rest.partition("\0")
        if parse_stage_tag(name):
            try:
                found.append(parse_event(name, text, commit))
            except ValidationError:
                continue
    return sorted(found, key=lambda e: (e.stage, e.number))


def current(found: list[StageEvent]) -> dict[str, list[str]]:
    """Model version -> the stages it holds now (each stage's highest-numbered event)."""
    last: dict[str, StageEvent] = {}
    for event in found:
        if event.stage not in last or event.number > last[event.stage].number:
            last[event.stage] = event
    held: dict[str, list[str]] = {}
    for event in last.values():
        if event.action == "assign":
            held.setdefault(event.version, []).append(event.stage)
    return {v: sorted(s) for v, s in held.items()}


def holder(found: list[StageEvent], stage: str) -> str | None:
    """The model version ``stage`` names now, or None."""
    return next((v for v, stages in current(found).items() if stage in stages), None)


def staged_version(git: Git, stage: str) -> str:
    """The model version in ``stage``; raises when none is."""
    from cpv_hooks.errors import CheckpointNotFoundError

    version = holder(events(git), stage)
    if version is None:
        raise CheckpointNotFoundError(
            f"no model version is in stage {stage}", "stage one with `cpv model stage v0.3 prod`"
        )
    return version


def stage(
    root: Path,
    version: str,
    name: str,
    remove: bool = False,
    remote: str = "",
    dry_run: bool = False,
) -> str:
    """Assign model ``version`` to stage ``name`` (or end that assignment); returns the tag
    (with ``dry_run``, the tag it would make).

    The number is above every one of the stage here and on git ``remote`` (when given).
    """
    from cpv_hooks.tagging import read_manifest

    validate_name(name, "stage name")
    git = Git(root)
    manifest = read_manifest(git, version)
    if manifest.kind != "model":
        raise ValidationError(f"{version} is not a model version", "stage a tag like v0.3")
    found = events(git)
    now = holder(found, name)
    if remove and now != version:
        raise ValidationError(
            f"{version} is not in {name}", f"`cpv model info --tag {version}` shows its stages"
        )
    if not remove and now == version:
        raise ValidationError(f"{version} is already in {name}", "there is nothing to change")
    numbers = [e.number for e in found if e.stage == name] + [0]
    if remote:
        listed = git.run("ls-remote", "--tags", remote, f"refs/tags/{PREFIX}{name}/*")
        for line in filter(None, listed.split("\n")):
            parsed = parse_stage_tag(line.split("\t", 1)[1].removeprefix("refs/tags/"))
            numbers += [parsed[1]] if parsed else []
    event = StageEvent(
        name,
        max(numbers) + 1,
        version,
        manifest.commit,
        "remove" if remove else "assign",
        git.run("var", "GIT_COMMITTER_IDENT").rsplit(" ", 2)[0],
        _now(),
    )
    if dry_run:
        return event.tag
    body = json.dumps(asdict(event), indent=1)
    verb = "leaves" if remove else "enters"
    git.run(
        "tag", "-a", event.tag, "-F", "-", manifest.commit,
        input=f"cpv stage: {version} {verb} {name}\n\n{body}\n",
    )  # fmt: skip
    return event.tag


def _now() -> str:
    from cpv_hooks.config import now

    return now().isoformat(timespec="seconds")


def validate_pushed_stage(git: Git, name: str, obj: str, remote_obj: str) -> str | None:
    """Why the push of stage tag ``name`` must be refused, or None."""
    if remote_obj not in (ZERO_SHA, obj):
        return f"{name} is taken on the remote by a teammate: fetch, then stage again"
    if git.run("cat-file", "-t", obj) != "tag":
        return f"tag {name} is lightweight: delete it and use `cpv model stage`"
    commit = git.run("rev-parse", f"{obj}^{{commit}}")
    try:
        event = parse_event(name, git.run("cat-file", "tag", obj).split("\n\n", 1)[-1], commit)
    except ValidationError as exc:
        return str(exc)
    if not git.ok("rev-parse", "--verify", "-q", f"refs/tags/{event.version}") or (
        git.run("rev-parse", f"{event.version}^{{commit}}") != commit
    ):
        return f"tag {name} names {event.version}, which is not on its commit {commit[:8]}"
    return None
