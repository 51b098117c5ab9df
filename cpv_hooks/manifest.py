"""The JSON manifest carried by every cpv tag, so listing and info need no checkout or S3."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from cpv_hooks.errors import ValidationError

SCHEMA = 1
_METRIC_RE = re.compile(
    r"([A-Za-z_][\w./-]*)(?:\s*[:=]\s*|\s+)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.])"
)
MAX_METRICS = 50


class ArtifactInfo(BaseModel):
    """One artifact at the tagged commit."""

    model_config = ConfigDict(extra="forbid")

    md5: str
    size: int
    nfiles: int | None = None
    store: str = "dvc"


class Manifest(BaseModel):
    """What a version tag records."""

    model_config = ConfigDict(extra="ignore")

    schema_: int = Field(default=SCHEMA, alias="schema")
    kind: str
    tag: str
    version: str
    commit: str
    author: str
    date: str
    message: str
    artifacts: dict[str, ArtifactInfo]
    metrics: dict[str, float] = {}

    def to_text(self) -> str:
        """The tag message: a human subject line, a blank line, then the JSON."""
        body = self.model_dump_json(by_alias=True, indent=1, exclude_none=True)
        return f"cpv {self.kind} {self.tag}: {self.message}\n\n{body}\n"


def parse_manifest(tag: str, text: str) -> Manifest:
    """The manifest in a tag message; a malformed one raises ValidationError."""
    start = text.find("\n{")
    try:
        if start < 0:
            raise ValueError("no JSON manifest")
        return Manifest.model_validate(json.loads(text[start + 1 :]))
    except (ValueError, PydanticError) as exc:
        raise ValidationError(
            f"tag {tag} has no valid cpv manifest",
            f"recreate it: `git tag -d {tag}` then commit again, or re-tag with `git tag -a`",
        ) from exc


def parse_metrics(text: str) -> dict[str, float]:
    """The last value of each metric in a log (``key: 0.9``, ``key=0.9``, ``key 0.9``, JSON)."""
    found: dict[str, float] = {}
    for line in text.splitlines()[-2000:]:
        line = line.strip()
        items: list[tuple[str, Any]] = []
        if line.startswith("{"):
            try:
                items = list(json.loads(line).items())
            except (ValueError, AttributeError):
                items = []
        if not items:
            items = _METRIC_RE.findall(line)
        for key, value in items:
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if key in found or len(found) < MAX_METRICS:
                found[key] = number
    return found
