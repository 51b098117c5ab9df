"""``cpv registry``: the team-wide listing of every model version, read from the bucket."""

from __future__ import annotations

import click

from cpv_hooks.cli.output import echo


@click.group()
def registry() -> None:
    """The team registry: every team's models and versions, read from S3 with no clone."""


@registry.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to trust.")
def rebuild(remote: str) -> None:
    """Re-derive this model's registry entries from its version tags on the git remote."""
    from cpv_hooks.registry import rebuild as do_rebuild
    from cpv_hooks.repo import find_root

    tags = do_rebuild(find_root(), remote)
    echo(f"registry entries match the {len(tags)} version(s) on {remote}")
