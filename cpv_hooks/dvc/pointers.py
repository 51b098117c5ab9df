"""DVC pointer files (``*.dvc``): read any DVC version, write them as ``dvc add`` does.

A pointer is written through ruamel.yaml, DVC's own emitter, with DVC's settings, so quoting
(``'#best.bin'``, ``'20240101'``) and unicode come out byte for byte as ``dvc add`` writes
them. Re-adding updates only the fields cpv owns (``md5``, ``size``, ``nfiles``, ``hash``,
``path``) in a round-trip load of the old file: comments, ``desc``, ``type``, ``labels``,
``meta``, ``remote``, cloud version ids and any other key stay as they were.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpv_hooks.dvc import safety
from cpv_hooks.errors import DVCError, ValidationError
from cpv_hooks.fsutil import atomic_write


@dataclass(frozen=True)
class Pointer:
    """The one output of a ``.dvc`` file.

    ``path`` is as written in the file: relative to the pointer's directory. ``legacy`` marks
    a DVC 2 pointer (an ``md5`` without ``hash: md5``): its objects live in the cache's old
    layout and text files were hashed with CRLF turned into LF. ``remote`` is the output's
    own ``remote:`` field, if any.
    """

    path: str
    md5: str
    size: int
    nfiles: int | None = None
    legacy: bool = False
    remote: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"md5": self.md5, "size": self.size}
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        return out


def parse_pointer(text: bytes | str, where: str) -> Pointer:
    """Parse a ``.dvc`` file of DVC 2 or 3; a hand-edited, truncated or crafted one raises."""
    try:
        return _output(safety.load_yaml_safe(text, where)["outs"][0], where)
    except (ValidationError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise _invalid(where, exc) from exc


def _output(out: Any, where: str) -> Pointer:
    """One ``outs`` entry (of a pointer or of ``dvc.lock``), checked."""
    if out.get("hash", "md5") != "md5":
        raise safety.refuse(where, f"unknown hash {safety.shown(out['hash'])}")
    nfiles = out.get("nfiles")
    remote = out.get("remote")
    return Pointer(
        safety.check_relpath(out["path"], f"{where} path"),
        safety.check_md5(out["md5"], where, allow_dir=True),
        safety.check_size(out.get("size", 0), f"{where} size"),
        safety.check_size(nfiles, f"{where} nfiles") if nfiles is not None else None,
        legacy="hash" not in out,
        remote=str(remote) if remote is not None else None,
    )


def _invalid(where: str, exc: Exception) -> DVCError:
    problem = exc.message if isinstance(exc, ValidationError) else repr(exc)
    return DVCError(
        f"{where} is not a valid DVC pointer ({problem})",
        f"restore it with `git checkout -- {where.split('@')[0]}` or re-add the artifact",
    )


def lock_out(text: bytes | str, path: str, where: str) -> Pointer | None:
    """The output ``path`` of a ``dvc.lock`` (a stage's ``outs`` entry), or None when no stage
    has it; a malformed entry raises as a malformed pointer does."""
    try:
        stages = safety.load_yaml_safe(text, where).get("stages") or {}
        for stage in stages.values():
            for out in stage.get("outs") or []:
                if out.get("path") == path:
                    return _output(out, where)
    except (ValidationError, TypeError, KeyError, AttributeError) as exc:
        raise _invalid(where, exc) from exc
    return None


def pointer_text(ptr: Pointer, old: str | None = None) -> str:
    """The ``.dvc`` file for ``ptr``, as ``dvc add`` writes it over ``old`` (or a new file).

    An unchanged DVC 2 pointer is kept as it is (DVC upgrades it only when the data changes).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if old is not None:
        try:
            current = parse_pointer(old, "the old pointer")
        except DVCError:
            current, old = None, None  # a broken or crafted pointer is replaced, never re-read
        if (
            current is not None
            and old is not None
            and current.legacy
            and ptr.legacy
            and (current.md5, current.size, current.nfiles) == (ptr.md5, ptr.size, ptr.nfiles)
        ):
            return old
    fields: dict[str, Any] = {"md5": ptr.md5, "size": ptr.size}
    if ptr.nfiles is not None:
        fields["nfiles"] = ptr.nfiles
    if not ptr.legacy:
        fields["hash"] = "md5"
    fields["path"] = ptr.path
    yaml = YAML()  # DVC's dumper: round-trip, block style (dvc/utils/serialize/_yaml.py)
    yaml.default_flow_style = False
    data: Any = None
    if old is not None:
        try:
            data = yaml.load(old)
        except YAMLError:
            data = None
    outs = data.get("outs") if isinstance(data, dict) else None
    if isinstance(outs, list) and outs and isinstance(outs[0], dict):
        out = outs[0]
        for key, value in fields.items():  # as DVC's apply_diff: keep order, new keys last
            out[key] = value
        if ptr.nfiles is None:
            out.pop("nfiles", None)
    else:
        data = {"outs": [fields]}
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def pointer_path(pointer: str) -> str:
    """The ``path:`` DVC writes in ``pointer`` (repo-relative): relative to its directory."""
    return posixpath.basename(pointer.removesuffix(".dvc"))


def ignore_artifact(root: Path, artifact: str) -> str:
    """Add ``artifact`` to the ``.gitignore`` beside it, as ``dvc add`` does.

    The entry is anchored (``/name``) and escaped as a gitignore pattern (``model\\[1\\].bin``);
    an entry already present is not repeated. Returns the repo-relative ``.gitignore`` path.
    """
    from pathspec.patterns.gitwildmatch import GitWildMatchPattern

    parent = posixpath.dirname(artifact)
    rel = posixpath.join(parent, ".gitignore")
    entry = "/" + GitWildMatchPattern.escape(posixpath.basename(artifact))
    path = root / rel
    if path.is_symlink():  # git ignores such a file; cpv writes through no link
        raise ValidationError(f"{rel} is a symlink", "replace it by a regular file, then retry")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if f"{entry}\n" not in set(text.splitlines(keepends=True)):
        prefix = "" if not text or text.endswith("\n") else "\n"
        atomic_write(path, f"{text}{prefix}{entry}\n")
    return rel
