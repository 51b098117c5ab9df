"""``cpv registry``: the team-wide listing of every model version, read from the bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cpv_hooks.cli.output import echo, echo_json

if TYPE_CHECKING:
    from cpv_hooks.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])


def bucket_options(fn: F) -> F:
    """Where the registry is: default the stored `cpv aws-config` settings."""
    for option in reversed(
        [
            click.option("--bucket", help="S3 bucket (default: the stored one)."),
            click.option("--endpoint-url", help="S3-compatible endpoint."),
            click.option("--profile", help="AWS profile name."),
            click.option("--credential-path", help="AWS credentials file."),
            click.option("--region", help="S3 region."),
        ]
    ):
        fn = option(fn)
    return fn


def open_registry(
    bucket: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    credential_path: str | None = None,
    region: str | None = None,
) -> Registry:
    """The registry the options name (see ``bucket_options``)."""
    from cpv_hooks.registry import Registry

    return Registry(bucket, endpoint_url, profile, credential_path, region)


@click.group()
def registry() -> None:
    """The team registry: every team's models and versions, read from S3 with no clone."""


@registry.command(name="list")
@click.option("--team", help="Only this team.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@bucket_options
def list_models(team: str | None, as_json: bool, **options: str | None) -> None:
    """Every team and model: latest model and data version, date, author, headline metric."""
    rows = open_registry(**options).summary(team)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        echo("no model has published a version yet")
    for r in rows:
        metric = " ".join(f"{k}={v:g}" for k, v in r["metric"].items())
        metric += "".join(f" {stage}={tag}" for stage, tag in sorted(r["stages"].items()))
        echo(
            f"{r['team'] + '/' + r['model']:<32} {r['model_version'] or '-':<8} "
            f"{r['data_version'] or '-':<12} {(r['date'] or '')[:10]:<10}  "
            f"{(r['author'] or '')[:30]:<30} {metric}"
        )


@registry.command()
@click.argument("name", metavar="TEAM/MODEL")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--deleted", is_flag=True, help="Also deleted tags and versions whose data was pruned."
)
@bucket_options
def versions(name: str, as_json: bool, deleted: bool, **options: str | None) -> None:
    """All versions of TEAM/MODEL with their metrics."""
    found = open_registry(**options).versions(name, deleted=deleted)
    if as_json:
        echo_json(found)
        return
    if not found:
        echo(f"{name} has no version in the registry")
    for e in found:
        size = sum(int(a.get("size", 0)) for a in e.get("artifacts", {}).values())
        metrics = " ".join(f"{k}={v:g}" for k, v in list(e.get("metrics", {}).items())[:4])
        gone = " (deleted)" if e.get("deleted") else ""
        gone += f" (data pruned {e['pruned']})" if e.get("pruned") else ""
        gone += f" [{', '.join(e['stages'])}]" if e.get("stages") else ""
        echo(
            f"{e['tag']:<12} {str(e.get('date'))[:19]:<19} {size / 1e6:>9.2f} MB  "
            f"{str(e.get('message'))[:40]:<40} {metrics}{gone}"
        )


@registry.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to trust.")
def rebuild(remote: str) -> None:
    """Re-derive this model's registry entries from its version tags on the git remote."""
    from cpv_hooks.cli import _dry_run
    from cpv_hooks.registry import rebuild as do_rebuild
    from cpv_hooks.repo import find_root

    root = find_root()
    if _dry_run(f"re-derive the registry entries of {root} from the version tags on {remote}"):
        return
    tags = do_rebuild(root, remote)
    echo(f"registry entries match the {len(tags)} version(s) on {remote}")


@click.command()
@click.argument("version")
@click.argument("stage_name", metavar="STAGE")
@click.option("--remove", is_flag=True, help="End the version's assignment to STAGE.")
@click.option("--no-push", is_flag=True, help="Make the stage tag only; push it later.")
@click.pass_context
def stage(ctx: click.Context, version: str, stage_name: str, remove: bool, no_push: bool) -> None:
    """Put model VERSION in STAGE (prod, staging...): an immutable tag stage/STAGE/N, pushed."""
    from cpv_hooks.cli import _dry_run
    from cpv_hooks.errors import GitError
    from cpv_hooks.repo import Git, find_root
    from cpv_hooks.stages import stage as do_stage

    root = find_root((ctx.obj or {}).get("repo"))
    git = Git(root)
    origin = "origin" in git.run("remote").split()
    dry = bool((ctx.obj or {}).get("dry_run"))
    tag = do_stage(root, version, stage_name, remove, "origin" if origin else "", dry_run=dry)
    verb = "left" if remove else "entered"
    pushed = " and push it" if origin and not no_push else ""
    if _dry_run(f"tag {tag} ({version} {'leaves' if remove else 'enters'} {stage_name}){pushed}"):
        return
    if origin and not no_push:
        try:
            git.run("push", "-q", "origin", f"refs/tags/{tag}")
        except GitError as exc:
            raise GitError(
                f"{version} {verb} {stage_name} here ({tag}) but the push failed: {exc.message}",
                f"push it with `git push origin {tag}`",
            ) from exc
    echo(f"{version} {verb} {stage_name} ({tag}{'' if origin and not no_push else ', not pushed'})")


@registry.command(name="html")
@click.option("--output-dir", "-o", required=True, type=click.Path(), help="Where index.html goes.")
@click.option("--team", help="Only this team.")
@bucket_options
def html_site(output_dir: str, team: str | None, **options: str | None) -> None:
    """A static dashboard (one index.html, works offline): teams, models, charts, versions."""
    from pathlib import Path

    from cpv_hooks.cli import _dry_run
    from cpv_hooks.dashboard import write_site

    if _dry_run(f"write {Path(output_dir) / 'index.html'} from the registry"):
        return
    echo(f"wrote {write_site(open_registry(**options), Path(output_dir), team)}")


@click.group(name="config")
def config_group() -> None:
    """User settings kept outside every repo (in the cpv config dir)."""


@config_group.command()
@click.option("--webhook", help="Chat webhook URL (Slack-compatible) announcing new versions.")
@click.option("--off", is_flag=True, help="Stop notifications.")
def notify(webhook: str | None, off: bool) -> None:
    """Announce every published version to a webhook (CPV_NOTIFY_WEBHOOK overrides it)."""
    from urllib.parse import urlsplit

    from cpv_hooks.config import CPVConfig
    from cpv_hooks.errors import ValidationError
    from cpv_hooks.notify import check_url

    if not off and not webhook:
        raise ValidationError("give --webhook URL or --off", "e.g. cpv config notify --webhook URL")
    from cpv_hooks.cli import _dry_run

    url = "" if off else check_url(webhook or "")
    if _dry_run("turn notifications off" if off else "store the notification webhook"):
        return
    CPVConfig().set_notify(url)
    host = urlsplit(url).hostname or ""
    echo(f"new versions will be announced to {host}" if url else "notifications off")
