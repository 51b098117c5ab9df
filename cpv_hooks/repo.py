"""A cpv model repository: its git plumbing and its ``.cpv.yaml`` layout.

git is driven through its CLI so that hooks honour ``GIT_INDEX_FILE`` and every git
configuration the user has.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpv_hooks.dvc import safety
from cpv_hooks.errors import ConfigError, GitError, RepositoryError, ValidationError
from cpv_hooks.fsutil import atomic_write
from cpv_hooks.versions import Kind

REPO_CONFIG = ".cpv.yaml"
INSTALLED = "cpv.installed"  # set in a repo's own git config by `cpv install`
ZERO_SHA = "0" * 40
FALLBACK_IDENTITY = ("CPV System", "cpv@vmo.ai")
_NAME_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_NAME = 64
_DIR_MD5_RE = re.compile(r"md5:\s*['\"]?[0-9a-f]{32}\.dir")


def validate_name(value: str, what: str) -> str:
    """Check a team or model name: lowercase slug, 1-64 chars, usable as path and S3 key."""
    if len(value) > MAX_NAME or not _NAME_RE.match(value):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise ValidationError(
            f"invalid {what} '{shown}'",
            f"use 1-{MAX_NAME} lowercase letters and digits, single '-' or '_' between them "
            f"(e.g. {what.split()[0]}-1)",
        )
    return value


@dataclass(frozen=True)
class Artifact:
    """One versioned path of the repo: stored in DVC (pointer ``<path>.dvc``) or in git."""

    path: str
    kind: Kind
    store: str = "dvc"
    spelled_dir: bool = False  # declared with a trailing slash in .cpv.yaml

    @property
    def pointer(self) -> str:
        """The path git tracks for this artifact (a ``dvc.yaml`` stage output: ``dvc.lock``)."""
        if self.store == "stage":
            return "dvc.lock"
        return f"{self.path}.dvc" if self.store == "dvc" else self.path

    @property
    def gitignore(self) -> str:
        """The ``.gitignore`` that ``dvc add`` writes for it: beside the artifact."""
        parent = self.path.rpartition("/")[0]
        return f"{parent}/.gitignore" if parent else ".gitignore"

    def is_dir(self, root: Path) -> bool:
        """A directory as the work tree has it, else as its pointer says, else as declared."""
        path = root / self.path
        if path.exists():
            return path.is_dir()
        try:
            return bool(_DIR_MD5_RE.search((root / self.pointer).read_text()))
        except (OSError, UnicodeDecodeError):
            return self.spelled_dir or self.path == "data"


DEFAULT_ARTIFACTS = (
    Artifact("model.bin", "model"),
    Artifact("data", "data"),
    Artifact("metrics.log", "model", store="git"),
)


@dataclass(frozen=True)
class Retention:
    """``retention:`` of ``.cpv.yaml``: what ``cpv gc`` keeps (command-line options win).

    Without ``keep_last``, ``keep`` or ``older_than_days`` no version is pruned.
    """

    keep_last: int | None = None
    keep: tuple[str, ...] = ()
    older_than_days: float | None = None
    grace_hours: float = 24.0

    @property
    def active(self) -> bool:
        return self.keep_last is not None or bool(self.keep) or self.older_than_days is not None


def _retention(raw: Any) -> Retention:
    if not isinstance(raw, dict):
        raise ValueError("retention must be a mapping")
    unknown = set(raw) - {"keep_last", "keep", "older_than_days", "grace_hours"}
    if unknown:
        raise ValueError(f"retention: unknown key {sorted(unknown)[0]}")
    keep = raw.get("keep", [])
    keep = [keep] if isinstance(keep, str) else keep
    last, days = raw.get("keep_last"), raw.get("older_than_days")
    out = Retention(
        None if last is None else int(last),
        tuple(str(k) for k in keep),
        None if days is None else float(days),
        float(raw.get("grace_hours", 24.0)),
    )
    if min(out.keep_last or 0, out.older_than_days or 0, out.grace_hours) < 0:
        raise ValueError("retention: numbers must not be negative")
    return out


@dataclass(frozen=True)
class RepoConfig:
    """The contents of ``.cpv.yaml``."""

    team: str = ""
    model: str = ""
    artifacts: tuple[Artifact, ...] = DEFAULT_ARTIFACTS
    min_model_mb: float = 0.1
    max_model_mb: float = 50000.0
    metrics: str = "metrics.log"
    retention: Retention = Retention()
    adopted: str = ""  # HEAD of an existing repo when `cpv init` adopted it
    legacy_tags: frozenset[str] = frozenset()  # tags made before adoption: never checked

    @property
    def dvc_artifacts(self) -> tuple[Artifact, ...]:
        return tuple(a for a in self.artifacts if a.store == "dvc")

    def of_kind(self, kind: Kind) -> tuple[Artifact, ...]:
        return tuple(a for a in self.artifacts if a.kind == kind)


def load_repo_config(root: Path) -> RepoConfig:
    """Read ``.cpv.yaml`` at ``root`` (defaults when absent)."""
    path = root / REPO_CONFIG
    try:
        st = path.stat()
    except FileNotFoundError:
        return _adopted_layout(root / ".git" / "cpv" / "repo-config.json", path)
    import json

    # the parsed file is cached beside the hooks' state, so a no-op hook skips importing yaml
    cache = root / ".git" / "cpv" / "repo-config.json"
    key = [st.st_mtime_ns, st.st_size]
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return _repo_config(cached["raw"], path)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    config, raw = parse_repo_config(path.read_bytes(), path)
    if cache.parent.parent.is_dir():
        atomic_write(cache, json.dumps({"key": key, "raw": raw or {}}))
    return config


def parse_repo_config(text: bytes | str, path: Path) -> tuple[RepoConfig, dict[str, Any]]:
    """Check the text of a ``.cpv.yaml`` (the gate for data-borne input); returns the
    layout and the parsed document. ``path`` names the file in errors."""
    try:
        raw = safety.load_yaml_safe(text, REPO_CONFIG) or {}
    except ValidationError as exc:
        raise _malformed(path, exc.message) from exc
    return _repo_config(raw, path), raw


def _adopted_layout(cache: Path, path: Path) -> RepoConfig:
    """The layout for a commit made before adoption (no ``.cpv.yaml``): the adopted repo's,
    as last read, so checking out an old version restores its artifacts; else the defaults."""
    import json

    try:
        raw = json.loads(cache.read_text())["raw"]
    except (OSError, ValueError, KeyError, TypeError):
        return RepoConfig()
    return _repo_config(raw, path) if isinstance(raw, dict) and raw.get("adopted") else RepoConfig()


def configs_at(git: Git, revs: Sequence[str]) -> dict[str, RepoConfig]:
    """Each revision's own ``.cpv.yaml``, through the same gate.

    A branch can declare artifacts that the checked-out ``.cpv.yaml`` does not know: what a
    commit versions is what its own file says. A commit without one (made before adoption)
    gets the checkout's layout. One ``git cat-file`` for all; each distinct file is parsed once.
    """
    blobs = git.read_blobs([f"{r}:{REPO_CONFIG}" for r in revs])
    parsed: dict[bytes | None, RepoConfig] = {}
    out = {}
    for rev in revs:
        data = blobs.get(f"{rev}:{REPO_CONFIG}")
        if data not in parsed:
            if data is None:
                parsed[data] = load_repo_config(git.root)
            else:
                parsed[data] = parse_repo_config(data, Path(f"{REPO_CONFIG}@{rev[:8]}"))[0]
        out[rev] = parsed[data]
    return out


def pointer_specs(git: Git, commits: Sequence[str], kind: Kind | None = None) -> dict[str, str]:
    """``<commit>:<pointer>`` -> ``<pointer>@<short commit>`` for the DVC artifacts (of ``kind``)
    that each commit's own ``.cpv.yaml`` declares."""
    return {
        f"{c}:{a.pointer}": f"{a.pointer}@{c[:8]}"
        for c, config in configs_at(git, commits).items()
        for a in config.dvc_artifacts
        if kind is None or a.kind == kind
    }


def _repo_config(raw: Any, path: Path) -> RepoConfig:
    try:
        arts = tuple(
            Artifact(
                safety.check_relpath(str(a["path"]).rstrip("/"), f"{REPO_CONFIG} artifacts"),
                a.get("kind", "model"),
                a.get("store", "dvc"),
                str(a["path"]).endswith("/"),
            )
            for a in raw.get("artifacts", [])
        ) or (() if raw.get("adopted") else DEFAULT_ARTIFACTS)
        limits = raw.get("limits", {})
        for art in arts:
            if art.kind not in ("model", "data") or art.store not in ("dvc", "git", "stage"):
                raise ValueError(
                    f"artifact {art.path}: kind must be model|data, store dvc|git|stage"
                )
        legacy = raw.get("legacy_tags") or []
        if not isinstance(legacy, list) or not all(isinstance(t, str) for t in legacy):
            raise ValueError("legacy_tags must be a list of tag names")
        return RepoConfig(
            team=str(raw.get("team", "")),
            model=str(raw.get("model", "")),
            artifacts=arts,
            min_model_mb=float(limits.get("min_model_mb", 0.1)),
            max_model_mb=float(limits.get("max_model_mb", 50000)),
            metrics=safety.check_relpath(str(raw.get("metrics", "metrics.log")), REPO_CONFIG),
            retention=_retention(raw.get("retention") or {}),
            adopted=str(raw.get("adopted", "")),
            legacy_tags=frozenset(legacy),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _malformed(path, str(exc)) from exc
    except ValidationError as exc:
        raise _malformed(path, exc.message) from exc


def _malformed(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"{path} is malformed ({problem})", f"fix {REPO_CONFIG} (see README)")


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The last line git printed (its error message), or ""."""
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[-1] if lines else ""


@dataclass
class Git:
    """Runs git in one work tree."""

    root: Path
    env: dict[str, str] | None = field(default=None)

    def result(
        self, *args: str, input: str | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``git args`` here (output captured, no terminal input): the one git runner."""
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            errors="surrogateescape",  # a name that is not UTF-8 round-trips, never crashes
            env=self.env,
            timeout=timeout,
        )

    def run(self, *args: str, check: bool = True, input: str | None = None) -> str:
        """Run ``git args`` and return stdout (stripped of the final newline)."""
        proc = self.result(*args, input=input)
        if check and proc.returncode != 0:
            raise GitError(
                f"git {' '.join(args[:3])} failed: {last_line(proc) or proc.returncode}",
                "fix the git state shown above and retry",
            )
        return proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout

    def ok(self, *args: str) -> bool:
        """True when ``git args`` exits 0."""
        return self.result(*args).returncode == 0

    def identity_args(self) -> list[str]:
        """``-c user.*`` for a commit when git has no identity configured (a fresh machine)."""
        if self.run("config", "user.email", check=False):
            return []
        return [
            "-c",
            f"user.name={FALLBACK_IDENTITY[0]}",
            "-c",
            f"user.email={FALLBACK_IDENTITY[1]}",
        ]

    def git_dir(self) -> Path:
        if (self.root / ".git").is_dir() and "GIT_DIR" not in os.environ:
            return self.root / ".git"
        return (self.root / self.run("rev-parse", "--git-dir")).resolve()

    def hooks_dir(self) -> Path:
        """Where git runs hooks from, as git says (``core.hooksPath``, worktrees' common dir)."""
        return (self.root / self.run("rev-parse", "--git-path", "hooks")).resolve()

    def head(self) -> str | None:
        out = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return out or None

    def in_progress_operation(self) -> bool:
        """True while a rebase, cherry-pick, revert or bisect is running."""
        git_dir = self.git_dir()
        markers = ("rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD")
        return any((git_dir / m).exists() for m in markers)

    def tags(self) -> list[str]:
        out = self.run("tag", "--list")
        return out.split("\n") if out else []

    def tags_at(self, commit: str) -> list[str]:
        out = self.run("tag", "--points-at", commit)
        return out.split("\n") if out else []

    def changed_paths(self, commit: str) -> set[str]:
        """Paths a commit changed against its first parent (everything for a root commit)."""
        out = self.run("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", commit)
        if not out and self.ok("rev-parse", "-q", "--verify", f"{commit}^2"):  # a merge
            out = self.run("diff", "--name-only", f"{commit}^1", commit)
        return set(out.split("\n")) if out else set()

    def read_blobs(self, specs: Sequence[str]) -> dict[str, bytes]:
        """The contents of ``<rev>:<path>`` specs; specs that name nothing are left out."""
        return {spec: data for spec, (_, data) in self.read_objects(specs).items()}

    def read_objects(self, specs: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """spec -> (type, content) of the objects ``specs`` name (one ``git cat-file
        --batch``, specs on stdin); specs that name nothing are left out."""
        if not specs:
            return {}
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            input="".join(f"{s}\n" for s in specs).encode("utf-8", "surrogateescape"),
            capture_output=True,
            env=self.env,
            check=True,
        )
        return dict(_parse_batch(proc.stdout, specs))

    def object_info(self, specs: Sequence[str]) -> dict[str, tuple[str, str]]:
        """spec -> (object name, type) of the objects ``specs`` name (``<tag>^{commit}``,
        ``<rev>:<path>``...): one ``git cat-file --batch-check``, specs on stdin, so any
        number fits. Specs that name nothing are left out."""
        asked = [s for s in specs if "\n" not in s]  # one spec a line: a newline names nothing
        if not asked:
            return {}
        out = self.run(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input="".join(f"{s}\n" for s in asked),
        )
        found = {}
        for spec, line in zip(asked, out.split("\n"), strict=True):
            name, _, kind = line.rpartition(" ")
            if kind not in ("missing", "ambiguous"):
                found[spec] = (name, kind)
        return found

    def peel(self, objs: Iterable[str]) -> dict[str, str]:
        """obj -> the commit it names (a tag peeled), for each of ``objs`` that names one."""
        specs = {f"{o}^{{commit}}": o for o in objs}
        return {specs[s]: name for s, (name, _) in self.object_info(list(specs)).items()}

    def rev_list(
        self, include: Iterable[str], exclude: Iterable[str] = (), extra: Sequence[str] = ()
    ) -> list[str]:
        args = ["rev-list", *include, *extra]
        excl = list(exclude)
        if excl:
            args += ["--not", *excl]
        out = self.run(*args)
        return out.split("\n") if out else []


def before_adoption(git: Git, config: RepoConfig) -> list[str]:
    """``[sha]`` of the HEAD an adopted repo had (its history is DVC's: never healed, its
    data never re-uploaded by cpv), or ``[]``; a shallow clone may lack it."""
    sha = config.adopted
    return [sha] if sha and git.ok("cat-file", "-e", f"{sha}^{{commit}}") else []


def _parse_batch(data: bytes, paths: Sequence[str]) -> Iterable[tuple[str, tuple[str, bytes]]]:
    pos = 0
    for path in paths:
        end = data.index(b"\n", pos)
        header = data[pos:end]
        pos = end + 1
        if header.endswith((b" missing", b" ambiguous")):
            continue
        _, kind, size = header.rsplit(b" ", 2)
        yield path, (kind.decode(), data[pos : pos + int(size)])
        pos += int(size) + 1


def find_root(start: Path | str | None = None) -> Path:
    """The top of the git work tree containing ``start``."""
    where = Path(start or os.getcwd())
    if (where / ".git").is_dir() and "GIT_DIR" not in os.environ:
        return where.resolve()  # git runs hooks at the top of the work tree: no git call
    proc = Git(where).result("rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise RepositoryError(
            f"{where} is not inside a git repository",
            "cd into a model repo, or create one with `cpv init`",
        )
    return Path(proc.stdout.strip())
