"""The Python API of the design: model, data and combined checkpoints of one model repo.

It drives the same code as the git hooks (``workspace``, ``tagging``, ``push``), so a
training script or a notebook gets the same versions without knowing git.

    m = ModelsCheckpointsManage("vision", "resnet50", repo_path="...")
    tag = m.upload_model_checkpoint("runs/42/model.bin", metrics={"acc": 0.91})
    art = m.load_model("v0.3")      # ModelArtifacts: local path, md5 verified, metadata
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpv_hooks import config as cfg
from cpv_hooks.dvc.cache import Cache, file_md5
from cpv_hooks.dvc.pointers import Pointer, parse_pointer
from cpv_hooks.dvc.safety import links_out, resolve_inside
from cpv_hooks.errors import (
    CheckpointNotFoundError,
    GitError,
    RepositoryError,
    ValidationError,
)
from cpv_hooks.fsutil import remove
from cpv_hooks.heal import Healed, heal, heal_unpushed_parents
from cpv_hooks.pruned import explained
from cpv_hooks.push import PushResult, RefUpdate, publish, push_branch
from cpv_hooks.repo import (
    REPO_CONFIG,
    ZERO_SHA,
    Artifact,
    Git,
    last_line,
    load_repo_config,
    validate_name,
)
from cpv_hooks.stale import RollbackGuard
from cpv_hooks.storage import DISK_FULL, cache_dir, disk_full, export, open_remote
from cpv_hooks.tagging import read_manifest, read_manifests, signature, tag_commit
from cpv_hooks.versions import Directive, Kind, latest, parse_version, tag_for
from cpv_hooks.workspace import Workspace

if TYPE_CHECKING:
    from cpv_hooks.manifest import Manifest

log = logging.getLogger("cpv")
NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")  # the API does the hooks' work in-process


@dataclass
class Options:
    """The kwargs every API method takes (seeds, section 6)."""

    verbose: bool = False
    dry_run: bool = False
    force: bool = False
    use_cache: bool = True
    push: bool = True
    repo_path: str | Path | None = None
    working_dir: str | Path | None = None
    log_file: str | Path | None = None
    paths: tuple[str, ...] = ()  # downloads: only the files of a directory matching these
    notify: bool | None = None  # pushes: announce new versions (None: when a webhook is set)

    @classmethod
    def of(cls, base: Options | None = None, **kwargs: Any) -> Options:
        known = {k: v for k, v in kwargs.items() if k in cls.__dataclass_fields__}
        unknown = set(kwargs) - set(known) - {"output_dir", "repo_url", "message", "version_tag"}
        if unknown:
            raise ValidationError(
                f"unknown option(s) {', '.join(sorted(unknown))}",
                f"use {', '.join(cls.__dataclass_fields__)}",
            )
        merged = dict(base.__dict__) if base else {}
        merged.update(known)
        return cls(**merged)


@dataclass
class ModelArtifacts:
    """A model version on this machine: ``path`` holds bytes whose md5 was verified."""

    tag: str
    path: Path
    md5: str
    size: int
    metrics: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataArtifacts:
    """A data version on this machine: ``path`` is a directory of md5-verified files."""

    tag: str
    path: Path
    md5: str
    size: int
    nfiles: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What an operation did, or would do under ``dry_run``."""

    action: str
    tags: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    upload_objects: int = 0
    dry_run: bool = False
    healed: list[str] = field(default_factory=list)  # versions given to earlier commits
    warnings: list[str] = field(default_factory=list)  # failed notifications


class _Checkpoints:
    """What the model, data and combined managers share."""

    kinds: tuple[Kind, ...] = ("model", "data")

    def __init__(self, team_name: str, model_name: str, **kwargs: Any) -> None:
        self.team_name = validate_name(team_name, "team name")
        self.model_name = validate_name(model_name, "model name")
        self.options = Options.of(**kwargs)
        base = Path(self.options.working_dir or os.getcwd())
        self.repo_path = Path(self.options.repo_path or base / model_name).expanduser().resolve()
        self.last_plan: Plan | None = None
        _setup_logging(self.options)

    # -- plumbing ---------------------------------------------------------------------

    def _opts(self, kwargs: dict[str, Any]) -> Options:
        opts = Options.of(self.options, **kwargs)
        _setup_logging(opts)
        return opts

    @property
    def git(self) -> Git:
        root = self.repo_path
        if not (root / ".git").exists():
            raise RepositoryError(
                f"{root} is not a cpv model repo",
                "create it with import_model_init() / `cpv init`, or pass repo_path",
            )
        conf = load_repo_config(root)
        if (conf.team, conf.model) not in (("", ""), (self.team_name, self.model_name)):
            raise RepositoryError(
                f"{root} holds {conf.team}/{conf.model}, not {self.team_name}/{self.model_name}",
                "pass the right repo_path",
            )
        return Git(root)

    def _workspace(self) -> Workspace:
        return Workspace(self.repo_path, self.git)

    def _tag(self, kind: Kind, tag: str | None) -> str:
        """The full tag name of ``kind`` for a version (None: the latest)."""
        git = self.git
        if tag is None:
            top = latest(git.tags(), kind)
            if top is None:
                raise CheckpointNotFoundError(
                    f"there is no {kind} version yet", f"upload one with `cpv {kind} upload`"
                )
            return top.tag(kind)
        name = tag_for(kind, tag)
        if name not in git.tags():
            raise CheckpointNotFoundError(
                f"there is no {kind} version {name}", f"list versions with `cpv {kind} list-tags`"
            )
        return name

    def _check_version(self, kind: Kind, version_tag: str | None) -> None:
        """Refuse a bad explicit version before anything is touched."""
        if version_tag:
            _next(self.git.tags(), kind, Directive(explicit=parse_version(version_tag)))

    def _artifacts(self, kind: Kind) -> tuple[Artifact, ...]:
        return tuple(a for a in load_repo_config(self.repo_path).of_kind(kind) if a.store == "dvc")

    def _pointer_at(self, ref: str, art: Artifact, git: Git | None = None) -> Pointer:
        git = git or self.git
        spec = f"{ref}:{art.pointer}"
        data = git.read_blobs([spec]).get(spec)
        if data is None:
            raise CheckpointNotFoundError(
                f"{art.pointer} does not exist at {ref}", "pick a version that has it (list-tags)"
            )
        return parse_pointer(data, f"{art.pointer}@{ref}")

    # -- reading ----------------------------------------------------------------------

    def list_tags(self, kind: Kind) -> list[str]:
        """Version tags of ``kind``, lowest first."""
        return [m.tag for m in read_manifests(self.git, kind)]

    def versions(self, kind: Kind | None = None) -> list[Manifest]:
        """The manifests of every version (of ``kind``), from the tags alone."""
        return read_manifests(self.git, kind)

    def metadata(self, kind: Kind, tag: str | None) -> dict[str, Any]:
        """Date, author, message, sizes, hashes, metrics and signature state of a version."""
        name = self._tag(kind, tag)
        meta = read_manifest(self.git, name).model_dump(by_alias=True)
        meta["signature"] = signature(self.git, name)
        if kind == "model":
            from cpv_hooks.stages import current, events

            meta["stages"] = current(events(self.git)).get(name, [])
        else:
            models = read_manifests(self.git, "model")
            meta["trained"] = [m.tag for m in models if m.data and m.data.tag == name]
        return meta

    def export(
        self,
        kind: Kind,
        tag: str | None,
        output_dir: str | Path | None,
        repo_url: str | None = None,
        **kwargs: Any,
    ) -> list[tuple[Path, Pointer, str]]:
        """Write the artifacts of a version to ``output_dir`` without touching the work tree."""
        opts = self._opts(kwargs)
        if repo_url:
            return export_from_url(repo_url, kind, tag, output_dir, opts)
        name = self._tag(kind, tag)
        out = _output_dir(output_dir, opts.dry_run)
        done = []
        for art in self._artifacts(kind):
            ptr = self._pointer_at(name, art)
            dest = out / art.path
            _check_free(dest, opts.force)
            self._check_not_unsaved(art, dest)
            if not opts.dry_run:
                if dest.exists() and dest.is_dir() != ptr.is_dir:
                    _remove(dest)  # a file where a directory goes, or the reverse
                with explained(self.git, tag=name):
                    export(
                        ptr,
                        dest,
                        Cache(cache_dir(self.repo_path)),
                        functools.partial(open_remote, self.repo_path, ptr.remote),
                        opts.use_cache,
                        opts.paths,
                    )
            done.append((dest, ptr, name))
        log.info("exported %s to %s", name, out)
        return done

    def _check_not_unsaved(self, art: Artifact, dest: Path) -> None:
        """Refuse to download over the work tree's copy of ``art`` when it holds unsaved work."""
        here = self.repo_path / art.path
        if dest.resolve() == here.resolve() and not self._workspace().is_saved(art):
            raise ValidationError(
                f"{art.path} has changes that are not committed",
                "commit them first, or download elsewhere with -o DIR",
            )

    # -- writing ----------------------------------------------------------------------

    def commit_version(
        self,
        kind: Kind | None,
        message: str,
        version_tag: str | None,
        opts: Options,
        placed: tuple[Artifact, ...] = (),
        noop_ok: bool = False,
    ) -> Plan:
        """Commit what changed in the work tree as the next version(s), tag, upload, push."""
        ws = self._workspace()
        git = ws.git
        if git.run("symbolic-ref", "-q", "HEAD", check=False) == "":
            raise GitError(
                "HEAD is detached (a version is checked out)",
                "check out your branch first, e.g. `git checkout main`",
            )
        directive = Directive(explicit=parse_version(version_tag)) if version_tag else Directive()
        with ws.locked():
            changed, stale = ws.changed()
            if stale and not opts.dry_run:
                ws.sync(only=stale)
            scope = [a for a in ws.config.artifacts if kind is None or a.kind == kind]
            changed = [a for a in changed if a in scope] + [a for a in placed if a not in changed]
            ws.check_artifacts([a for a in changed if (ws.root / a.path).exists()])
            plan = Plan("commit", changed=[a.path for a in changed], dry_run=opts.dry_run)
            if opts.dry_run:
                kinds = sorted({a.kind for a in changed} | ({kind} if kind else set()))
                plan.tags = [_next(git.tags(), k, directive) for k in kinds]
                return plan
            ws.add(changed, check=RollbackGuard(git, skip=placed))
            paths = [a.pointer for a in scope if (ws.root / a.pointer).exists()]
            paths += ws.gitignores(a for a in changed if a.store == "dvc")
            git.run("add", "--", *paths)
            pending = git.run("diff", "--cached", "--name-only", "HEAD", "--", *paths).split()
            if not pending:
                # nothing new: version HEAD itself if it has no tag of that kind yet
                plan.tags = tag_commit(ws.root, "HEAD", directive, kinds=[kind] if kind else None)
                if not plan.tags and not noop_ok:
                    what = ", ".join(a.path for a in scope)
                    raise ValidationError(
                        f"nothing changed since the last version ({what})",
                        "write the new model or data first, or give its path",
                    )
            else:
                for k in {a.kind for a in scope if a.pointer in pending}:
                    _next(git.tags(), k, directive)  # a bad version fails before any commit
                commit = ["commit", "-q", "-m", message, "--", *pending]  # only these paths
                git.run(*NO_HOOKS, *git.identity_args(), *commit)
                plan.healed = [h.tag for h in heal_unpushed_parents(ws.root)]
                plan.tags = tag_commit(ws.root, "HEAD", directive)
        if opts.push:
            pushed = self._publish(plan.tags, opts.notify)
            plan.upload_objects, plan.warnings = pushed.objects, pushed.warnings
        return plan

    def upload(
        self,
        kind: Kind,
        source: str | Path | None,
        metrics: dict[str, float] | None,
        kwargs: dict[str, Any],
    ) -> str:
        """Copy ``source`` in (and write metrics), then version it; returns the new tag."""
        opts = self._opts(kwargs)
        art = self._artifacts(kind)[0]
        self._check_version(kind, kwargs.get("version_tag"))
        with self._workspace().locked():  # copy in + commit: one step for other processes
            log = load_repo_config(self.repo_path).metrics
            log_path = resolve_inside(self.repo_path, log, f"{REPO_CONFIG} metrics")
            placed = (art,) if source is not None and self.place(art, source, opts) else ()
            if metrics is not None and not opts.dry_run:
                log_path.write_text("".join(f"{k}: {float(v)}\n" for k, v in metrics.items()))
            message = kwargs.get("message") or _message(kind, source, metrics)
            plan = self.commit_version(kind, message, kwargs.get("version_tag"), opts, placed)
        self.last_plan = plan
        return _made(plan, kind)

    def tag_current(
        self, kind: Kind, version_tag: str | None, message: str | None, kwargs: dict[str, Any]
    ) -> str:
        """Version what the work tree holds now; returns the new tag."""
        opts = self._opts(kwargs)
        text = message or f"{kind.capitalize()} checkpoint"
        self.last_plan = self.commit_version(kind, text, version_tag, opts)
        return _made(self.last_plan, kind)

    def heal(self, **kwargs: Any) -> list[Healed]:
        """Version every commit of HEAD's history that changed the model or data without
        getting its version (made before the hooks, or without them); nothing is pushed."""
        opts = self._opts(kwargs)
        with self._workspace().locked():
            return heal(self.repo_path, ["HEAD"], dry_run=opts.dry_run)

    def _publish(self, tags: list[str], notify: bool | None = None) -> PushResult:
        """Push the branch and its versions to origin, uploading the data of every commit the
        push sends; without origin, upload the data of ``tags`` (or HEAD) only."""
        git = self.git
        if "origin" in git.run("remote").split():
            branch = git.run("symbolic-ref", "--short", "HEAD")
            return push_branch(git.root, "origin", branch, notify)
        head = git.run("rev-parse", "HEAD")
        updates = [
            RefUpdate(f"refs/tags/{t}", git.run("rev-parse", t), f"refs/tags/{t}", ZERO_SHA)
            for t in tags
        ] or [RefUpdate("HEAD", head, "refs/heads/x", ZERO_SHA)]
        return publish(git.root, updates, "origin", notify=notify)

    def place(self, art: Artifact, source: str | Path, opts: Options) -> bool:
        """Copy ``source`` to where ``art`` lives, keeping unsaved work recoverable.

        Returns whether anything was (or, under dry_run, would be) replaced.
        """
        src = Path(source).expanduser().resolve()
        dest = resolve_inside(self.repo_path, art.path, art.path)
        if not src.exists():
            raise ValidationError(
                f"{src} does not exist", "give the path of the new file or directory"
            )
        for link, target in links_out(src, src):
            raise ValidationError(
                f"{link} is a symlink to {target}, outside {src}: cpv copies no file from there",
                "copy the file in instead of linking it, or remove the link",
            )
        if src == dest.resolve() or _same_file(src, dest):
            return False
        if art.is_dir(self.repo_path) != src.is_dir():
            want = "a directory" if art.is_dir(self.repo_path) else "a file"
            raise ValidationError(f"{src} is not {want}", f"{art.path} takes {want}")
        if art.kind == "model" and not src.is_dir():
            self._workspace().check_size(src, str(src))  # before anything is copied
        if opts.dry_run:
            return True
        self.keep_unsaved(art, opts)
        tmp = dest.with_name(f".cpv-tmp-{dest.name}")
        _remove(tmp)
        try:
            if src.is_dir():
                shutil.copytree(src, tmp, symlinks=False)
            else:
                shutil.copyfile(src, tmp)
        except OSError as exc:
            _remove(tmp)
            if exc.errno in DISK_FULL:
                raise disk_full(exc) from exc
            raise
        _remove(dest)
        os.replace(tmp, dest)
        return True

    def keep_unsaved(self, art: Artifact, opts: Options) -> None:
        """Refuse to replace unsaved work unless ``force``; with force, save it to the cache."""
        ws = self._workspace()
        if ws.is_saved(art):
            return
        if not opts.force:
            raise ValidationError(
                f"{art.path} has changes that are not versioned yet",
                "version them first, or pass --force (they are then set aside)",
            )
        kept = ws.set_aside(art)
        print(
            f"cpv: your unversioned {art.path} was moved to {kept}; bring it back with "
            f"`mv {kept} {self.repo_path / art.path}`",
            file=sys.stderr,
        )

    def revert(self, kinds: tuple[Kind, ...], tag: str, message: str | None, opts: Options) -> Plan:
        """Bring ``kinds`` back to version ``tag`` and commit that as a new version."""
        names = {k: self._tag(k, tag) for k in kinds}
        ws = self._workspace()
        arts = [a for a in ws.config.artifacts if a.kind in kinds]
        if opts.dry_run:
            changed = [a.path for a in arts]
            tags = [_next(ws.git.tags(), k, Directive()) for k in kinds]
            return Plan("revert", tags=tags, changed=changed, dry_run=True)
        with ws.locked():
            for art in arts:
                if art.store == "dvc":
                    self.keep_unsaved(art, opts)
            for art in arts:
                ref = names[art.kind]
                if ws.git.ok("cat-file", "-e", f"{ref}:{art.pointer}"):
                    ws.git.run(*NO_HOOKS, "checkout", ref, "--", art.pointer)
            report = Workspace(self.repo_path, ws.git).sync()
            if report.kept:
                raise ValidationError(
                    f"could not restore {', '.join(report.kept)}", "see the message above"
                )
            text = message or "Revert " + ", ".join(f"{k} to {n}" for k, n in names.items())
            return self.commit_version(None, text, None, Options.of(opts, force=True), noop_ok=True)


class ModelsCheckpointsManage(_Checkpoints):
    """Model checkpoints (``model.bin`` and ``metrics.log``) of one model repo."""

    kinds = ("model",)

    def import_model_init(self, data_path: str | Path | None = None, **kwargs: Any) -> None:
        """Create the model repo (the cpv template) at ``repo_path``.

        Template variables (``storage``, ``s3_bucket``, ``s3_region``, ``s3_endpoint_url``,
        ``aws_profile``, ``aws_credential_path``, ``dvc_remote_name``, ``git_remote_url``) may be
        passed as kwargs.
        """
        from cpv_hooks.scaffold import TEMPLATE_VARIABLES, create

        variables = {k: kwargs.pop(k) for k in list(kwargs) if k in TEMPLATE_VARIABLES}
        opts = self._opts(kwargs)
        if opts.dry_run:
            return
        create(
            self.team_name,
            self.model_name,
            self.repo_path,
            data_path=str(data_path) if data_path else None,
            **variables,
        )

    def upload_model_checkpoint(
        self,
        model_path: str | Path | None = None,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> str:
        """Version a model file (copied to model.bin) and its metrics; returns its tag."""
        return self.upload("model", model_path, metrics, kwargs)

    def tag_model_checkpoint(
        self, version_tag: str | None = None, message: str | None = None, **kwargs: Any
    ) -> str:
        """Version the current model.bin (dvc add, commit, tag); returns the tag."""
        return self.tag_current("model", version_tag, message, kwargs)

    def read_checkpoint_tag(self, **kwargs: Any) -> list[str]:
        """All model version tags, lowest first."""
        self._opts(kwargs)
        return self.list_tags("model")

    def download_model_checkpoint(self, tag: str | None = None, **kwargs: Any) -> ModelArtifacts:
        """Write a model version to ``output_dir`` (default: current dir) without a checkout."""
        repo_url = kwargs.pop("repo_url", None)
        dest, ptr, name = self.export(
            "model", tag, kwargs.pop("output_dir", None), repo_url, **kwargs
        )[0]
        meta = {} if repo_url else self.metadata("model", name)
        return ModelArtifacts(name, dest, ptr.md5, ptr.size, meta.get("metrics", {}), meta)

    def load_model(self, tag: str | None = None, **kwargs: Any) -> ModelArtifacts:
        """A verified local copy of a model version (read-only, in the DVC cache)."""
        opts = self._opts(kwargs)
        name = self._tag("model", tag)
        art = self._artifacts("model")[0]
        ptr = self._pointer_at(name, art)
        ws = self._workspace()
        cache = Cache(cache_dir(self.repo_path))
        if not (opts.use_cache and cache.has(ptr.md5)) or file_md5(cache.path(ptr.md5)) != ptr.md5:
            remove(cache.path(ptr.md5))
            ws.ensure_cached([ptr])
        meta = self.metadata("model", name)
        return ModelArtifacts(
            name, cache.path(ptr.md5), ptr.md5, ptr.size, meta.get("metrics", {}), meta
        )

    def revert_model_checkpoint(self, tag: str, **kwargs: Any) -> str:
        """Bring model.bin and metrics.log back to ``tag``, committed as a new version."""
        opts = self._opts(kwargs)
        plan = self.revert(("model",), tag, kwargs.get("message"), opts)
        self.last_plan = plan
        return plan.tags[0] if plan.tags else ""

    def get_model_metadata(self, tag: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Timestamp, author, message, size, hash and metrics of a model version."""
        self._opts(kwargs)
        return self.metadata("model", tag)


class DataCheckpointsManage(_Checkpoints):
    """Training-data checkpoints (``data/``) of one model repo."""

    kinds = ("data",)

    def import_data_init(self, data_path: str | Path, **kwargs: Any) -> None:
        """Put the first training data into the repo's data/ and version it."""
        self.upload_data_checkpoint(data_path, **kwargs)

    def upload_data_checkpoint(self, data_path: str | Path | None = None, **kwargs: Any) -> str:
        """Version a data directory (copied to data/); returns its data tag."""
        return self.upload("data", data_path, None, kwargs)

    def tag_data_checkpoint(
        self, version_tag: str | None = None, message: str | None = None, **kwargs: Any
    ) -> str:
        """Version the current data/ (dvc add, commit, tag); returns the data tag."""
        return self.tag_current("data", version_tag, message, kwargs)

    def read_data_checkpoint_tag(self, **kwargs: Any) -> list[str]:
        """All data version tags, lowest first."""
        self._opts(kwargs)
        return self.list_tags("data")

    def download_data_checkpoint(self, tag: str | None = None, **kwargs: Any) -> str:
        """Write a data version to ``output_dir`` without a checkout; returns its path."""
        dest, _, _ = self.export(
            "data", tag, kwargs.pop("output_dir", None), kwargs.pop("repo_url", None), **kwargs
        )[0]
        return str(dest)

    def load_data(self, tag: str | None = None, **kwargs: Any) -> DataArtifacts:
        """Like download_data_checkpoint, with the version's metadata."""
        dest, ptr, name = self.export("data", tag, kwargs.pop("output_dir", None), None, **kwargs)[
            0
        ]
        return DataArtifacts(
            name, dest, ptr.md5, ptr.size, ptr.nfiles or 0, self.metadata("data", name)
        )

    def revert_data_checkpoint(self, tag: str, **kwargs: Any) -> str:
        """Bring data/ back to ``tag``, committed as a new data version."""
        opts = self._opts(kwargs)
        plan = self.revert(("data",), tag, kwargs.get("message"), opts)
        self.last_plan = plan
        return plan.tags[0] if plan.tags else ""

    def get_data_metadata(self, tag: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Size, file count, timestamp and hash of a data version."""
        self._opts(kwargs)
        meta = self.metadata("data", tag)
        meta["version_count"] = len(self.list_tags("data"))
        return meta


class CombinedCheckpointsManage(_Checkpoints):
    """Model and data together: one commit, both tags."""

    def tag_model_and_data(
        self,
        version_tag: str | None = None,
        model_message: str | None = None,
        data_message: str | None = None,
        **kwargs: Any,
    ) -> tuple[str, str]:
        """Commit model and data changes at once; returns (model tag, data tag).

        A kind that did not change keeps its latest tag, returned as is.
        """
        opts = self._opts(kwargs)
        message = "; ".join(m for m in (model_message, data_message) if m) or "Checkpoint"
        plan = self.commit_version(None, message, version_tag, opts)
        self.last_plan = plan
        git = self.git

        def pick(kind: Kind) -> str:
            made = [t for t in plan.tags if t.startswith("data-") == (kind == "data")]
            top = latest(git.tags(), kind)
            return made[0] if made else (top.tag(kind) if top else "")

        return pick("model"), pick("data")

    def revert_model_and_data(self, tag: str, **kwargs: Any) -> list[str]:
        """Bring model and data back to version ``tag`` (``v1.2`` names both kinds' v1.2)."""
        opts = self._opts(kwargs)
        plan = self.revert(("model", "data"), tag, kwargs.get("message"), opts)
        self.last_plan = plan
        return plan.tags

    def get_combined_metadata(self, tag: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Metadata of the model and data versions ``tag`` names."""
        self._opts(kwargs)
        out: dict[str, Any] = {}
        for kind in ("model", "data"):
            try:
                out[kind] = self.metadata(kind, tag)
            except CheckpointNotFoundError:
                out[kind] = None
        return out


# -- helpers --------------------------------------------------------------------------


def _made(plan: Plan, kind: Kind) -> str:
    """The tag of ``kind`` an operation made; an error naming why when it made none."""
    for tag in plan.tags:
        if tag.startswith("data-") == (kind == "data"):
            return tag
    what = "model.bin" if kind == "model" else "data/"
    raise ValidationError(
        f"no {kind} version was made ({what} is empty or unchanged)",
        f"give the new {what} to upload",
    )


def _next(existing: list[str], kind: Kind, directive: Directive) -> str:
    from cpv_hooks.versions import next_version

    return next_version(existing, kind, directive).tag(kind)


def _message(kind: str, source: str | Path | None, metrics: dict[str, float] | None) -> str:
    parts = [f"{kind.capitalize()} checkpoint"]
    if source:
        parts.append(f"from {Path(source).name}")
    if metrics:
        parts.append(", ".join(f"{k}={v}" for k, v in metrics.items()))
    return " ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")


def _same_file(a: Path, b: Path) -> bool:
    return (
        a.is_file()
        and b.is_file()
        and a.stat().st_size == b.stat().st_size
        and file_md5(a) == file_md5(b)
    )


def _output_dir(output_dir: str | Path | None, dry_run: bool) -> Path:
    """The directory a download writes to, created unless ``dry_run``."""
    out = Path(output_dir or Path.cwd()).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ValidationError(
            f"--output-dir {out} is a file", "give a directory (a missing one is created)"
        )
    if not dry_run:
        try:
            out.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=out):  # fails early where nothing can be written
                pass
        except OSError as exc:
            raise ValidationError(
                f"cannot write to --output-dir {out} ({exc.strerror or exc})",
                "give a directory you can write to",
            ) from exc
    return out


def _check_free(dest: Path, force: bool) -> None:
    if dest.exists() and not force:
        raise ValidationError(
            f"{dest} already exists", "choose another --output-dir or pass --force"
        )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def export_from_url(
    url: str, kind: Kind, tag: str | None, output_dir: str | Path | None, opts: Options
) -> list[tuple[Path, Pointer, str]]:
    """Download a version straight from a git URL: one shallow clone of one commit, no history."""
    with tempfile.TemporaryDirectory(prefix="cpv-clone-") as tmp:
        clone = Path(tmp) / "repo"
        name = tag_for(kind, tag) if tag else None
        args = ["clone", "-q", "--depth", "1", "--no-checkout"] + (
            ["--branch", name] if name else []
        )
        proc = Git(Path(tmp)).result(*args, "--", url, str(clone))
        if proc.returncode != 0:
            raise GitError(
                f"could not fetch {name or 'HEAD'} from {url}: {last_line(proc)}",
                "check the URL, your access (cpv validate) and the version name",
            )
        git = Git(clone)
        if name is None:
            git.result("fetch", "-q", "--depth", "1", "origin", "refs/tags/*:refs/tags/*")
            top = latest(git.tags(), kind)
            if top is None:
                raise CheckpointNotFoundError(f"{url} has no {kind} version", "push one first")
            name = top.tag(kind)
            git.run("fetch", "-q", "--depth", "1", "origin", f"refs/tags/{name}:refs/tags/{name}")
        git.run("checkout", "-q", name, "--", ".")
        conf = load_repo_config(clone)
        out = _output_dir(output_dir, opts.dry_run)
        done = []
        remotes = functools.cache(functools.partial(open_remote, clone))  # by pointer remote
        for art in (a for a in conf.of_kind(kind) if a.store == "dvc"):
            data = (clone / art.pointer).read_bytes()
            ptr = parse_pointer(data, f"{art.pointer}@{name}")
            dest = out / art.path
            _check_free(dest, opts.force)
            if not opts.dry_run:
                _remove(dest)
                source = functools.partial(remotes, ptr.remote)
                export(ptr, dest, Cache(Path(tmp) / "cache"), source, False, opts.paths)
            done.append((dest, ptr, name))
        return done


_LOG_READY: set[str] = set()


def _setup_logging(opts: Options) -> None:
    """Operation logs go to ``<config dir>/logs/cpv.log`` (or ``log_file``), secrets redacted.

    A dry run writes no log: it changes no file.
    """
    from cpv_hooks.logs import setup

    if opts.dry_run:
        return
    target = str(opts.log_file or cfg.config_dir() / "logs" / "cpv.log")
    if target not in _LOG_READY:
        setup(Path(target), verbose=opts.verbose)
        _LOG_READY.add(target)


def diff(root: Path, a: str, b: str) -> dict[str, Any]:
    """What changed from version (or any git ref) ``a`` to ``b``: metrics, model, data files."""
    from cpv_hooks.metrics import parse_metrics

    git = Git(root)
    conf = load_repo_config(root)
    for ref in (a, b):
        if not git.ok("rev-parse", "--verify", "-q", f"{ref}^{{commit}}"):
            raise CheckpointNotFoundError(
                f"there is no version or commit {ref}", "list versions with `cpv checkpoint list`"
            )
    blobs = git.read_blobs([f"{r}:{x.pointer}" for r in (a, b) for x in conf.artifacts])
    out: dict[str, Any] = {"from": a, "to": b, "metrics": {}, "artifacts": {}}
    metrics = [
        parse_metrics(blobs.get(f"{r}:{conf.metrics}", b"").decode("utf-8", "replace"))
        for r in (a, b)
    ]
    for key in sorted(set(metrics[0]) | set(metrics[1])):
        old, new = metrics[0].get(key), metrics[1].get(key)
        out["metrics"][key] = {
            "from": old,
            "to": new,
            "delta": None if old is None or new is None else new - old,
        }
    cache = Cache(cache_dir(root))
    remote = functools.cache(functools.partial(open_remote, root))  # by pointer remote
    for art in conf.dvc_artifacts:
        ptrs = [
            parse_pointer(blobs[f"{r}:{art.pointer}"], f"{art.pointer}@{r}")
            if f"{r}:{art.pointer}" in blobs
            else None
            for r in (a, b)
        ]
        entry: dict[str, Any] = {
            "from": ptrs[0].as_dict() if ptrs[0] else None,
            "to": ptrs[1].as_dict() if ptrs[1] else None,
            "changed": (ptrs[0].md5 if ptrs[0] else None) != (ptrs[1].md5 if ptrs[1] else None),
        }
        if art.is_dir(root) and entry["changed"]:
            listings = [_listing(cache, remote, p) for p in ptrs]
            entry["added"] = sorted(set(listings[1]) - set(listings[0]))
            entry["removed"] = sorted(set(listings[0]) - set(listings[1]))
            entry["modified"] = sorted(
                k for k in set(listings[0]) & set(listings[1]) if listings[0][k] != listings[1][k]
            )
        out["artifacts"][art.path] = entry
    return out


def _listing(cache: Cache, remote: Any, ptr: Pointer | None) -> dict[str, str]:
    if ptr is None or not ptr.is_dir:
        return {}
    if not cache.has(ptr.md5):
        from cpv_hooks.dvc.cache import Obj
        from cpv_hooks.storage import fetch

        fetch(remote(ptr.remote), cache, [Obj(ptr.md5, legacy=ptr.legacy)])
    return {e["relpath"]: e["md5"] for e in cache.dir_entries(ptr.md5)}
