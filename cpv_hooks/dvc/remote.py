"""A DVC remote of a kind cpv does not talk to itself (gs, azure, ssh, http...).

Its bytes move through the file system of DVC's own plugin for it (``dvc-gs``,
``dvc-azure``...), built from the repo's DVC config with every option DVC reads, in DVC's
layout; what cannot be reached refuses as an S3 remote does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpv_hooks.dvc.cache import Obj
from cpv_hooks.errors import StorageError

_HINT = "check it with `dvc push -r {name}` (DVC's plugin for it must be installed), then retry"


@dataclass
class DVCRemote:
    """The remote ``name`` of the repo at ``root``, reached through DVC."""

    url: str
    root: Path
    name: str
    _fs: Any = field(default=None, repr=False)
    _base: str = field(default="", repr=False)

    def _refuse(self, what: str, exc: BaseException) -> StorageError:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        return StorageError(
            f"DVC could not {what} {self.url} ({detail})", _HINT.format(name=self.name)
        )

    def _call(self, what: str, fn: Callable[[Any, str], Any]) -> Any:
        if self._fs is None:
            try:
                from dvc.repo import Repo

                with Repo(str(self.root)) as repo:
                    remote = repo.cloud.get_remote(self.name)
                self._fs, self._base = remote.fs, remote.path
            except Exception as exc:  # DVC raises its own kinds (a plugin missing, bad config)
                raise self._refuse("open", exc) from exc
        try:
            return fn(self._fs, self._base)
        except FileNotFoundError:
            raise
        except Exception as exc:  # the plugin's own network and permission errors
            raise self._refuse(what, exc) from exc

    def _path(self, fs: Any, base: str, obj: Obj) -> str:
        return str(fs.join(base, *obj.key.split("/")))

    def sizes(self, objs: Sequence[Obj]) -> dict[str, int]:
        """Size on the remote of each object present there (md5 -> bytes)."""

        def look(fs: Any, base: str) -> dict[str, int]:
            out = {}
            for obj in objs:
                try:
                    out[obj.md5] = int(fs.size(self._path(fs, base, obj)))
                except FileNotFoundError:
                    continue
            return out

        return dict(self._call("look up objects on", look))

    def upload(self, src: Path, obj: Obj, progress: Callable[[int], None]) -> None:
        """Store ``src`` as ``obj`` under a temporary name first, then move it in place."""

        def put(fs: Any, base: str) -> None:
            dest = self._path(fs, base, obj)
            tmp = f"{dest}.cpv-tmp-{uuid.uuid4().hex}"
            fs.makedirs(fs.parent(dest))
            fs.put_file(str(src), tmp)
            fs.mv(tmp, dest)

        self._call("upload to", put)
        progress(src.stat().st_size)

    def remove(self, obj: Obj) -> None:
        """Delete ``obj`` (``cpv validate``'s probe)."""
        self._call("delete from", lambda fs, base: fs.remove(self._path(fs, base, obj)))

    def download(self, obj: Obj, dest: Path, progress: Callable[[int], None]) -> str | None:
        """Write ``obj`` to ``dest`` (the caller verifies its md5)."""
        try:
            self._call(
                "download from", lambda fs, base: fs.get_file(self._path(fs, base, obj), str(dest))
            )
        except FileNotFoundError as exc:
            raise StorageError(
                f"object {obj.md5} is not on the remote {self.url}",
                "push it from the clone that has it (git push)",
            ) from exc
        progress(dest.stat().st_size)
        return None
