"""The ``cpv`` command: a thin click layer over the Python API; it only formats results."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cpv_hooks.errors import CPVError

F = TypeVar("F", bound=Callable[..., Any])


class CPVGroup(click.Group):
    """Maps CPVError to its exit code and one line; ``--verbose`` adds the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CPVError as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            click.echo(f"cpv: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=CPVGroup)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and more detail.")
@click.version_option(package_name="cpv")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """cpv - version model checkpoints and training data with plain git, DVC and S3."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


@cli.command()
@click.option("--team-name", "-t", required=True, help="AI team name (lowercase slug).")
@click.option("--model-name", "-m", required=True, help="Model name (lowercase slug).")
@click.option("--data-path", "-d", help="Directory of initial training data to copy into data/.")
@click.option(
    "--repo-path",
    "-r",
    type=click.Path(path_type=Path),
    help="Where to create the repo (default: ./<model-name>).",
)
@click.option(
    "--storage",
    type=click.Choice(["auto", "s3", "local"]),
    default="auto",
    show_default=True,
    help="auto: S3 when configured, else a local remote.",
)
@click.option(
    "--s3-bucket", help="S3 bucket (default from `cpv aws-config`, else vmo-model-checkpoints)."
)
@click.option("--s3-region", help="S3 region.")
@click.option("--s3-endpoint-url", help="S3-compatible endpoint URL (empty for AWS).")
@click.option("--aws-profile", help="AWS profile name.")
@click.option("--aws-credential-path", help="AWS credentials file.")
@click.option("--git-remote-url", help="Git remote (e.g. the Bitbucket ssh url).")
def init(
    team_name: str,
    model_name: str,
    data_path: str | None,
    repo_path: Path | None,
    storage: str,
    s3_bucket: str | None,
    s3_region: str | None,
    s3_endpoint_url: str | None,
    aws_profile: str | None,
    aws_credential_path: str | None,
    git_remote_url: str | None,
) -> None:
    """Create a model repo: git, DVC, remote, hooks and a first commit."""
    from cpv_hooks.scaffold import create

    path = create(
        team_name,
        model_name,
        repo_path,
        data_path=data_path,
        storage=storage,
        s3_bucket=s3_bucket,
        s3_region=s3_region,
        s3_endpoint_url=s3_endpoint_url,
        aws_profile=aws_profile,
        aws_credential_path=aws_credential_path,
        git_remote_url=git_remote_url,
    )
    click.echo(f"created {path}")


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
def install(path: Path | None) -> None:
    """Set up a clone: git hooks, then the model and data of the checked-out commit."""
    from cpv_hooks.install import install as do_install

    report = do_install(path)
    fetched = f", fetched {report.fetched} object(s)" if report.fetched else ""
    restored = ", ".join(report.restored) or "nothing to check out"
    click.echo(f"hooks installed; {restored}{fetched}")


@cli.command()
@click.argument("tag")
@click.option("--remote", default="origin", show_default=True, help="Git remote to check.")
def retag(tag: str, remote: str) -> None:
    """Renumber version TAG to the next version free here and on the remote."""
    from cpv_hooks.repo import find_root
    from cpv_hooks.tagging import retag as do_retag

    click.echo(f"{tag} -> {do_retag(find_root(), tag, remote)}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    try:
        code = cli.main(args=argv, prog_name="cpv", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
