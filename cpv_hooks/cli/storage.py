"""``cpv gc``: clean the DVC remote or the local cache (a dry run unless ``--yes``)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click

from cpv_hooks.cli.output import echo_json

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "hours"}


def parse_duration(text: str) -> timedelta:
    """``24h``, ``30m``, ``2d``, ``0`` (a bare number is hours)."""
    from cpv_hooks.errors import ValidationError

    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValidationError(
            f"--grace '{text}' is not a duration", "write it as hours or with a unit: 24h, 30m, 2d"
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@click.command()
@click.option("--cache", "local", is_flag=True, help="Clean the local cache instead of the remote.")
@click.option("--yes", is_flag=True, help="Delete (the default is a dry run).")
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    help="Never delete remote objects younger than this (e.g. 24h, 30m, 0).",
)
@click.option(
    "--keep-last",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="With --cache: also keep the last N versions of each kind.",
)
@click.option("--remote", default="origin", show_default=True, help="The git remote to read.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--repo", "-C", type=click.Path(path_type=Path), help="The model repo.")
@click.pass_context
def gc(
    ctx: click.Context,
    local: bool,
    yes: bool,
    grace: str,
    keep_last: int,
    remote: str,
    as_json: bool,
    repo: Path | None,
) -> None:
    """Delete stored objects no version needs: those of every commit of every branch and tag
    on the git remote, and of this clone's unpushed work, stay; so do remote objects younger
    than --grace. A dry run unless --yes."""
    from cpv_hooks.gc import collect, collect_cache
    from cpv_hooks.repo import find_root

    root = find_root(repo)
    apply = yes and not ctx.obj.get("dry_run")
    if local:
        report = collect_cache(root, keep_last=keep_last, apply=apply)
    else:
        report = collect(root, grace=parse_duration(grace), apply=apply, git_remote=remote)
    if as_json:
        echo_json(report.as_dict())
        return
    click.echo(
        f"{report.target}: {report.stored} object(s) stored, {report.needed} needed by "
        f"{report.commits} commit(s)"
        + (f" of {report.refs} ref(s)" if report.refs else "")
        + (f", {report.recent} unneeded kept (recent or unpushed)" if report.recent else "")
    )
    done = "deleted" if report.applied else "dry run: would delete"
    click.echo(f"{done} {len(report.delete)} object(s), {report.bytes} bytes")
    if not report.applied and report.delete:
        click.echo("run again with --yes to delete them")
