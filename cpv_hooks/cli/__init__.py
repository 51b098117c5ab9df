"""The ``cpv`` command: a thin click layer over the Python API; it only formats results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cpv_hooks.boundary import INTERRUPTED
from cpv_hooks.cli.output import echo, echo_json, print_info, print_plan, print_versions
from cpv_hooks.errors import CPVError, CredentialError
from cpv_hooks.versions import Kind

F = TypeVar("F", bound=Callable[..., Any])


class CPVGroup(click.Group):
    """The error boundary: one line and an exit code for every error (cpv_hooks.boundary)."""

    def invoke(self, ctx: click.Context) -> Any:
        from cpv_hooks.boundary import handle

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            prefix = "cpv: error" if isinstance(exc, CPVError) else "cpv"
            ctx.exit(handle(exc, prefix, bool(ctx.obj and ctx.obj.get("verbose"))))


@click.group(cls=CPVGroup)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and more detail.")
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.version_option(package_name="cpv-hooks")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, dry_run: bool) -> None:
    """cpv - version model checkpoints and training data with plain git, DVC and S3.

    \b
    Exit codes: 0 ok, 1 failure (e.g. validate), 2 bad input, 3 configuration,
    4 git, 5 DVC, 6 storage, 7 version not found, 8 repository, 9 credentials,
    70 unexpected error (traceback in the crash log), 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["dry_run"] = dry_run


@cli.command()
@click.option("--team-name", "-t", help="AI team name (lowercase slug; asked in a terminal).")
@click.option("--model-name", "-m", help="Model name (lowercase slug; asked in a terminal).")
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
@click.option("--model", "models", multiple=True, help="Adopting: a model file/dir to version.")
@click.option("--data", "datas", multiple=True, help="Adopting: a data file/dir to version.")
@click.option("--force", is_flag=True, help="Adopting: proceed despite uncommitted changes.")
def init(
    team_name: str | None,
    model_name: str | None,
    data_path: str | None,
    repo_path: Path | None,
    storage: str,
    s3_bucket: str | None,
    s3_region: str | None,
    s3_endpoint_url: str | None,
    aws_profile: str | None,
    aws_credential_path: str | None,
    git_remote_url: str | None,
    models: tuple[str, ...],
    datas: tuple[str, ...],
    force: bool,
) -> None:
    """Create a model repo: git, DVC, remote, hooks and a first commit.

    Inside an existing git repo (or with --repo-path at one) adopt it instead: keep its
    history, tags, files and DVC remote; version the models and data it already has.
    """
    from cpv_hooks.adopt import adopt, is_adoptable, plan_adoption
    from cpv_hooks.cli.wizard import ask_missing, confirm, interactive
    from cpv_hooks.errors import ValidationError
    from cpv_hooks.scaffold import create

    asked = team_name is None or model_name is None
    names = ask_missing({"team_name": team_name, "model_name": model_name})
    team_name, model_name = names["team_name"], names["model_name"]

    where = repo_path if repo_path is not None else Path.cwd()
    remote: dict[str, Any] = {
        "storage": storage,
        "s3_bucket": s3_bucket,
        "s3_region": s3_region,
        "s3_endpoint_url": s3_endpoint_url,
        "aws_profile": aws_profile,
        "aws_credential_path": aws_credential_path,
    }
    if is_adoptable(where):
        if data_path:
            raise ValidationError(
                f"{where} is an existing repo: --data-path copies data into a new one only",
                "name the repo's own data with --data PATH instead",
            )
        plan = plan_adoption(where, team_name, model_name, list(models), list(datas), force)
        for line in plan.lines():
            echo(line)
        if plan.already or _dry_run(f"adopt {plan.root}"):
            return
        if asked and interactive():
            confirm("Adopt it so?")
        made = adopt(plan, **remote)
        echo(f"adopted {plan.root}" + (f"; tagged {', '.join(made)}" if made else ""))
        return
    if asked and interactive() and not click.get_current_context().obj["dry_run"]:
        target = (repo_path or Path(model_name)).resolve()
        confirm(f"Create the model repo {team_name}/{model_name} in {target}?")
    path = create(
        team_name,
        model_name,
        repo_path,
        dry_run=click.get_current_context().obj["dry_run"],
        data_path=data_path,
        git_remote_url=git_remote_url,
        **remote,
    )
    if not _dry_run(f"create the model repo {team_name}/{model_name} in {path}"):
        echo(f"created {path}")


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
def install(path: Path | None) -> None:
    """Set up a clone: git hooks, then the model and data of the checked-out commit.

    Hooks of other tools are kept and run after cpv's (`cpv uninstall` puts them back).
    """
    from cpv_hooks.install import install as do_install
    from cpv_hooks.install import plan_hooks
    from cpv_hooks.repo import find_root

    if _dry_run(plan_hooks(find_root(path)).describe("install") + ", check out HEAD's data"):
        return
    hooks, report = do_install(path)
    fetched = f", fetched {report.fetched} object(s)" if report.fetched else ""
    restored = ", ".join(report.restored) or "nothing to check out"
    echo(f"{hooks.describe('installed')}; {restored}{fetched}")


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
def uninstall(path: Path | None) -> None:
    """Remove cpv's git hooks; hooks of other tools it kept are put back."""
    from cpv_hooks.install import uninstall_hooks
    from cpv_hooks.repo import find_root

    dry = click.get_current_context().obj["dry_run"]
    plan = uninstall_hooks(find_root(path), dry_run=dry)
    if not _dry_run(plan.describe("remove")):
        echo(plan.describe("removed"))


@cli.command()
@click.argument("tag")
@click.option("--remote", default="origin", show_default=True, help="Git remote to check.")
@click.option("--to", help="The new name (above the newest version); default: chosen by cpv.")
@click.pass_context
def retag(ctx: click.Context, tag: str, remote: str, to: str | None) -> None:
    """Make TAG a proper version: its own name when free and above the newest, else the next
    number free here and on the remote. Says what it does (or, with --dry-run, would do)."""
    from cpv_hooks.repo import find_root
    from cpv_hooks.tagging import retag as do_retag

    done = do_retag(find_root(), tag, remote, to, dry_run=ctx.obj["dry_run"])
    would = "dry run, nothing changed: " if ctx.obj["dry_run"] else ""
    echo(f"{would}{done.old} -> {done.new} ({done.reason})")


# -- helpers --------------------------------------------------------------------------


def _dry_run(plan: str) -> bool:
    """Under the global ``--dry-run``, print ``plan`` and tell the command to stop there."""
    ctx = click.get_current_context()
    if not ctx.obj.get("dry_run"):
        return False
    echo(f"dry run: would {plan}; nothing changed")
    return True


def _set_repo(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj["repo"] = value


repo_option = click.option(
    "--repo",
    "-C",
    type=click.Path(path_type=Path),
    callback=_set_repo,
    expose_value=False,
    help="The model repo (default: here).",
)


def _opts(ctx: click.Context, **extra: Any) -> dict[str, Any]:
    return {"verbose": ctx.obj["verbose"], "dry_run": ctx.obj["dry_run"], **extra}


def _manager(ctx: click.Context, cls_name: str) -> Any:
    """The API manager for the model repo around the current directory."""
    from cpv_hooks import checkpoints
    from cpv_hooks.repo import find_root, load_repo_config

    root = find_root(ctx.obj.get("repo"))
    conf = load_repo_config(root)
    if not conf.team:
        from cpv_hooks.errors import RepositoryError

        raise RepositoryError(f"{root} has no .cpv.yaml", "run cpv in a repo made by `cpv init`")
    from cpv_hooks.stale import stale_message
    from cpv_hooks.workspace import Workspace

    stale = stale_message(Workspace(root))
    if stale:
        click.echo(f"cpv: {stale}", err=True)
    cls = getattr(checkpoints, cls_name)
    return cls(conf.team, conf.model, repo_path=root, **_opts(ctx))


def _parse_metrics(items: tuple[str, ...], metrics_file: Path | None) -> dict[str, float] | None:
    from cpv_hooks.errors import ValidationError
    from cpv_hooks.metrics import METRIC_NAME, parse_metrics

    if metrics_file is not None:
        try:
            return parse_metrics(metrics_file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"--metrics-file {metrics_file} is not a text file",
                "give the training log that holds lines like acc: 0.91",
            ) from exc
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not METRIC_NAME.fullmatch(key.strip()):
            sep = ""  # a name metrics.log could not give back (spaces, quotes...)
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise ValidationError(
                f"bad metric '{item}'",
                "write it as name=number with a name of letters, digits and _./-, e.g. acc=0.91",
            )
    return out


@cli.command()
@repo_option
@click.pass_context
def heal(ctx: click.Context) -> None:
    """Version the commits of HEAD's history that changed the model or data but have no tag."""
    healed = _manager(ctx, "CombinedCheckpointsManage").heal(**_opts(ctx))
    verb = "would tag" if ctx.obj["dry_run"] else "tagged"
    for h in healed:
        echo(f"{verb} {h.tag} on {h.commit[:8]} ({h.subject[:60]})")
    if not healed:
        echo("every version is tagged: nothing to heal")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["model", "data"]), required=True, help="What it is.")
@click.pass_context
def track(ctx: click.Context, path: Path, kind: Kind) -> None:
    """Version PATH (a file or a directory, e.g. a Hugging Face model folder) from the next
    commit: declared in .cpv.yaml, its pointer made and staged."""
    from cpv_hooks.track import track as do_track

    done = do_track(path, kind, dry_run=ctx.obj["dry_run"])
    what = f"version {done.artifact.path} as {kind} ({', '.join(done.staged)} staged)"
    if not _dry_run(what):
        echo(f"cpv: will {what}: commit to make its first version")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.pass_context
def untrack(ctx: click.Context, path: Path) -> None:
    """Stop versioning PATH with cpv (.cpv.yaml); its data and pointer are left as they are."""
    from cpv_hooks.track import untrack as do_untrack

    done = do_untrack(path, dry_run=ctx.obj["dry_run"])
    what = f"stop versioning {done.artifact.path} (its pointer {done.artifact.pointer} stays)"
    if not _dry_run(what):
        echo(f"cpv: {what}; .cpv.yaml staged: commit it")


# -- shared commands of `cpv model` and `cpv data` ------------------------------------

KIND_CLASS = {"model": "ModelsCheckpointsManage", "data": "DataCheckpointsManage"}


def _kind_group(kind: Kind) -> click.Group:
    art = "model.bin" if kind == "model" else "data/"

    @click.group(name=kind, help=f"{kind.capitalize()} versions ({art}).")
    @repo_option
    def group() -> None:
        pass

    @group.command(help=f"Version {art} (or PATH, copied there) and upload it; prints the tag.")
    @click.argument("path", required=False, type=click.Path(path_type=Path))
    @click.option(
        "--tag", "version_tag", help="Exact version to create, e.g. v1.0 (default: next)."
    )
    @click.option("--message", "-m", help="Commit message.")
    @click.option("--metric", "metrics", multiple=True, help="name=value (model only; repeatable).")
    @click.option(
        "--metrics-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A metrics log to copy into metrics.log (model only).",
    )
    @click.option("--force", is_flag=True, help="Replace unversioned changes (they are set aside).")
    @click.option(
        "--no-push", is_flag=True, help="Commit and tag only; upload/push later with git push."
    )
    @click.option(
        "--notify/--no-notify",
        default=None,
        help="Announce the version to the webhook (default: when `cpv config notify` set one).",
    )
    @click.pass_context
    def upload(
        ctx: click.Context,
        path: Path | None,
        version_tag: str | None,
        message: str | None,
        metrics: tuple[str, ...],
        metrics_file: Path | None,
        force: bool,
        no_push: bool,
        notify: bool | None,
    ) -> None:
        mgr = _manager(ctx, KIND_CLASS[kind])
        opts = _opts(
            ctx,
            force=force,
            push=not no_push,
            message=message,
            version_tag=version_tag,
            notify=notify,
        )
        if kind == "model":
            mgr.upload_model_checkpoint(path, _parse_metrics(metrics, metrics_file), **opts)
        else:
            mgr.upload_data_checkpoint(path, **opts)
        print_plan(mgr.last_plan, "versioned")

    @group.command(help=f"Write a {kind} version to a directory, without touching the work tree.")
    @click.option("--tag", help="Version (default: the latest).")
    @click.option("--output-dir", "-o", type=click.Path(path_type=Path), help="Default: here.")
    @click.option("--repo-url", help="Download from this git URL instead of a local repo.")
    @click.option(
        "--registry", "registry_name", metavar="TEAM/MODEL", help="From the team registry (S3)."
    )
    @click.option("--stage", help="The version in this stage (e.g. prod).")
    @click.option(
        "--path",
        "paths",
        multiple=True,
        help="Only these files of a directory version (glob, e.g. 'images/val/*'; repeatable).",
    )
    @click.option("--force", is_flag=True, help="Overwrite an existing file in the output dir.")
    @click.option("--no-cache", is_flag=True, help="Always fetch from the remote storage.")
    @click.pass_context
    def download(
        ctx: click.Context,
        tag: str | None,
        output_dir: Path | None,
        repo_url: str | None,
        registry_name: str | None,
        stage: str | None,
        paths: tuple[str, ...],
        force: bool,
        no_cache: bool,
    ) -> None:
        from cpv_hooks.checkpoints import Options, export_from_url

        if registry_name:
            from cpv_hooks.cli.registry import open_registry

            entry, written = open_registry().download(
                registry_name, tag, output_dir or Path.cwd(), kind, force, stage, paths
            )
            for dest, md5 in written:
                echo(f"{registry_name} {entry['tag']}: {dest} (md5 {md5} verified)")
            return
        opts = _opts(ctx, force=force, use_cache=not no_cache, paths=paths)
        if repo_url:
            done = export_from_url(repo_url, kind, tag, output_dir, Options.of(**opts))
        else:
            mgr = _manager(ctx, KIND_CLASS[kind])
            if stage:
                from cpv_hooks.stages import staged_version

                tag = staged_version(mgr.git, stage)
            done = mgr.export(kind, tag, output_dir, **opts)
        for dest, ptr, name in done:
            if not _dry_run(f"write {name}'s {dest.name} (md5 {ptr.md5}) to {dest}"):
                echo(f"{name}: {dest} (md5 {ptr.md5} verified)")

    @group.command(
        name="list-tags", help=f"List {kind} versions from the tags (no checkout, no S3)."
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_context
    def list_tags(ctx: click.Context, as_json: bool) -> None:
        from cpv_hooks.stages import current, events
        from cpv_hooks.tagging import scan_manifests

        mgr = _manager(ctx, KIND_CLASS[kind])
        versions, unlisted = scan_manifests(mgr.git, kind)
        print_versions(versions, as_json, current(events(mgr.git)) if kind == "model" else None)
        for name, exc in unlisted.items():  # one line for each version tag left out, and why
            echo(f"cpv: warning: {name} is not listed: {exc}", err=True)

    @group.command(help=f"Bring {art} back to a version, committed as a new version.")
    @click.option("--tag", required=True, help="The version to bring back.")
    @click.option("--force", is_flag=True, help="Replace unversioned changes (they are set aside).")
    @click.pass_context
    def revert(ctx: click.Context, tag: str, force: bool) -> None:
        mgr = _manager(ctx, KIND_CLASS[kind])
        if kind == "model":
            mgr.revert_model_checkpoint(tag, **_opts(ctx, force=force))
        else:
            mgr.revert_data_checkpoint(tag, **_opts(ctx, force=force))
        print_plan(mgr.last_plan, f"reverted to {tag} as")

    @group.command(help=f"Date, author, message, sizes, hashes and metrics of a {kind} version.")
    @click.option("--tag", help="Version (default: the latest).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_context
    def info(ctx: click.Context, tag: str | None, as_json: bool) -> None:
        print_info(_manager(ctx, KIND_CLASS[kind]).metadata(kind, tag), as_json)

    return group


cli.add_command(_kind_group("model"))
cli.add_command(_kind_group("data"))


@cli.group()
@repo_option
def checkpoint() -> None:
    """Model and data together."""


@checkpoint.command(name="create")
@click.option("--tag", "version_tag", help="Exact version for both, e.g. v1.0 (default: next).")
@click.option("--message", "-m", help="Commit message.")
@click.option("--no-push", is_flag=True, help="Commit and tag only.")
@click.pass_context
def checkpoint_create(
    ctx: click.Context, version_tag: str | None, message: str | None, no_push: bool
) -> None:
    """Version whatever changed of model.bin, metrics.log and data/ in one commit."""
    mgr = _manager(ctx, "CombinedCheckpointsManage")
    mgr.tag_model_and_data(version_tag, message, **_opts(ctx, push=not no_push))
    print_plan(mgr.last_plan, "versioned")


@checkpoint.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def checkpoint_list(ctx: click.Context, as_json: bool) -> None:
    """List model and data versions."""
    print_versions(_manager(ctx, "CombinedCheckpointsManage").versions(), as_json)


@checkpoint.command(name="revert")
@click.option("--tag", required=True, help="Version: v1.2 brings back model v1.2 and data-v1.2.")
@click.option("--force", is_flag=True, help="Replace unversioned changes (they are set aside).")
@click.pass_context
def checkpoint_revert(ctx: click.Context, tag: str, force: bool) -> None:
    """Bring model and data back to a version, committed as a new version."""
    mgr = _manager(ctx, "CombinedCheckpointsManage")
    mgr.revert_model_and_data(tag, **_opts(ctx, force=force))
    print_plan(mgr.last_plan, f"reverted to {tag} as")


@cli.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff_cmd(a: str, b: str, as_json: bool) -> None:
    """What changed from version A to version B: metrics, model, data files."""
    from cpv_hooks.checkpoints import diff
    from cpv_hooks.repo import find_root

    result = diff(find_root(), a, b)
    if as_json:
        echo_json(result)
        return
    echo(f"{a} -> {b}")
    for key, m in result["metrics"].items():
        delta = f" ({m['delta']:+g})" if m["delta"] is not None else ""
        echo(f"metric {key}: {m['from']} -> {m['to']}{delta}")
    for path, art in result["artifacts"].items():
        if not art["changed"]:
            echo(f"{path}: unchanged")
            continue
        sizes = " -> ".join(str(x["size"]) if x else "none" for x in (art["from"], art["to"]))
        echo(f"{path}: changed, size {sizes}")
        for what in ("added", "removed", "modified"):
            for name in art.get(what, []):
                echo(f"  {what}: {name}")


# -- configuration --------------------------------------------------------------------


@cli.command(name="aws-config")
@click.option(
    "--credential-path", "-c", help="AWS credentials file (its path is stored, not its keys)."
)
@click.option("--profile", "-p", help="AWS profile name (default: the stored one, else default).")
@click.option("--bucket", help="S3 bucket for model data.")
@click.option("--region", help="S3 region.")
@click.option("--endpoint-url", help="S3-compatible endpoint (empty for AWS).")
@click.option("--print-policy", is_flag=True, help="Print the IAM policy of --team; store nothing.")
@click.option("--team", help="The team whose least-privilege policy --print-policy prints.")
def aws_config(
    credential_path: str | None,
    profile: str | None,
    bucket: str | None,
    region: str | None,
    endpoint_url: str | None,
    print_policy: bool,
    team: str | None,
) -> None:
    """Store S3 settings; inside a model repo, point its DVC remote at them."""
    from cpv_hooks.config import CPVConfig

    if print_policy:
        from cpv_hooks.config import S3_BUCKET
        from cpv_hooks.errors import ValidationError
        from cpv_hooks.policy import team_policy

        if not team:
            raise ValidationError(
                "--print-policy needs --team", "e.g. --print-policy --team vision"
            )
        stored = CPVConfig().aws
        echo_json(team_policy(bucket or (stored.bucket if stored else S3_BUCKET), team))
        return
    from cpv_hooks.errors import RepositoryError
    from cpv_hooks.repo import find_root, load_repo_config
    from cpv_hooks.scaffold import configure_remote

    dry = click.get_current_context().obj["dry_run"]
    settings = CPVConfig().setup_aws_profile(
        credential_path, profile, bucket, region, endpoint_url, save=not dry
    )
    described = f"S3 settings: bucket {settings.bucket}, region {settings.region}" + (
        f", profile {settings.profile}" if settings.profile else ""
    )
    try:
        root: Path | None = find_root()
    except RepositoryError:
        root = None
    conf = load_repo_config(root) if root else None
    in_repo = root is not None and conf is not None and conf.team and (root / ".dvc").is_dir()
    where = f" and point the DVC remote of {root} at them" if in_repo else ""
    if _dry_run(f"store {described}{where}"):
        return
    echo(f"stored {described}")
    if root is not None and conf is not None and in_repo:
        from cpv_hooks.dvc.config import load as load_dvc_config

        name = load_dvc_config(root).get("core", {}).get("remote", "myremote")
        url = configure_remote(root, conf.team, conf.model, name, settings)
        echo(
            f"this repo's data now goes to {url}: run `cpv validate`, commit .dvc/config "
            "and `git push`"
        )


@cli.command(name="bitbucket-config")
@click.option(
    "--keygen-filename", "-k", help="Key file name in ~/.ssh (default cpv_bitbucket_ed25519)."
)
@click.option("--user", "-u", help="Bitbucket username.")
@click.option("--no-test", is_flag=True, help="Do not try to connect to Bitbucket.")
def bitbucket_config(keygen_filename: str | None, user: str | None, no_test: bool) -> None:
    """Create (or reuse) an SSH key and the ~/.ssh/config entry for Bitbucket on port 443."""
    from cpv_hooks.config import CPVConfig
    from cpv_hooks.ssh import KEYS_PAGE, planned_key

    key, exists = planned_key(keygen_filename)
    made = "reuse" if exists else "create"
    if _dry_run(f"{made} the key {key} and write its Bitbucket entry into ~/.ssh/config"):
        return
    setup, test = CPVConfig().setup_bitbucket_ssh(keygen_filename, user, test=not no_test)
    made = "created" if setup.created_key else "reusing"
    echo(f"{made} key {setup.key_path}; {setup.config_path} has the {setup.host} entry")
    echo(f"add this public key at {KEYS_PAGE}:\n{setup.public_key}")
    if test is not None:
        ok, detail = test
        echo(f"{'PASS' if ok else 'FAIL'} ssh {setup.host}: {detail}")
        if not ok:
            echo(
                f"cpv: error: ssh to {setup.host} failed: add the key above at {KEYS_PAGE}, "
                "then run `cpv bitbucket-config` again",
                err=True,
            )
            raise click.exceptions.Exit(CredentialError.exit_code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate(as_json: bool) -> None:
    """Check for real that the storage is writable and the git remote reachable."""
    from cpv_hooks.checks import validate as run_checks

    if _dry_run("write and delete a probe object on the storage and ask the git remote"):
        return
    checks = run_checks()
    if as_json:
        echo_json([c.__dict__ for c in checks])
    else:
        for c in checks:
            echo(f"{'PASS' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if not all(c.ok for c in checks):
        raise click.exceptions.Exit(1)


from cpv_hooks.cli.storage import gc  # noqa: E402 (command modules register after the group)

cli.add_command(gc)


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    try:
        code = cli.main(args=argv, prog_name="cpv", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:  # Ctrl-C outside a command (click turns it into Abort)
        echo("cpv: interrupted", err=True)
        return INTERRUPTED
    return code if isinstance(code, int) else 0


def _add_registry() -> None:
    from cpv_hooks.cli.registry import config_group, registry, stage

    cli.add_command(registry)
    cli.add_command(config_group)
    model_group = cli.commands["model"]
    assert isinstance(model_group, click.Group)
    model_group.add_command(stage)


_add_registry()
