"""Version tags: ``v{major}.{minor}`` for models, ``data-v{major}.{minor}`` for training data.

A commit message may steer the next version with one directive:
``[cpv major]`` (next major, e.g. v1.3 -> v2.0), ``[cpv v2.5]`` (that exact version) or
``[cpv skip]`` (no tag for this commit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cpv_hooks.errors import ValidationError

Kind = Literal["model", "data"]
KINDS: tuple[Kind, ...] = ("model", "data")
PREFIX: dict[Kind, str] = {"model": "v", "data": "data-v"}
FIRST = (0, 1)

_NUMBER = r"(0|[1-9][0-9]{0,5})"
_VERSION_RE = re.compile(rf"^v{_NUMBER}\.{_NUMBER}$")
# v1, V1.0, v-1.0, data-v1, data-1.0, 1.0, 2026: what a user who meant a version might type
_LOOKS_LIKE_RE = re.compile(r"^(?:(?:data-)?[vV][-0-9.]|(?:data-)?[0-9]+(?:\.[0-9]+)*$)")
_DIRECTIVE_RE = re.compile(r"\[cpv\s+([^\]]*)\]", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Version:
    """A ``major.minor`` version; ordering is numeric (v0.10 > v0.9)."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}"

    def tag(self, kind: Kind) -> str:
        """The git tag name of this version for ``kind``."""
        return f"{PREFIX[kind]}{self.major}.{self.minor}"

    def next_minor(self) -> Version:
        return Version(self.major, self.minor + 1)

    def next_major(self) -> Version:
        return Version(self.major + 1, 0)


def parse_version(text: str) -> Version:
    """Parse ``v1.2``; anything else raises ValidationError naming the fix."""
    match = _VERSION_RE.match(text)
    if not match:
        raise ValidationError(
            f"'{text}' is not a cpv version",
            "use v{major}.{minor} without leading zeros, e.g. v1.0",
        )
    return Version(int(match.group(1)), int(match.group(2)))


def parse_tag(name: str) -> tuple[Kind, Version] | None:
    """The kind and version of a cpv tag name, or None when the name is not a cpv tag."""
    kind: Kind = "data" if name.startswith(PREFIX["data"]) else "model"
    rest = name[len(PREFIX[kind]) :] if name.startswith(PREFIX[kind]) else None
    match = _VERSION_RE.match(f"v{rest}") if rest is not None else None
    return (kind, Version(int(match.group(1)), int(match.group(2)))) if match else None


def looks_like_cpv_tag(name: str) -> bool:
    """True for names in cpv's namespaces, valid or not (``v1``, ``data-v1.0.0``, ``1.0``...)."""
    return bool(_LOOKS_LIKE_RE.match(name))


def suggest(name: str) -> str | None:
    """The cpv version a version-looking tag name probably meant (``1.0`` -> ``v1.0``)."""
    numbers = [int(n) for n in re.findall(r"[0-9]+", name)[:2] if len(n) <= 6]
    if not numbers:
        return None
    version = Version(numbers[0], numbers[1] if len(numbers) > 1 else 0)
    version = max(version, Version(*FIRST))
    return version.tag("data" if name.lower().startswith("data") else "model")


def name_problem(name: str) -> str | None:
    """Why tag ``name`` may not be pushed as it is spelled, or None (a version or no version)."""
    parsed = parse_tag(name)
    if parsed is not None:
        if parsed[1] >= Version(*FIRST):
            return None
        first = Version(*FIRST).tag(parsed[0])
        return f"tag {name} is below the first version {first}: did you mean {first}?"
    if not looks_like_cpv_tag(name):
        return None
    meant = suggest(name)
    guess = f"did you mean {meant}? " if meant and meant != name else ""
    return (
        f"tag {name} is not a cpv version: {guess}use v{{major}}.{{minor}} "
        f"(data: data-v{{major}}.{{minor}}); delete it with `git tag -d {name}`"
    )


def tag_for(kind: Kind, text: str) -> str:
    """Accept ``v1.2`` or the full tag name (``data-v1.2``) and return the tag name."""
    if kind == "data":
        text = text.removeprefix("data-")
    return parse_version(text).tag(kind)


def latest(tags: Iterable[str], kind: Kind) -> Version | None:
    """The highest version of ``kind`` among tag names."""
    found = [v for k, v in filter(None, map(parse_tag, tags)) if k == kind]
    return max(found, default=None)


@dataclass(frozen=True)
class Directive:
    """What a commit message asks of versioning."""

    skip: bool = False
    major: bool = False
    explicit: Version | None = None


def parse_directive(message: str) -> Directive:
    """Read the ``[cpv ...]`` directive of a commit message (the first one counts)."""
    match = _DIRECTIVE_RE.search(message)
    if not match:
        return Directive()
    word = match.group(1).strip().lower()
    if word == "skip":
        return Directive(skip=True)
    if word == "major":
        return Directive(major=True)
    return Directive(explicit=parse_version(word))


def next_version(existing: Iterable[str], kind: Kind, directive: Directive) -> Version:
    """The version the next ``kind`` tag gets, given the existing tag names."""
    names = set(existing)
    top = latest(names, kind)
    if directive.explicit is not None:
        wanted = directive.explicit
        if top is not None and wanted <= top:
            raise ValidationError(
                f"{wanted.tag(kind)} is not above the latest {top.tag(kind)}",
                f"ask for a higher version, e.g. {top.next_minor()}",
            )
        return wanted
    if top is None:
        return Version(1, 0) if directive.major else Version(*FIRST)
    return top.next_major() if directive.major else top.next_minor()
