"""DVC pointer files (``*.dvc``): read any DVC version, write them as ``dvc add`` does."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cpv_hooks.errors import DVCError

_MD5_RE = re.compile(r"^[0-9a-f]{32}(\.dir)?$")


@dataclass(frozen=True)
class Pointer:
    """The one output of a ``.dvc`` file."""

    path: str
    md5: str
    size: int
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def as_text(self) -> str:
        """The ``.dvc`` file, as ``dvc add`` writes it."""
        nfiles = f"  nfiles: {self.nfiles}\n" if self.nfiles is not None else ""
        return (
            f"outs:\n- md5: {self.md5}\n  size: {self.size}\n{nfiles}"
            f"  hash: md5\n  path: {self.path}\n"
        )

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"md5": self.md5, "size": self.size}
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        return out


def parse_pointer(text: bytes | str, where: str) -> Pointer:
    """Parse a ``.dvc`` file; a hand-edited or truncated one raises DVCError."""
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        out = data["outs"][0]
        md5 = str(out["md5"])
        if not _MD5_RE.match(md5):
            raise ValueError(f"bad md5 {md5!r}")
        nfiles = out.get("nfiles")
        return Pointer(
            str(out["path"]),
            md5,
            int(out.get("size", 0)),
            int(nfiles) if nfiles is not None else None,
        )
    except (yaml.YAMLError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise DVCError(
            f"{where} is not a valid DVC pointer ({exc})",
            f"restore it with `git checkout -- {where.split('@')[0]}` or re-add the artifact",
        ) from exc
