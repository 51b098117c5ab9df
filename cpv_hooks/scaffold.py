"""Creating a model repo: the cookiecutter template is the one source of the layout.

``cpv init`` runs the template; the template's post-gen hook calls :func:`finish`, which makes
the generated files a working repo (git, DVC, remote, hooks, first commit).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from cpv_hooks.config import S3_BUCKET, AWSSettings, CPVConfig, local_remote_dir
from cpv_hooks.errors import REINSTALL_HINT, RepositoryError, ValidationError
from cpv_hooks.install import data_dir, install_hooks
from cpv_hooks.repo import Git, validate_name
from cpv_hooks.tagging import tag_commit
from cpv_hooks.workspace import Workspace

TEMPLATE_VARIABLES = (
    "storage",
    "s3_bucket",
    "s3_region",
    "s3_endpoint_url",
    "aws_profile",
    "aws_credential_path",
    "dvc_remote_name",
    "git_remote_url",
)


def s3_settings(ctx: dict[str, Any], stored: AWSSettings | None) -> AWSSettings | None:
    """The S3 settings a new repo gets, or None for the local fallback remote."""
    given = {
        "bucket": ctx.get("s3_bucket") if ctx.get("s3_bucket") not in ("", S3_BUCKET) else "",
        "endpoint_url": ctx.get("s3_endpoint_url", ""),
        "profile": ctx.get("aws_profile", ""),
        "credential_path": ctx.get("aws_credential_path", ""),
    }
    storage = ctx.get("storage", "auto")
    if storage == "local" or (storage == "auto" and not any(given.values()) and stored is None):
        return None
    base = stored.model_dump() if stored else {}
    base.update({k: v for k, v in given.items() if v})
    if ctx.get("s3_region"):
        base["region"] = ctx["s3_region"]
    return AWSSettings(**base)


def quiet_dvc() -> None:
    """Keep DVC's advice ("To track the changes with git...") out of cpv's output."""
    import logging

    logging.getLogger("dvc").setLevel(logging.WARNING)


def configure_remote(
    root: Path, team: str, model: str, remote: str, s3: AWSSettings | None, init: bool = False
) -> str:
    """Make ``remote`` the repo's default DVC remote (S3, or the local fallback); returns its url.

    The S3 url and endpoint go to ``.dvc/config`` (shared); who the user is (profile,
    credential file) goes to the untracked ``.dvc/config.local``.
    """
    from dvc.repo import Repo

    quiet_dvc()
    repo = Repo.init(str(root)) if init else Repo(str(root))
    if s3 is None:
        url = str(local_remote_dir(team, model))
        Path(url).mkdir(parents=True, exist_ok=True)
        shared: dict[str, str] = {"url": url}
        private: dict[str, str] = {}
    else:
        url = f"s3://{s3.bucket}/{team}/{model}"
        shared = {"url": url, "region": s3.region}
        if s3.endpoint_url:
            shared["endpointurl"] = s3.endpoint_url
        private = {
            k: v for k, v in (("profile", s3.profile), ("credentialpath", s3.credential_path)) if v
        }
    with repo.config.edit() as conf:
        conf["remote"][remote] = shared
        conf["core"]["remote"] = remote
        conf["core"]["analytics"] = False
    with repo.config.edit("local") as conf:
        conf["remote"][remote] = private
    repo.close()
    return url


def finish(project_dir: str | Path, ctx: dict[str, Any]) -> Path:
    """Make the freshly generated ``project_dir`` a cpv model repo."""
    root = Path(project_dir).resolve()
    team = validate_name(ctx["team_name"], "team name")
    model = validate_name(ctx["model_name"], "model name")
    git = Git(root)
    git.run("init", "-q", "-b", "main")
    if ctx.get("git_remote_url"):
        git.run("remote", "add", "origin", ctx["git_remote_url"])
    s3 = s3_settings(ctx, CPVConfig().aws)
    url = configure_remote(root, team, model, ctx.get("dvc_remote_name") or "myremote", s3, True)
    if s3 is None:
        print(
            f"cpv: no S3 configured: data goes to the local remote {url}; move to S3 later "
            "by running `cpv aws-config --bucket <bucket>` inside the repo",
            file=sys.stderr,
        )
    data = root / "data"
    if ctx.get("data_path"):
        src = Path(ctx["data_path"]).expanduser()
        if not src.is_dir():
            raise ValidationError(
                f"--data-path {src} is not a directory",
                "give the directory holding the training data",
            )
        shutil.copytree(src, data, dirs_exist_ok=True)
    data.mkdir(exist_ok=True)
    (root / "model.bin").touch()
    ws = Workspace(root, git)
    ws.add(list(ws.config.dvc_artifacts))
    git.run("add", "-A")
    git.run(
        *git.identity_args(), "commit", "-q", "--no-verify", "-m", f"cpv: scaffold {team}/{model}"
    )
    install_hooks(root)
    tag_commit(root, kinds=["data"])
    return root


def create(
    team_name: str,
    model_name: str,
    repo_path: str | Path | None = None,
    no_input: bool = True,
    dry_run: bool = False,
    **variables: Any,
) -> Path:
    """Run the template (``cpv init``); returns the new repo's path.

    ``dry_run`` checks the input and returns the path without creating anything.
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    validate_name(team_name, "team name")
    validate_name(model_name, "model name")
    data = variables.get("data_path")
    if data and not Path(data).expanduser().is_dir():
        raise ValidationError(
            f"--data-path {data} is not a directory", "give the directory holding the training data"
        )
    target = Path(repo_path or model_name).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise RepositoryError(f"{target} is a file", "choose another --repo-path")
    if target.exists() and any(target.iterdir()):
        raise RepositoryError(
            f"{target} already exists and is not empty", "choose another --repo-path or remove it"
        )
    generated = target.parent / model_name
    if generated.exists() and generated != target:
        raise RepositoryError(f"{generated} is in the way", "move it or choose another --repo-path")
    if dry_run:
        return target
    out_dir = target.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {
        "team_name": team_name,
        "model_name": model_name,
        **{k: _literal(str(v)) for k, v in variables.items() if v is not None},
    }
    try:
        made = Path(
            cookiecutter(
                str(data_dir("template")),
                no_input=no_input,
                extra_context=extra,
                output_dir=str(out_dir),
            )
        )
    except FailedHookException as exc:
        raise RepositoryError(
            "creating the repo failed (see the message above)",
            "fix the cause and run `cpv init` again",
        ) from exc
    except CookiecutterException as exc:
        raise RepositoryError(f"the cpv template failed: {exc}", REINSTALL_HINT) from exc
    if made != target:
        made.rename(target)
    return target


def _literal(value: str) -> str:
    """``value`` as cookiecutter must get it to keep it as it is: it renders every value as
    Jinja, so one that could hold Jinja syntax becomes a Jinja string literal of itself."""
    if "{" not in value:
        return value  # also what choice variables (storage) must stay
    escaped = value.encode("unicode_escape").decode("ascii").replace("'", "\\'")
    return "{{ '" + escaped + "' }}"
