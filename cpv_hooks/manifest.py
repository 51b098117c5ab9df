"""The JSON manifest carried by every cpv tag, so listing and info need no checkout or S3.

This is the schema the readers validate against; tagging.build_manifest writes it.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from cpv_hooks.errors import ValidationError
from cpv_hooks.tagging import MANIFEST_SCHEMA


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

    schema_: int = Field(default=MANIFEST_SCHEMA, alias="schema")
    kind: str
    tag: str
    version: str
    commit: str
    author: str
    date: str
    message: str
    artifacts: dict[str, ArtifactInfo]
    metrics: dict[str, float] = {}
    pruned: str = ""  # "<date> by <who>" when a retention gc deleted the data (pruned.py)


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
