"""Proofs that a hook has nothing to do, cheap enough that a no-op commit starts almost nothing.

A no-op ``git commit`` runs three hooks. commit-msg and post-commit are decided in the shell
(``hooks/cpv-hook``) from two kinds of files that cpv's Python leaves in ``<git dir>/cpv/fast/``,
named after git's hash of the config file they were derived from (so a stale one is never
read): ``<stage>-<hash of .pre-commit-config.yaml>`` says that no other hook of the config
runs at that stage, ``watched-<hash of .cpv.yaml>`` lists the paths a commit must change to
get a version. pre-commit needs a stat of every artifact: :func:`pre_commit_is_noop` compares
them, in a Python that imports nothing but ``os`` (the record is ``marshal``'s, built into the
interpreter), with the ones recorded the last time the full hook found nothing to do
(:func:`remember_noop`).

Every check here only proves; anything unexpected (a missing record, a file it cannot read, a
big directory) answers "not proven" and the full hook runs.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # the hooks' no-op path stays free of typing, pathlib, repo.py
    from collections.abc import Sequence
    from pathlib import Path

    from cpv_hooks.repo import Git, RepoConfig

FAST_DIR = "fast"  # under <git dir>/cpv/
SHELL_STAGES = ("commit-msg", "post-commit")  # the stages hooks/cpv-hook decides itself
PRE_COMMIT_RECORD = "pre-commit.marshal"
MAX_FILES = 2000  # beyond this the full hook's own walk dominates: no second walk before it
VERSION = 1


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _tree(top: str, rel: str, out: list[object]) -> None:
    """Every entry under the directory ``top/rel``: a superset of what DVC collects."""
    with os.scandir(os.path.join(top, rel)) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = f"{rel}/{entry.name}" if rel else entry.name
        out.append([name, _stat(entry.path)])
        if len(out) > MAX_FILES:
            raise OverflowError(top)
        if entry.is_dir(follow_symlinks=False):
            _tree(top, name, out)


def fingerprint(
    root: str, git_dir: str, artifacts: Sequence[str], pointers: Sequence[str]
) -> list[object] | None:
    """The stats that decide whether pre-commit has work (None when too costly to take)."""
    ignores = {".dvcignore"}  # DVC's rules come from every .dvcignore down to the artifact
    for art in artifacts:
        parts = art.split("/")[:-1]
        ignores.update("/".join([*parts[:i], ".dvcignore"]) for i in range(1, len(parts) + 1))
    files = [".cpv.yaml", ".pre-commit-config.yaml", *sorted(ignores), *pointers]
    taken: list[object] = [[f, _stat(os.path.join(root, f))] for f in files]
    taken.append(_stat(os.path.join(git_dir, "cpv", "state.json")))
    try:
        for art in artifacts:
            path = os.path.join(root, art)
            taken.append([art, _stat(path)])
            if os.path.isdir(path):
                _tree(path, "", taken)
    except (OSError, OverflowError):
        return None
    return taken


def _spawn_git(*args: str) -> tuple[int, int] | None:
    """Start ``git args`` (no stdin, stderr dropped); its pid and the read end of its stdout.

    ``os.posix_spawnp`` rather than :mod:`subprocess`, whose import costs more than git's run.
    """
    if not hasattr(os, "posix_spawnp"):
        return None
    read, write = os.pipe()
    try:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, write, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_CLOSE, read),
        ]
        pid = os.posix_spawnp("git", ["git", *args], os.environ, file_actions=actions)
    except OSError:
        os.close(read)
        return None
    finally:
        os.close(write)
    return pid, read


def _quiet(started: tuple[int, int] | None) -> bool:
    """True when the git process ``started`` printed nothing and exited 0."""
    if started is None:
        return False
    pid, read = started
    with os.fdopen(read, "rb") as out:
        printed = out.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 and not printed


def pre_commit_is_noop() -> bool:
    """True when cpv's pre-commit (and the chain after it) provably has nothing to do.

    Run where git runs hooks (the top of the work tree). The artifacts, their pointers, the
    configs and cpv's state record are as they were when the full hook last found nothing to
    do; no pointer differs from the index; nothing is staged that the secret scanners would
    read; no kept ``pre-commit.legacy`` exists.
    """
    git_dir = os.environ.get("GIT_DIR") or (".git" if os.path.isdir(".git") else None)
    hooks = os.environ.get("CPV_HOOKS_DIR")
    if not git_dir or not hooks or not os.path.isfile(".cpv.yaml"):
        return False
    if os.path.lexists(os.path.join(hooks, "pre-commit.legacy")):
        return False
    try:
        with open(os.path.join(git_dir, "cpv", FAST_DIR, PRE_COMMIT_RECORD), "rb") as fh:
            version, artifacts, pointers, taken = marshal.load(fh)
    except (OSError, ValueError, EOFError, TypeError):
        return False
    if version != VERSION or fingerprint("", git_dir, artifacts, pointers) != taken:
        return False
    present = [p for p in pointers if os.path.exists(p)]
    # at once: a file staged for the secret scanners, a pointer to stage (as stage_pointers)
    checks = [_spawn_git("diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z")]
    if present:
        listed = ("ls-files", "-z", "--modified", "--others", "--exclude-standard", "--")
        checks.append(_spawn_git(*listed, *present))
    return all([_quiet(started) for started in checks])  # a list: every process waited for


def remember_noop(git: Git, config: RepoConfig, taken: list[object] | None) -> None:
    """Record the fingerprint ``taken`` (before the full hook looked) as a no-op's."""
    if taken is None:
        return
    arts = config.dvc_artifacts
    record = (VERSION, [a.path for a in arts], [a.pointer for a in arts], taken)
    _write(git.git_dir() / "cpv" / FAST_DIR / PRE_COMMIT_RECORD, marshal.dumps(record))


def take(git: Git, config: RepoConfig) -> list[object] | None:
    """The fingerprint of the work tree now, for :func:`remember_noop`."""
    arts = config.dvc_artifacts
    paths, pointers = [a.path for a in arts], [a.pointer for a in arts]
    return fingerprint(str(git.root), str(git.git_dir()), paths, pointers)


def _keys(git: Git, *names: str) -> list[str]:
    """git's hashes of the files ``names`` (at the top of the work tree), as the shell's."""
    return git.run("hash-object", "--no-filters", "--", *names).split("\n")


def mark_quiet_stage(git: Git, stage: str) -> None:
    """Note that the config has no other hook for ``stage`` (which the shell decides)."""
    if stage not in SHELL_STAGES or not (git.root / ".pre-commit-config.yaml").exists():
        return
    (key,) = _keys(git, ".pre-commit-config.yaml")
    _keep(git.git_dir() / "cpv" / FAST_DIR, f"{stage}-", key, "")


def watch(git: Git, config: RepoConfig) -> None:
    """List the paths whose change gives a commit a version, for post-commit's shell check."""
    if not (git.root / ".cpv.yaml").exists():
        return
    paths = sorted({".cpv.yaml", *(a.pointer for a in config.artifacts)})
    if any("\n" in p or p.startswith('"') for p in paths):
        return  # not a line of its own: the shell cannot compare it, so Python decides
    (key,) = _keys(git, ".cpv.yaml")
    _keep(git.git_dir() / "cpv" / FAST_DIR, "watched-", key, "".join(f"{p}\n" for p in paths))


def _keep(directory: Path, prefix: str, key: str, text: str) -> None:
    """Make ``<prefix><key>`` the one file of its kind in ``directory``, holding ``text``."""
    path = directory / f"{prefix}{key}"
    if path.exists():
        return
    _write(path, text)
    for old in directory.glob(f"{prefix}*"):
        if old.name != path.name and old.name[len(prefix) :].isalnum():
            old.unlink(missing_ok=True)


def _write(path: Path, text: str | bytes) -> None:
    from contextlib import suppress

    from cpv_hooks.fsutil import atomic_write

    with suppress(OSError):  # a read-only git dir: the hooks take the full path every time
        atomic_write(path, text)
