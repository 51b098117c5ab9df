"""``cpv gc``: clean the DVC remote or the local cache (a dry run unless ``--yes``)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click

from cpv_hooks.cli.output import echo, echo_json

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
    help="Never delete remote objects younger than this (e.g. 24h, 30m, 0; default 24h).",
)
@click.option(
    "--keep-last",
    type=click.IntRange(min=0),
    help="Keep the data of the last N versions of each kind (--cache: default 1).",
)
@click.option("--keep", "keep", multiple=True, help="Keep versions matching this tag glob.")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    help="Keep versions younger than this many days.",
)
@click.option("--remote", default="origin", show_default=True, help="The git remote to read.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--repo", "-C", type=click.Path(path_type=Path), help="The model repo.")
@click.pass_context
def gc(
    ctx: click.Context,
    local: bool,
    yes: bool,
    grace: str | None,
    keep_last: int | None,
    keep: tuple[str, ...],
    older_than: float | None,
    remote: str,
    as_json: bool,
    repo: Path | None,
) -> None:
    """Delete stored objects no version needs (a dry run unless --yes).

    \b
    Kept on the remote: the data of every commit of every branch and tag on the git remote
    and of this clone's unpushed work, and objects younger than --grace. With a retention
    policy (--keep-last, --keep, --older-than, or retention: in .cpv.yaml) only ref tips,
    kept versions and unpushed commits stay; pruned versions keep their tags, marked pruned.
    """
    from dataclasses import replace

    from cpv_hooks.gc import collect, collect_cache
    from cpv_hooks.repo import find_root, load_repo_config

    root = find_root(repo)
    apply = yes and not ctx.obj.get("dry_run")
    policy = load_repo_config(root).retention
    if keep_last is not None or keep or older_than is not None:
        policy = replace(policy, keep_last=keep_last, keep=keep, older_than_days=older_than)
    if local:
        last = policy.keep_last if policy.keep_last is not None else 1
        report = collect_cache(root, keep_last=last, apply=apply)
    else:
        wait = parse_duration(grace) if grace else timedelta(hours=policy.grace_hours)
        report = collect(root, grace=wait, apply=apply, git_remote=remote, policy=policy)
    if as_json:
        echo_json(report.as_dict())
        return
    echo(
        f"{report.target}: {report.stored} object(s) stored, {report.needed} needed by "
        f"{report.commits} commit(s)"
        + (f" of {report.refs} ref(s)" if report.refs else "")
        + (f", {report.recent} unneeded kept (recent or unpushed)" if report.recent else "")
    )
    if report.kept or report.pruned:
        echo(f"versions kept: {', '.join(report.kept) or 'none'}")
        echo(f"versions pruned: {', '.join(report.pruned) or 'none'}")
    done = "deleted" if report.applied else "dry run: would delete"
    echo(f"{done} {len(report.delete)} object(s), {report.bytes} bytes")
    if not report.applied and report.delete:
        echo("run again with --yes to delete them")
