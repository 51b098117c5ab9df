"""The one gate for data-borne input: pointers, listings, manifests, ``.cpv.yaml``, tag names.

Anything a teammate (or a fork) can push is checked here before cpv touches the file system:
md5 values, relative paths, sizes, and the YAML and JSON documents that carry them. Each
check raises a one-line ValidationError naming the entry, so nothing is written, deleted or
uploaded on bad input.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path, PurePosixPath
from typing import Any

from cpv_hooks.errors import ValidationError

MAX_SIZE = 1 << 50  # 1 PiB: any real artifact is smaller
MAX_YAML = 1 << 20  # pointers and .cpv.yaml are a few hundred bytes
MAX_JSON = 1 << 28  # a .dir listing of a few million files
MAX_DEPTH = 32  # listings are 2 deep, manifests 3
_MD5 = re.compile(r"[0-9a-f]{32}")
_DRIVE = re.compile(r"^[A-Za-z]:")
_RESERVED = {".git", ".dvc"}
_HINT = "the repo holds crafted or corrupt content: ask who pushed it, fix it in git"


def refuse(where: str, problem: str, hint: str = _HINT) -> ValidationError:
    """The one-line error of this gate (``where``: the file or entry, ``problem``: what)."""
    return ValidationError(f"{where}: {problem}", hint)


def shown(value: object, limit: int = 60) -> str:
    """``value`` quoted for an error message, control characters escaped, long ones cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_md5(value: object, where: str, allow_dir: bool = False) -> str:
    """``value`` if it is 32 lowercase hex digits (with ``.dir`` when ``allow_dir``)."""
    if isinstance(value, str):
        digest = value.removesuffix(".dir") if allow_dir else value
        if _MD5.fullmatch(digest):
            return value
    raise refuse(where, f"md5 {shown(value)} is not 32 hex digits")


def check_relpath(rel: object, where: str) -> str:
    """``rel`` if it is a relative, normalised path inside its base (``a/b``, never ``../b``).

    Refused: absolute paths, ``.``/``..``/empty parts, NUL, anything under ``.git`` or
    ``.dvc``, and where Windows reads them so, drives (``C:``) and back-slashes (elsewhere
    both are ordinary characters of a file name, which DVC versions too).
    """
    if not isinstance(rel, str) or not rel:
        raise refuse(where, f"path {shown(rel)} is not a relative path")
    parts = rel.split("/")
    problem = (
        "is absolute"
        if rel.startswith("/") or (_DRIVE.match(rel) and os.sep == "\\")
        else "has a NUL or back-slash"
        if "\0" in rel or ("\\" in rel and os.sep == "\\")
        else "is not normalised (empty, '.' or '..' part)"
        if any(p in ("", ".", "..") for p in parts)
        else "is under .git or .dvc"
        if any(p.lower() in _RESERVED for p in parts)
        else ""
    )
    if problem:
        raise refuse(where, f"path {shown(rel)} {problem}")
    return rel


def resolve_inside(root: Path, rel: str, where: str) -> Path:
    """``root/rel`` after checking ``rel`` and that it resolves (links included) inside ``root``."""
    check_relpath(rel, where)
    base = root.resolve()
    target = (base / PurePosixPath(rel)).resolve()
    if not target.is_relative_to(base):
        raise refuse(
            where,
            f"{rel} leads outside the repo (to {target}) through a symlink",
            "replace the symlink by a real directory or file inside the repo",
        )
    return root / rel


def check_size(value: object, where: str) -> int:
    """``value`` if it is an integer from 0 to 1 PiB (never a float, bool or string)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SIZE:
        return value
    raise refuse(where, f"size {shown(value)} is not a whole number of bytes up to 1 PiB")


def _check_length(text: str | bytes, where: str, limit: int) -> None:
    if len(text) > limit:
        raise refuse(where, f"is {len(text)} bytes, over the limit of {limit}")


def load_yaml_safe(text: str | bytes, where: str, limit: int = MAX_YAML) -> Any:
    """Parse YAML with the safe loader, refusing aliases (billion laughs) and big documents."""
    import yaml

    _check_length(text, where, limit)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
            raise refuse(where, "uses YAML aliases (*name), which cpv does not read")
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise refuse(where, f"is not valid YAML ({' '.join(str(exc).split())})") from exc


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (strings ignored)."""
    brackets = re.sub(r'"(?:[^"\\]|\\.)*"|[^\[\]{}"]+|"', "", text)  # runs at once
    steps = (1 if c in "[{" else -1 for c in brackets)
    return max(accumulate(steps, initial=0))


def loads_json_limited(
    text: str | bytes, where: str, limit: int = MAX_JSON, depth: int = MAX_DEPTH
) -> Any:
    """Parse JSON after checking its size and nesting (no RecursionError, no memory blow-up)."""
    _check_length(text, where, limit)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    if text.count("[") + text.count("{") > depth and json_depth(text) > depth:  # count first
        raise refuse(where, f"nests deeper than {depth} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise refuse(where, f"is not valid JSON ({exc})") from exc


def links_out(base: Path, root: Path) -> Iterator[tuple[Path, Path]]:
    """Each symlink at or under ``base`` whose target resolves outside ``root``, and its target."""
    top = Path(os.path.realpath(root))
    paths = [base]
    if base.is_dir() and not base.is_symlink():
        for dirpath, dirnames, filenames in os.walk(base):  # never descends into links
            paths += [Path(dirpath, name) for name in dirnames + filenames]
    for path in paths:
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(top):
                yield path, target
