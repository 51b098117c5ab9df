"""The JSON manifest carried by every cpv tag, so listing and info need no checkout or S3.

This is the schema the readers validate against; tagging.build_manifest writes it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from cpv_hooks.dvc.safety import loads_json_limited
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


def parse_manifest(tag: str, text: str, commit: str | None = None) -> Manifest:
    """The manifest in a tag message (or its body); a malformed one raises ValidationError.

    So does one that names another tag, or another commit than ``commit`` (the one the tag
    points at): a manifest copied from another version must not list as that version.
    """
    text = text.split("\n-----BEGIN ", 1)[0]  # a signed tag's signature follows the message
    start = 0 if text.startswith("{") else text.find("\n{") + 1
    try:
        manifest = Manifest.model_validate(loads_json_limited(text[start:], f"tag {tag}"))
    except (ValueError, PydanticError, ValidationError) as exc:
        raise ValidationError(
            f"tag {tag} has no valid cpv manifest",
            f"recreate it: `git tag -d {tag}` then commit again, or re-tag with `git tag -a`",
        ) from exc
    if manifest.tag != tag or (commit is not None and manifest.commit != commit):
        raise ValidationError(
            f"tag {tag} at {(commit or '?')[:10]} carries the manifest of "
            f"{manifest.tag} at {manifest.commit[:10]}: it was copied, not made by cpv",
            f"delete it (`git tag -d {tag}`, `git push origin :refs/tags/{tag}`) and ask "
            "who pushed it",
        )
    return manifest
