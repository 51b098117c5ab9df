"""What the ``cpv`` command prints: plans, version tables, version details, JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from cpv_hooks.errors import printable


def echo(message: str = "", err: bool = False) -> None:
    """Print a message, control characters escaped: data from a repo may hold any."""
    click.echo(printable(message), err=err)


def echo_json(data: Any) -> None:
    """``data`` as indented JSON."""
    echo(json.dumps(data, indent=2, default=str))


def print_plan(plan: Any, what: str) -> None:
    """One line for what an operation did (or, under --dry-run, would do)."""
    if plan is None:
        return
    if plan.dry_run:
        changed = ", ".join(plan.changed) or "nothing new"
        echo(f"dry run: would version {changed} as {', '.join(plan.tags) or '-'}; nothing changed")
        return
    if not plan.tags:
        echo("already there: nothing to version")
        return
    sent = f", uploaded {plan.upload_objects} object(s)" if plan.upload_objects else ""
    healed = f" (earlier commits that had none: {', '.join(plan.healed)})" if plan.healed else ""
    echo(f"{what} {', '.join(plan.tags)}{sent}{healed}")


def print_versions(versions: list[Any], as_json: bool) -> None:
    """A table of versions (tag, date, size, message, metrics), or JSON."""
    if as_json:
        echo_json([v.model_dump(by_alias=True) for v in versions])
        return
    if not versions:
        echo("no versions yet")
    for v in versions:
        size = sum(a.size for a in v.artifacts.values())
        metrics = " ".join(f"{k}={val:g}" for k, val in list(v.metrics.items())[:4])
        pruned = f"  [data pruned {v.pruned}]" if v.pruned else ""
        echo(
            f"{v.tag:<12} {v.date[:19]:<19}  {size / 1e6:>9.2f} MB  {v.message[:40]:<40} "
            f"{metrics}{pruned}"
        )


def print_info(meta: dict[str, Any], as_json: bool) -> None:
    """The details of one version, or JSON."""
    if as_json:
        echo_json(meta)
        return
    echo(f"{meta['tag']}  ({meta['kind']} version, commit {meta['commit'][:10]})")
    echo(f"date:    {meta['date']}\nauthor:  {meta['author']}\nmessage: {meta['message']}")
    for path, art in meta["artifacts"].items():
        files = f", {art['nfiles']} files" if art.get("nfiles") is not None else ""
        echo(f"{path}: {art['size']} bytes{files}, md5 {art['md5']} ({art['store']})")
    for key, value in meta.get("metrics", {}).items():
        echo(f"metric {key}: {value:g}")
    echo(f"signature: {meta['signature']}")
