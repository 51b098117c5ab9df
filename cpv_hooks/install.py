"""Setting up a clone: cpv's native git hooks, then the artifacts of the checked-out commit.

Hooks of other tools (git-lfs, husky, a team script) are kept: like pre-commit's migration
mode, such a hook is renamed ``<hook>.legacy`` and cpv's hook runs it after its own;
:func:`uninstall_hooks` puts it back.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cpv_hooks.errors import REINSTALL_HINT, RepositoryError
from cpv_hooks.pruned import follow_marks
from cpv_hooks.repo import INSTALLED, Git, find_root
from cpv_hooks.workspace import SyncReport, Workspace

# every hook type cpv installs: the one list (the hook scripts serve them all)
HOOK_TYPES = (
    "pre-commit",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "pre-push",
)
MARKER = "# cpv's native git hook"  # a line of hooks/cpv-hook: how cpv knows its own scripts
LEGACY = ".legacy"


@dataclass
class HookPlan:
    """What installing (or uninstalling) the hooks does in ``directory``."""

    directory: Path
    hooks: list[str] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)  # other tools' hooks kept as .legacy
    restored: list[str] = field(default_factory=list)  # .legacy hooks put back by uninstall

    def describe(self, verb: str) -> str:
        """One line, e.g. ``installed cpv's hooks (pre-commit, ...) in DIR; chained: pre-push``."""
        line = f"{verb} cpv's hooks ({', '.join(self.hooks) or 'none'}) in {self.directory}"
        if self.chained:
            line += f"; kept {', '.join(self.chained)} of another tool, run after cpv's"
        if self.restored:
            line += f"; restored {', '.join(self.restored)} of another tool"
        return line


def data_dir(name: str) -> Path:
    """A directory shipped with cpv (``template`` or ``hooks``), installed or in a checkout."""
    for base in (Path(__file__).parent / "_data", Path(__file__).parent.parent):
        if (base / name).is_dir():
            return base / name
    raise RepositoryError(f"cpv's {name}/ directory is missing", REINSTALL_HINT)


def is_cpv_hook(path: Path) -> bool:
    """True when ``path`` is a hook script cpv wrote."""
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


def _is_pre_commit_script(path: Path) -> bool:
    """pre-commit's own script: cpv's runs the config's hooks itself, so it is replaced."""
    from pre_commit.commands.install_uninstall import is_our_script

    return bool(is_our_script(str(path)))


def plan_hooks(root: Path) -> HookPlan:
    """Where cpv's hooks go and which other hooks there are kept; changes nothing."""
    if not (root / ".pre-commit-config.yaml").exists():
        raise RepositoryError(
            f"{root} has no .pre-commit-config.yaml",
            "run this in a repo made by `cpv init` or the cpv template",
        )
    if _in_user_site():
        raise RepositoryError(
            "cpv is installed in the user site-packages, which the hooks (isolated `python -I`, "
            "so no repo file can shadow a module) do not see",
            "install cpv in a virtualenv or with pipx, then run `cpv install` again",
        )
    plan = HookPlan(Git(root).hooks_dir(), list(HOOK_TYPES))
    for name in HOOK_TYPES:
        dest, legacy = plan.directory / name, plan.directory / f"{name}{LEGACY}"
        foreign = dest.exists() and not is_cpv_hook(dest) and not _is_pre_commit_script(dest)
        if foreign and legacy.exists():
            raise RepositoryError(
                f"both {dest} and {legacy} are hooks of other tools",
                f"merge them into one, or move {legacy} away, then run `cpv install` again",
            )
        if foreign or legacy.exists():
            plan.chained.append(name)
    return plan


def install_hooks(root: Path) -> HookPlan:
    """Install cpv's native hook script for every stage cpv serves.

    Each runs cpv's hook directly, then a kept ``<hook>.legacy``, and hands the config's
    other hooks to the pre-commit framework (see ``hooks/cpv-hook``).
    """
    plan = plan_hooks(root)
    git = Git(root)
    git.run("config", INSTALLED, "true")  # this repo's own config: where cpv's hooks act
    git.run("config", "push.followTags", "true")  # a plain `git push` carries the version tags
    git.run("config", "push.autoSetupRemote", "true")  # ...and works on the first push too
    follow_marks(git)  # `git fetch` brings which versions a gc pruned
    plan.directory.mkdir(parents=True, exist_ok=True)
    python = Path(sys.executable).as_posix()  # C:/... under Git for Windows' sh
    text = (data_dir("hooks") / "cpv-hook").read_text().replace("@PYTHON@", shlex.quote(python))
    for name in HOOK_TYPES:
        dest = plan.directory / name
        if name in plan.chained and dest.exists() and not is_cpv_hook(dest):
            if _is_pre_commit_script(dest):
                dest.unlink()
            else:
                os.replace(dest, plan.directory / f"{name}{LEGACY}")
        dest.write_text(text)
        os.chmod(dest, 0o755)
    return plan


def _in_user_site() -> bool:
    """True when cpv itself lives in the user site-packages (``pip install --user``)."""
    import site

    user = Path(site.getusersitepackages()).resolve()
    return Path(__file__).resolve().is_relative_to(user)


def uninstall_hooks(root: Path, dry_run: bool = False) -> HookPlan:
    """Remove cpv's hook scripts and put back the hooks of other tools they chained."""
    directory = Git(root).hooks_dir()
    plan = HookPlan(directory)
    for name in HOOK_TYPES:
        dest, legacy = directory / name, directory / f"{name}{LEGACY}"
        if not is_cpv_hook(dest):
            continue
        plan.hooks.append(name)
        if legacy.exists():
            plan.restored.append(name)
        if dry_run:
            continue
        if legacy.exists():
            os.replace(legacy, dest)
        else:
            dest.unlink()
    return plan


def install(path: Path | str | None = None) -> tuple[HookPlan, SyncReport]:
    """The whole set-up of a fresh clone: hooks, then the artifacts of the checked-out commit."""
    root = find_root(path)
    return install_hooks(root), Workspace(root).sync()
