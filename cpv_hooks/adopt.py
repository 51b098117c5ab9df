"""Adopting an existing git (and DVC) repo: discover what to version, keep everything else.

:func:`plan_adoption` reads the repo and changes nothing; :func:`adopt` carries the plan out:
``.cpv.yaml``, cpv's hooks merged into ``.pre-commit-config.yaml``, pointers for the files it
newly tracks, one commit ``cpv: adopt <team>/<model>``. No commit is rewritten, no file moved
or deleted, no tag moved or deleted.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpv_hooks.dvc import safety
from cpv_hooks.dvc.pointers import parse_pointer
from cpv_hooks.errors import RepositoryError, ValidationError
from cpv_hooks.repo import REPO_CONFIG, Artifact, Git, validate_name
from cpv_hooks.versions import KINDS, Directive, Kind, latest, next_version, parse_tag

MODEL_EXTENSIONS = (
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".safetensors",
    ".onnx",
    ".h5",
    ".pkl",
    ".joblib",
)
PRE_COMMIT = ".pre-commit-config.yaml"
CI_FILES = ("bitbucket-pipelines.yml", ".github/workflows/cpv.yml")  # added when absent
MIN_UNTRACKED_BYTES = 100_000  # the smallest untracked model file adopted unasked (0.1 MB)
LARGE_IN_GIT_BYTES = 10 << 20
_GTO_VERSION = re.compile(r"^(?P<name>[^@#]+)@(?P<version>v\d+\.\d+\.\d+)$")
_GTO_STAGE = re.compile(r"^(?P<name>[^@#]+)#(?P<stage>[^#!]+)(?:#\d+)?$")
# kinds of remote cpv moves bytes for itself; any other url scheme is carried by DVC
_OWN_SCHEMES = ("s3://",)


@dataclass(frozen=True)
class Found:
    """One artifact adoption versions: where it was found, and whether its bytes are here."""

    artifact: Artifact
    source: str  # "pointer", "dvc.yaml stage", "untracked model file", "--model", "--data"
    new: bool = False  # cpv makes its pointer at adoption
    present: bool = True


@dataclass
class AdoptPlan:
    """What adopting ``root`` as ``team/model`` finds and does."""

    root: Path
    team: str
    model: str
    found: list[Found] = field(default_factory=list)
    left_to_dvc: list[str] = field(default_factory=list)  # imports, multi-output pointers
    cpv_tags: list[str] = field(default_factory=list)
    gto: dict[str, list[str]] = field(default_factory=dict)  # artifact -> its GTO tags
    other_tags: list[str] = field(default_factory=list)
    next_tags: list[str] = field(default_factory=list)
    tag_head: list[Kind] = field(default_factory=list)  # kinds HEAD is tagged v0.1 for
    large_in_git: list[tuple[str, int]] = field(default_factory=list)
    remote: str = ""  # the DVC remote's url, or "" when adoption configures one
    remote_note: str = ""
    writes: list[str] = field(default_factory=list)
    ci: list[str] = field(default_factory=list)  # CI files cpv adds
    base: str = ""  # HEAD before adoption
    already: bool = False

    def lines(self) -> list[str]:
        """The plan as lines for a person to read."""
        if self.already:
            return [
                f"{self.root} is already a cpv repo ({REPO_CONFIG} is committed): nothing to do"
            ]
        out = [f"adopt {self.root} as {self.team}/{self.model}"]
        for f in self.found:
            state = (
                ""
                if f.present
                else " (not here: `dvc pull` or `dvc repro` makes it)"
                if f.artifact.store == "stage"
                else " (data not here: fetched from the remote on checkout)"
            )
            made = ", pointer made now" if f.new else ""
            out.append(f"  {f.artifact.kind} {f.artifact.path} [{f.source}{made}]{state}")
        if not self.found:
            out.append("  no artifacts found: declare them with `cpv track PATH --kind model`")
        out += [f"  kept as it is, left to DVC: {p}" for p in self.left_to_dvc]
        if self.cpv_tags:
            out.append(f"  versions continue from: {', '.join(self.cpv_tags)}")
        for name, tags in self.gto.items():
            out.append(f"  GTO versions/stages of {name}: {', '.join(tags)}")
        if self.other_tags:
            out.append(f"  other tags, left alone: {', '.join(self.other_tags)}")
        if self.next_tags:
            out.append(f"  next versions: {', '.join(self.next_tags)}")
        if self.tag_head:
            out.append(
                f"  the adoption commit becomes {', '.join(_first(k) for k in self.tag_head)}"
            )
        for path, size in self.large_in_git:
            out.append(
                f"  {path} ({size >> 20} MB) is committed to git: `git rm --cached {path}` then "
                f"`cpv track {path}` versions it from now on (history is not rewritten)"
            )
        out.append(f"  DVC remote: {self.remote or 'configured now'}{self.remote_note}")
        out.append(
            f"  writes: {', '.join(self.writes)}; one commit 'cpv: adopt {self.team}/{self.model}'"
        )
        return out


def _first(kind: Kind) -> str:
    return next_version([], kind, Directive()).tag(kind)


def is_adoptable(path: Path) -> bool:
    """True when ``path`` is the top of an existing git work tree."""
    top = Git(path).result("rev-parse", "--show-toplevel") if path.is_dir() else None
    return bool(top and top.returncode == 0 and Path(top.stdout.strip()) == path.resolve())


def plan_adoption(
    root: Path,
    team: str,
    model: str,
    models: list[str] | None = None,
    datas: list[str] | None = None,
    force: bool = False,
) -> AdoptPlan:
    """Read ``root`` and say what adopting it does; changes nothing."""
    root = root.resolve()
    validate_name(team, "team name")
    validate_name(model, "model name")
    git = Git(root)
    plan = AdoptPlan(root, team, model)
    if git.head() is None:
        raise RepositoryError(f"{root} has no commit yet", "commit your files first, then adopt")
    plan.base = git.run("rev-parse", "HEAD")
    if git.ok("cat-file", "-e", f"HEAD:{REPO_CONFIG}"):
        plan.already = True
        return plan
    dirty = git.run("status", "--porcelain", "--untracked-files=no")
    if dirty and not force:
        raise RepositoryError(
            f"{root} has uncommitted changes ({dirty.splitlines()[0].strip()})",
            "commit or stash them, or run `cpv init --force` to adopt anyway",
        )
    tracked = set(filter(None, git.run("ls-files", "-z").split("\0")))
    declared = _dvc_yaml_artifacts(root)
    _discover_pointers(root, tracked, declared, plan)
    _discover_stage_outs(root, declared, plan)
    named: tuple[tuple[Kind, list[str]], ...] = (("model", models or []), ("data", datas or []))
    for kind, paths in named:
        for rel in paths:
            plan.found.append(_named(root, rel, kind, tracked, plan))
    _discover_untracked(git, plan)
    _read_tags(git, plan)
    _large_in_git(git, plan)
    _read_remote(root, plan)
    plan.ci = [f for f in CI_FILES if not (root / f).exists()]
    plan.writes = [REPO_CONFIG, PRE_COMMIT, *plan.ci] + (
        [] if (root / ".dvc").is_dir() else [".dvc/config", ".dvcignore"]
    )
    plan.writes += [f.artifact.pointer for f in plan.found if f.new]
    return plan


def _dvc_yaml_artifacts(root: Path) -> dict[str, Kind]:
    """The ``artifacts:`` of the top ``dvc.yaml`` (DVC's and GTO's registry): path -> kind."""
    raw = _dvc_yaml(root).get("artifacts") or {}
    out: dict[str, Kind] = {}
    if isinstance(raw, dict):
        for name, spec in raw.items():
            if isinstance(spec, dict) and "path" in spec:
                rel = safety.check_relpath(str(spec["path"]).rstrip("/"), f"dvc.yaml {name}")
                out[rel] = "model" if spec.get("type") == "model" else "data"
    return out


def _dvc_yaml(root: Path) -> dict[str, Any]:
    path = root / "dvc.yaml"
    if not path.is_file():
        return {}
    raw = safety.load_yaml_safe(path.read_bytes(), "dvc.yaml")
    return raw if isinstance(raw, dict) else {}


def _kind_of(rel: str, declared: dict[str, Kind]) -> Kind:
    if rel in declared:
        return declared[rel]
    return "model" if rel.lower().endswith(MODEL_EXTENSIONS) else "data"


def _discover_pointers(
    root: Path, tracked: set[str], declared: dict[str, Kind], plan: AdoptPlan
) -> None:
    """Every committed ``*.dvc`` pointer: cpv versions the ones it can re-add as they are."""
    for pointer in sorted(p for p in tracked if p.endswith(".dvc")):
        if not (root / pointer).is_file():
            continue  # deleted in the work tree (adopting with --force): nothing to version
        text = (root / pointer).read_bytes()
        raw = safety.load_yaml_safe(text, pointer)
        outs = raw.get("outs") if isinstance(raw, dict) else None
        if not isinstance(outs, list) or len(outs) != 1 or "deps" in raw or raw.get("frozen"):
            plan.left_to_dvc.append(pointer)  # an import, a multi-output or output-less file
            continue
        ptr = parse_pointer(text, pointer)
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(pointer), ptr.path))
        if f"{rel}.dvc" != pointer:
            plan.left_to_dvc.append(pointer)
            continue
        art = Artifact(rel, _kind_of(rel, declared), "dvc")
        plan.found.append(Found(art, "pointer", present=(root / rel).exists()))


def _discover_stage_outs(root: Path, declared: dict[str, Kind], plan: AdoptPlan) -> None:
    """The cached ``outs`` of the top ``dvc.yaml``'s stages: versioned through ``dvc.lock``."""
    stages = _dvc_yaml(root).get("stages") or {}
    for name, stage in stages.items() if isinstance(stages, dict) else ():
        for out in (stage or {}).get("outs", []) if isinstance(stage, dict) else ():
            path, opts = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if isinstance(opts, dict) and opts.get("cache") is False:
                continue  # kept in git by the user
            rel = safety.check_relpath(str(path).rstrip("/"), f"dvc.yaml stage {name}")
            art = Artifact(rel, _kind_of(rel, declared), "stage")
            plan.found.append(Found(art, "dvc.yaml stage", present=(root / rel).exists()))


def _named(root: Path, rel: str, kind: Kind, tracked: set[str], plan: AdoptPlan) -> Found:
    """A path the user named with ``--model``/``--data``."""
    rel = safety.check_relpath(rel.rstrip("/").removeprefix("./"), f"--{kind} {rel}")
    known = {f.artifact.path for f in plan.found}
    if rel in known:
        raise ValidationError(f"--{kind} {rel} is already versioned", f"drop --{kind} {rel}")
    return track_check(root, rel, kind, tracked, "--" + kind)


def track_check(root: Path, rel: str, kind: Kind, tracked: set[str], source: str) -> Found:
    """Check that ``rel`` can get a cpv pointer: it exists inside the repo and git does not
    track it (cpv never removes a file from git)."""
    path = safety.resolve_inside(root, rel, source)
    if not path.exists():
        raise ValidationError(
            f"{source} {rel} does not exist", "give a file or directory of the repo"
        )
    if rel in tracked or any(t.startswith(rel + "/") for t in tracked):
        raise ValidationError(
            f"{rel} is committed to git",
            f"`git rm -r --cached {rel}` and commit, then version it with cpv",
        )
    return Found(Artifact(rel, kind, "dvc", path.is_dir()), source, new=True)


def _discover_untracked(git: Git, plan: AdoptPlan) -> None:
    """Big untracked (and not ignored) files with model extensions."""
    known = {f.artifact.path for f in plan.found}
    out = git.run("ls-files", "-z", "--others", "--exclude-standard")
    for rel in sorted(filter(None, out.split("\0"))):
        if not rel.lower().endswith(MODEL_EXTENSIONS) or rel in known:
            continue
        if any(rel.startswith(k + "/") for k in known):
            continue
        if (plan.root / rel).stat().st_size >= MIN_UNTRACKED_BYTES:
            art = Artifact(safety.check_relpath(rel, "untracked file"), "model", "dvc")
            plan.found.append(Found(art, "untracked model file", new=True))


def _read_tags(git: Git, plan: AdoptPlan) -> None:
    """Sort the existing tags: cpv versions continue, GTO's are listed, others left alone."""
    tags = git.tags()
    for name in tags:
        gto = _GTO_VERSION.match(name) or _GTO_STAGE.match(name)
        if parse_tag(name):
            plan.cpv_tags.append(name)
        elif gto:
            plan.gto.setdefault(gto.group("name"), []).append(name)
        else:
            plan.other_tags.append(name)
    present = {f.artifact.kind for f in plan.found if f.present}
    for kind in KINDS:
        if latest(tags, kind) is not None:
            plan.next_tags.append(next_version(tags, kind, Directive()).tag(kind))
        elif kind in present and not plan.cpv_tags:  # a repo without versions starts at v0.1
            plan.tag_head.append(kind)


def _large_in_git(git: Git, plan: AdoptPlan) -> None:
    for line in git.run("ls-tree", "-r", "-l", "-z", "HEAD").split("\0"):
        meta, _, path = line.partition("\t")
        size = meta.split()[-1] if meta else "-"
        if size.isdigit() and int(size) >= LARGE_IN_GIT_BYTES:
            plan.large_in_git.append((path, int(size)))


def _read_remote(root: Path, plan: AdoptPlan) -> None:
    """The existing default DVC remote, kept with every option; say who moves its bytes."""
    from cpv_hooks.dvc.config import load as load_dvc_config

    if not (root / ".dvc").is_dir():
        return
    config = load_dvc_config(root)
    name = config.get("core", {}).get("remote")
    url = config.get(f"remote:{name}", {}).get("url", "") if name else ""
    plan.remote = url
    if url and "://" in url and not url.startswith(_OWN_SCHEMES):
        plan.remote_note = (
            f" (kept; cpv does not move bytes for {url.split('://')[0]}:// itself: its hooks "
            "hand them to DVC's plugin for it, e.g. dvc-gs, which must be installed)"
        )
    elif url:
        plan.remote_note = " (kept with all its options)"


def config_text(plan: AdoptPlan) -> str:
    """The ``.cpv.yaml`` of the adopted repo (strings written as JSON, which YAML reads)."""
    arts = "".join(
        f"  - {{path: {json.dumps(f.artifact.path)}, kind: {f.artifact.kind}, "
        f"store: {f.artifact.store}}}\n"
        for f in plan.found
    )
    tags = plan.cpv_tags + [t for ts in plan.gto.values() for t in ts] + plan.other_tags
    return (
        "# cpv: what this model repo versions (adopted by `cpv init`; see README.md).\n"
        "# store: dvc -> a <path>.dvc pointer; store: stage -> a dvc.yaml output, run by\n"
        "# `dvc repro` and versioned through dvc.lock\n"
        f"team: {plan.team}\nmodel: {plan.model}\n"
        f"artifacts:{' []' if not arts else ''}\n{arts}"
        "metrics: metrics.log\n"
        f"adopted: {plan.base}\n"
        "# tags made before adoption: pushed as they are, never checked as cpv versions\n"
        f"legacy_tags: {json.dumps(tags)}\n"
    )


def template_file(rel: str) -> str:
    """A file of the model-repo template that holds no template variable."""
    from cpv_hooks.install import data_dir

    return next(data_dir("template").glob(f"*/{rel}")).read_text(encoding="utf-8")


def merged_pre_commit(root: Path) -> str:
    """The user's ``.pre-commit-config.yaml`` with cpv's hooks added (YAML round-trip), or
    cpv's own when there is none."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    ours_text = template_file(PRE_COMMIT)
    path = root / PRE_COMMIT
    if not path.exists():
        return ours_text
    yaml = YAML()
    try:
        theirs, indent, offset = load_yaml_guess_indent(path.read_text(encoding="utf-8"))
        yaml.indent(mapping=indent, sequence=indent, offset=offset)  # keep the user's style
    except Exception as exc:  # ruamel raises many kinds for a broken file
        raise ValidationError(
            f"{PRE_COMMIT} is not valid YAML ({type(exc).__name__})", f"fix {PRE_COMMIT} first"
        ) from exc
    if not isinstance(theirs, dict):
        raise ValidationError(f"{PRE_COMMIT} is not a mapping", f"fix {PRE_COMMIT} first")
    ours = yaml.load(ours_text)
    repos = theirs.setdefault("repos", [])
    ids = {h.get("id") for r in repos for h in (r.get("hooks") or [])}
    repos.extend(r for r in ours["repos"] if not any(h["id"] in ids for h in r["hooks"]))
    types = theirs.get("default_install_hook_types")
    if types is not None:
        types.extend(t for t in ours["default_install_hook_types"] if t not in types)
    else:
        theirs["default_install_hook_types"] = ours["default_install_hook_types"]
    stream = io.StringIO()
    yaml.dump(theirs, stream)
    return stream.getvalue()


def adopt(plan: AdoptPlan, **remote_options: Any) -> list[str]:
    """Carry ``plan`` out; returns the version tags made on the adoption commit.

    ``remote_options`` are ``cpv init``'s storage options, used only when the repo has no
    DVC remote yet.
    """
    from cpv_hooks.config import CPVConfig
    from cpv_hooks.fsutil import atomic_write
    from cpv_hooks.install import install_hooks
    from cpv_hooks.scaffold import configure_remote, s3_settings
    from cpv_hooks.tagging import tag_commit
    from cpv_hooks.workspace import Workspace

    if plan.already:
        return []
    root, git = plan.root, Git(plan.root)
    pre_commit = merged_pre_commit(root)
    if not plan.remote:
        s3 = s3_settings(remote_options, CPVConfig().aws)
        plan.remote = configure_remote(
            root, plan.team, plan.model, "myremote", s3, init=not (root / ".dvc").is_dir()
        )
    atomic_write(root / REPO_CONFIG, config_text(plan))
    atomic_write(root / PRE_COMMIT, pre_commit)
    for rel in plan.ci:
        atomic_write(root / rel, template_file(rel))
    new = [f.artifact for f in plan.found if f.new]
    ws = Workspace(root, git)
    ws.add(new)
    paths = [
        REPO_CONFIG,
        PRE_COMMIT,
        *plan.ci,
        ".dvc",
        *[a.pointer for a in new],
        *ws.gitignores(new),
    ]
    if (root / ".dvcignore").exists():
        paths.append(".dvcignore")
    git.run("add", "--", *paths)
    message = f"cpv: adopt {plan.team}/{plan.model}"  # only cpv's paths: --force keeps the rest
    git.run(*git.identity_args(), "commit", "-q", "--no-verify", "-m", message, "--", *paths)
    install_hooks(root)
    return tag_commit(root, kinds=plan.tag_head) if plan.tag_head else []
