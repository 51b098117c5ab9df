"""What the ``cpv`` command prints: plans, version tables, version details, JSON."""

from __future__ import annotations

import json
from typing import Any

import click


def echo_json(data: Any) -> None:
    """``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, default=str))


def print_plan(plan: Any, what: str) -> None:
    """One line for what an operation did (or, under --dry-run, would do)."""
    if plan is None:
        return
    if plan.dry_run:
        changed = ", ".join(plan.changed) or "nothing new"
        click.echo(
            f"dry run: would version {changed} as {', '.join(plan.tags) or '-'}; nothing changed"
        )
        return
    if not plan.tags:
        click.echo("already there: nothing to version")
        return
    sent = f", uploaded {plan.upload_objects} object(s)" if plan.upload_objects else ""
    click.echo(f"{what} {', '.join(plan.tags)}{sent}")


def print_versions(versions: list[Any], as_json: bool) -> None:
    """A table of versions (tag, date, size, message, metrics), or JSON."""
    if as_json:
        echo_json([v.model_dump(by_alias=True) for v in versions])
        return
    if not versions:
        click.echo("no versions yet")
    for v in versions:
        size = sum(a.size for a in v.artifacts.values())
        metrics = " ".join(f"{k}={val:g}" for k, val in list(v.metrics.items())[:4])
        pruned = f"  [data pruned {v.pruned}]" if v.pruned else ""
        click.echo(
            f"{v.tag:<12} {v.date[:19]:<19}  {size / 1e6:>9.2f} MB  {v.message[:40]:<40} "
            f"{metrics}{pruned}"
        )


def print_info(meta: dict[str, Any], as_json: bool) -> None:
    """The details of one version, or JSON."""
    if as_json:
        echo_json(meta)
        return
    click.echo(f"{meta['tag']}  ({meta['kind']} version, commit {meta['commit'][:10]})")
    click.echo(f"date:    {meta['date']}\nauthor:  {meta['author']}\nmessage: {meta['message']}")
    for path, art in meta["artifacts"].items():
        files = f", {art['nfiles']} files" if art.get("nfiles") is not None else ""
        click.echo(f"{path}: {art['size']} bytes{files}, md5 {art['md5']} ({art['store']})")
    for key, value in meta.get("metrics", {}).items():
        click.echo(f"metric {key}: {value:g}")
