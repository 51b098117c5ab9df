"""Declaring what a model repo versions: ``cpv track`` and ``cpv untrack`` edit ``.cpv.yaml``.

The file is edited as a YAML round-trip (the user's comments and order stay) and checked by
the same gate that reads it before it is written. A model may be a directory (a Hugging Face
style folder); it is versioned, pushed and checked out as ``data/`` is.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpv_hooks.adopt import track_check
from cpv_hooks.errors import RepositoryError, ValidationError
from cpv_hooks.fsutil import atomic_write
from cpv_hooks.repo import (
    REPO_CONFIG,
    Artifact,
    Git,
    find_root,
    load_repo_config,
    parse_repo_config,
)
from cpv_hooks.versions import Kind


@dataclass(frozen=True)
class Declared:
    """What ``track``/``untrack`` changed (or, in a dry run, would change)."""

    artifact: Artifact
    staged: list[str]  # paths staged for the next commit


def repo_path(root: Path, path: Path | str) -> str:
    """``path`` (relative to the current directory, or absolute) as a repo-relative path."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, root)
    if rel == "." or rel.startswith(".."):
        raise ValidationError(f"{path} is not inside the repo {root}", "name a path in the repo")
    return Path(rel).as_posix()


def track(path: Path | str, kind: Kind, dry_run: bool = False) -> Declared:
    """Version ``path`` as a ``kind`` artifact from the next commit: declare it in
    ``.cpv.yaml``, make its pointer and ``.gitignore`` entry, stage them."""
    from cpv_hooks.workspace import Workspace

    root = find_root(path if Path(path).is_dir() else Path(path).parent)
    rel = repo_path(root, path)
    config = _cpv_config(root)
    for art in config.artifacts:
        if rel == art.path or rel.startswith(art.path + "/") or art.path.startswith(rel + "/"):
            raise ValidationError(
                f"{rel} overlaps {art.path}, which cpv already versions",
                f"`cpv untrack {art.path}` first, or name another path",
            )
    git = Git(root)
    tracked = set(filter(None, git.run("ls-files", "-z", "--", rel).split("\0")))
    art = track_check(root, rel, kind, tracked, "cpv track").artifact
    doc = _edit(root, lambda arts: arts.append(_entry(art)), config.artifacts)
    staged = [REPO_CONFIG, art.pointer, art.gitignore]
    if dry_run:
        return Declared(art, staged)
    atomic_write(root / REPO_CONFIG, doc)
    Workspace(root, git).add([art])
    git.run("add", "--", *staged)
    return Declared(art, staged)


def untrack(path: Path | str, dry_run: bool = False) -> Declared:
    """Stop versioning ``path`` with cpv: its entry leaves ``.cpv.yaml``; its pointer and its
    data stay as they are (plain DVC still tracks it; ``dvc remove`` drops the pointer)."""
    root = find_root(path if Path(path).is_dir() else Path(path).parent)
    rel = repo_path(root, path)
    config = _cpv_config(root)
    found = [a for a in config.artifacts if a.path == rel]
    if not found:
        raise ValidationError(
            f"cpv does not version {rel}", f"see the artifacts listed in {REPO_CONFIG}"
        )

    def drop(arts: Any) -> None:
        for item in [a for a in arts if str(a.get("path", "")).rstrip("/") == rel]:
            arts.remove(item)

    doc = _edit(root, drop, config.artifacts)
    if not dry_run:
        atomic_write(root / REPO_CONFIG, doc)
        Git(root).run("add", "--", REPO_CONFIG)
    return Declared(found[0], [REPO_CONFIG])


def _cpv_config(root: Path) -> Any:
    config = load_repo_config(root)
    if not config.team:
        raise RepositoryError(f"{root} has no {REPO_CONFIG}", "run `cpv init` in it first")
    return config


def _entry(art: Artifact) -> Any:
    """A flow-style ``{path: ..., kind: ..., store: ...}`` entry, as the template writes them."""
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap(path=art.path, kind=art.kind, store=art.store)
    entry.fa.set_flow_style()
    return entry


def _edit(root: Path, change: Any, current: tuple[Artifact, ...]) -> str:
    """``.cpv.yaml`` with ``change`` applied to its ``artifacts`` list, checked by the gate."""
    from ruamel.yaml import YAML

    path = root / REPO_CONFIG
    yaml = YAML()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    if not isinstance(doc.get("artifacts"), list):  # the defaults were in force: write them
        doc["artifacts"] = [_entry(a) for a in current]
    change(doc["artifacts"])
    if not doc["artifacts"] and not doc.get("adopted"):
        raise ValidationError(
            f"{REPO_CONFIG} would list no artifact, and cpv would go back to its defaults",
            "track another path first",
        )
    stream = io.StringIO()
    yaml.dump(doc, stream)
    text = stream.getvalue()
    parse_repo_config(text, path)
    return text
