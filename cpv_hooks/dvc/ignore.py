"""What DVC collects under a tracked directory: ``.dvcignore`` rules and DVC's own ignores.

As in dvc/ignore.py: every ``.dvcignore`` from the repo's top down to the directory holding
the artifact adds gitignore patterns (pathspec's, as DVC uses), each relative to its own
directory, a later matching pattern overriding an earlier one; ``.git``, ``.git/``, ``.hg/``
and ``.dvc/`` are always ignored; a ``.dvcignore`` inside the tracked directory is refused
(dvc_data's IgnoreInCollectedDirError); a symlink to a directory is skipped, a symlink to a
file is collected as the file it points to. pathspec is imported only when a ``.dvcignore``
exists, so the hooks' no-op path stays light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cpv_hooks.errors import ValidationError

IGNORE_FILE = ".dvcignore"
_DEFAULTS = {".git", ".hg", ".dvc"}  # the names DVC's default patterns may ignore


@dataclass(frozen=True)
class Rule:
    """One pattern of a ``.dvcignore``: where it applies and what it does."""

    base: str  # repo-relative directory of its .dvcignore ("" at the top)
    regex: re.Pattern[str]
    ignore: bool  # False for a negated ("!") pattern
    dir_only: bool


@dataclass
class Rules:
    """The ignore rules in force for one artifact."""

    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path, artifact: str) -> Rules:
        """The rules of every ``.dvcignore`` from ``root`` down to ``artifact``'s directory."""
        parts = artifact.split("/")[:-1]
        rules: list[Rule] = []
        for depth in range(len(parts) + 1):
            base = "/".join(parts[:depth])
            path = root / base / IGNORE_FILE
            if path.is_file():
                rules += _parse(path.read_text(encoding="utf-8"), base)
        return cls(rules)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """True when DVC ignores the repo-relative path ``rel``."""
        name = rel.rpartition("/")[2]
        if name == ".git" or (is_dir and name in _DEFAULTS):
            return True  # DVC's default patterns: .hg/ .git/ .git .dvc/
        result = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.base and not rel.startswith(rule.base + "/"):
                continue
            path = rel[len(rule.base) + 1 :] if rule.base else rel
            if rule.regex.match(path) or (is_dir and rule.regex.match(path + "/")):
                result = rule.ignore
        return result


def _parse(text: str, base: str) -> list[Rule]:
    lines = [ln for ln in map(str.strip, text.splitlines()) if ln and not ln.startswith("#")]
    if not lines:
        return []  # `dvc init`'s .dvcignore holds only comments: no need for pathspec
    try:
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as Pattern
    except ImportError:  # pathspec < 1, as DVC falls back too
        from pathspec.patterns.gitwildmatch import GitWildMatchPattern as Pattern
    rules = []
    for line in lines:
        regex, ignore = Pattern.pattern_to_regex(line)
        if regex is not None and ignore is not None:
            rules.append(Rule(base, re.compile(regex), bool(ignore), line.endswith("/")))
    return rules


def walk(
    root: Path, artifact: str, rules: Rules | None = None, links: list[str] | None = None
) -> Iterator[tuple[str, os.stat_result]]:
    """The files DVC collects under the directory ``root/artifact``: (relative path, stat).

    ``links``, when given, receives the relative path of every symlink met on the way,
    ignored ones included (the walk never descends into a linked or an ignored directory).
    """
    rules = rules if rules is not None else Rules.load(root, artifact)
    yield from _walk(str(root / artifact), artifact, "", rules, links)


def _walk(
    base: str, artifact: str, prefix: str, rules: Rules, links: list[str] | None
) -> Iterator[tuple[str, os.stat_result]]:
    with os.scandir(f"{base}/{prefix}" if prefix else base) as it:
        entries = list(it)
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if links is not None and entry.is_symlink():
            links.append(rel)
        is_dir = entry.is_dir()  # follows a symlink
        if (rules.rules or entry.name in _DEFAULTS) and rules.ignored(f"{artifact}/{rel}", is_dir):
            continue
        if entry.name == IGNORE_FILE and not is_dir:
            parent, _, name = artifact.rpartition("/")
            raise ValidationError(
                f"{artifact}/{rel} is inside the tracked directory {artifact}, "
                "where DVC refuses a .dvcignore",
                f"move its patterns to {parent or '.'}/{IGNORE_FILE} (as {name}/{prefix}<pattern>)",
            )
        if is_dir:
            if not entry.is_symlink():  # DVC skips a symlink to a directory
                yield from _walk(base, artifact, rel + "/", rules, links)
            continue
        try:
            yield rel, entry.stat()
        except FileNotFoundError:
            continue  # a dangling symlink: nothing to collect
