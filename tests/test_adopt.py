"""Adopting existing repos with `cpv init` (issue 14): real git, real DVC, moto S3."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cpv_hooks.dvc.cache import Obj
from cpv_hooks.dvc.remote import DVCRemote
from cpv_hooks.errors import StorageError
from cpv_hooks.repo import Git, load_repo_config
from cpv_hooks.tagging import build_manifest
from tests.conftest import BIN, S3, clone, git, posix_only, run, write_model

PREP = (
    "from pathlib import Path\n"
    "Path('features.txt').write_text(str(len(list(Path('data').iterdir()))))\n"
)


def dvc(repo: Path, *args: str) -> None:
    run(BIN / "dvc", *args, cwd=repo)


def cpv(repo: Path, *args: str, check: bool = True) -> str:
    proc = run(BIN / "cpv", *args, cwd=repo, check=check)
    return proc.stdout + proc.stderr


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)").stdout


def tree(repo: Path) -> dict[str, bytes]:
    """Every file of the work tree and of .git (but git's index stat cache), with its bytes."""
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and p.name != "index"
    }


@pytest.fixture
def legacy(tmp_path: Path, s3: S3, bare_remote: Path) -> tuple[Path, bytes, bytes]:
    """A team's DVC repo made with the real `dvc`: a model, a data directory, a dvc.yaml
    stage, tags v1.0, 1.0 and release-x on the first version, a second model version;
    pushed to S3 by DVC, a git remote not pushed to yet. Returns the repo and the models."""
    repo = tmp_path / "legacy"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "storage", f"s3://{s3.bucket}/legacy")
    dvc(repo, "remote", "modify", "storage", "endpointurl", s3.endpoint)
    (repo / "models").mkdir()
    first = write_model(repo / "models" / "model.pt", seed=1)
    (repo / "data").mkdir()
    for i in range(3):
        (repo / "data" / f"{i}.csv").write_text(f"row,{i}\n")
    (repo / "prep.py").write_text(PREP)
    (repo / ".gitignore").write_text("# the team's own line\n*.tmp\n")
    dvc(repo, "add", "-q", "models/model.pt", "data")
    dvc(repo, "stage", "add", "-q", "-n", "prep", "-d", "data", "-d", "prep.py",
        "-o", "features.txt", "python prep.py")  # fmt: skip
    dvc(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first model")
    for tag in ("v1.0", "1.0", "release-x"):
        git(repo, "tag", tag)
    second = write_model(repo / "models" / "model.pt", seed=2)
    dvc(repo, "add", "-q", "models/model.pt")
    git(repo, "commit", "-q", "-am", "second model")
    dvc(repo, "push", "-q")
    git(repo, "remote", "add", "origin", str(bare_remote))
    # nothing pushed to git yet: cpv must neither re-version nor re-upload this history
    return repo, first, second


def test_legacy_dvc_repo_is_adopted_and_loses_nothing(
    legacy: tuple[Path, bytes, bytes], bare_remote: Path, tmp_path: Path, s3: S3
) -> None:
    repo, first, second = legacy
    before_refs, before_head = refs(repo), git(repo, "rev-parse", "HEAD").stdout.strip()
    ignore = (repo / ".gitignore").read_text()

    plan = cpv(repo, "--dry-run", "init", "-t", "vision", "-m", "legacy")
    assert "model models/model.pt [pointer]" in plan
    assert "data data [pointer]" in plan
    assert "data features.txt [dvc.yaml stage]" in plan
    assert "versions continue from: v1.0" in plan and "next versions: v1.1" in plan
    assert "other tags, left alone: 1.0, release-x" in plan

    cpv(repo, "init", "-t", "vision", "-m", "legacy")
    # history, tags, the team's .gitignore lines and remote are kept; one commit on top
    assert git(repo, "rev-parse", "HEAD^").stdout.strip() == before_head
    assert git(repo, "log", "-1", "--format=%s").stdout.strip() == "cpv: adopt vision/legacy"
    tags = {line for line in before_refs.splitlines() if line.startswith("refs/tags/")}
    assert tags <= set(refs(repo).splitlines())
    assert (repo / ".gitignore").read_text().startswith(ignore)
    assert "endpointurl" in (repo / ".dvc" / "config").read_text()
    conf = yaml.safe_load((repo / ".cpv.yaml").read_text())
    assert {a["path"]: (a["kind"], a["store"]) for a in conf["artifacts"]} == {
        "models/model.pt": ("model", "dvc"),
        "data": ("data", "dvc"),
        "features.txt": ("data", "stage"),
    }
    assert git(repo, "tag", "--points-at", "HEAD").stdout == ""  # v1.0 exists: no v0.1
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["prep"]["outs"][0]
    made = build_manifest(Git(repo), load_repo_config(repo), "HEAD", "data", "data-v0.1")
    assert made["artifacts"]["features.txt"] == {"md5": lock["md5"], "size": 1, "store": "dvc"}
    assert "already a cpv repo" in cpv(repo, "init", "-t", "vision", "-m", "legacy")

    # an old version's bytes come back with a plain checkout, and the new ones after it
    git(repo, "checkout", "-q", "v1.0")
    assert (repo / "models" / "model.pt").read_bytes() == first
    git(repo, "checkout", "-q", "main")
    assert (repo / "models" / "model.pt").read_bytes() == second

    # the next model commit continues the team's numbering; the old tags push as they are
    third = write_model(repo / "models" / "model.pt", seed=3)
    (repo / ".gitignore").write_text(ignore + "*.log\n")  # a tracked change: one commit
    git(repo, "commit", "-q", "-am", "third model")
    assert git(repo, "tag", "--points-at", "HEAD").stdout.split() == ["v1.1"]
    git(repo, "push", "-q", "origin", "main", "--tags")

    # a teammate with plain DVC and no cpv still pulls everything
    plain = clone(bare_remote, tmp_path / "plain")
    dvc(plain, "pull", "-q")
    assert (plain / "models" / "model.pt").read_bytes() == third
    assert sorted(p.name for p in (plain / "data").iterdir()) == ["0.csv", "1.csv", "2.csv"]
    assert (plain / "features.txt").read_text() == "3"

    # cpv's gc of the remote would not see the stage's output: refused, nothing deleted
    keys = s3.list_keys()
    refused = run(BIN / "cpv", "gc", "--yes", "--grace", "0", cwd=repo, check=False)
    assert refused.returncode == 3 and "dvc gc --cloud" in refused.stderr
    assert s3.list_keys() == keys


def test_plain_git_repo_dry_run_then_adoption(tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text("print('train')\n")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n      - id: team-lint  # ours\n"
        "        name: lint\n        entry: 'true'\n        language: system\n"
    )
    (repo / "old.onnx").write_bytes(b"\0" * (10 << 20))  # committed to git long ago
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "code")
    git(repo, "tag", "churn@v1.2.0")
    git(repo, "tag", "churn#prod#3")
    weights = write_model(repo / "weights.safetensors")

    snapshot, before = tree(repo), refs(repo)
    out = cpv(repo, "--dry-run", "init", "-t", "nlp", "-m", "churn")
    assert "model weights.safetensors [untracked model file, pointer made now]" in out
    assert "GTO versions/stages of churn: churn#prod#3, churn@v1.2.0" in out
    assert "old.onnx (10 MB) is committed to git: `git rm --cached old.onnx` then" in out
    assert tree(repo) == snapshot and refs(repo) == before

    cpv(repo, "init", "-t", "nlp", "-m", "churn", "--storage", "local")
    assert (repo / "weights.safetensors").read_bytes() == weights
    assert git(repo, "ls-files", "weights.safetensors.dvc").stdout.strip()
    assert git(repo, "tag", "--points-at", "HEAD").stdout.split() == ["v0.1"]
    hooks = (repo / ".pre-commit-config.yaml").read_text()
    assert "id: team-lint  # ours" in hooks and "id: cpv-add" in hooks
    assert (repo / ".git" / "hooks" / "pre-commit").exists()
    assert ci_commands(repo)["bitbucket"][-1] == "cpv validate"  # CI files added

    snapshot, before = tree(repo), refs(repo)
    cpv(repo, "init", "-t", "nlp", "-m", "churn")  # twice is a no-op
    assert tree(repo) == snapshot and refs(repo) == before

    # a Hugging Face style folder declared as a model: versioned and checked out as data/ is
    hf = repo / "hf"
    hf.mkdir()
    write_model(hf / "model.safetensors", seed=4)
    (hf / "config.json").write_text('{"layers": 12}')
    cpv(repo, "track", "hf", "--kind", "model")
    git(repo, "commit", "-q", "-m", "track the HF model")
    assert git(repo, "tag", "--points-at", "HEAD").stdout.split() == ["v0.2"]
    (hf / "config.json").write_text('{"layers": 24}')
    (repo / "train.py").write_text("print('train more')\n")
    git(repo, "commit", "-q", "-am", "deeper")
    assert git(repo, "tag", "--points-at", "HEAD").stdout.split() == ["v0.3"]
    git(repo, "checkout", "-q", "v0.2")
    assert (hf / "config.json").read_text() == '{"layers": 12}'
    git(repo, "checkout", "-q", "main")
    refused = run(BIN / "cpv", "track", "hf", "--kind", "data", cwd=repo, check=False)
    assert refused.returncode == 2 and "overlaps hf" in refused.stderr
    cpv(repo, "untrack", "hf")
    assert "hf" not in (repo / ".cpv.yaml").read_text() and (repo / "hf.dvc").exists()


def test_gs_remote_is_carried_by_dvc_and_dirty_repo_refused(
    tmp_path: Path, bare_remote: Path
) -> None:
    repo = tmp_path / "gs"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "gcs", "gs://team-bucket/models")
    write_model(repo / "model.pt")
    dvc(repo, "add", "-q", "model.pt")
    imported = (  # what `dvc import` writes: DVC's to keep, byte for byte
        "md5: 0123456789abcdef0123456789abcdef\nfrozen: true\ndeps:\n- path: labels.csv\n"
        "  repo:\n    url: git@example.com:team/registry.git\n    rev_lock: "
        + "a"
        * 40
        + "\nouts:\n- md5: fedcba9876543210fedcba9876543210\n  size: 4\n  hash: md5\n"
        "  path: labels.csv\n"
    )
    (repo / "labels.csv.dvc").write_text(imported)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    (repo / "model.pt").unlink()  # neither the data nor the remote is needed

    (repo / "notes.md").write_text("tracked\n")
    git(repo, "add", "notes.md")
    refused = run(BIN / "cpv", "init", "-t", "vision", "-m", "gs", cwd=repo, check=False)
    assert refused.returncode == 8
    assert "uncommitted changes" in refused.stderr and "--force" in refused.stderr
    assert not (repo / ".cpv.yaml").exists()

    committed = ["init", "-t", "vision", "-m", "gs", "--force", "--model", "notes.md"]
    refused = run(BIN / "cpv", *committed, cwd=repo, check=False)
    assert refused.returncode == 2 and "notes.md is committed to git" in refused.stderr

    out = cpv(repo, "--dry-run", "init", "-t", "vision", "-m", "gs", "--force")
    assert "data not here" in out
    assert "kept as it is, left to DVC: labels.csv.dvc" in out
    assert "DVC remote: gs://team-bucket/models (kept; cpv does not move bytes for gs://" in out

    # adopted for real: the user's staged change stays staged, out of the adoption commit;
    # the push goes to DVC's gs plugin, which is not installed here: refused, nothing pushed
    cpv(repo, "init", "-t", "vision", "-m", "gs", "--force")
    assert git(repo, "diff", "--cached", "--name-only").stdout.split() == ["notes.md"]
    assert (repo / "labels.csv.dvc").read_text() == imported
    assert "labels.csv" not in (repo / ".cpv.yaml").read_text()
    git(repo, "remote", "add", "origin", str(bare_remote))
    pushed = run("git", "push", "origin", "main", cwd=repo, check=False)
    assert pushed.returncode != 0
    assert "cpv: push refused: DVC could not open gs://team-bucket/models (gs is supported" in (
        pushed.stderr
    )
    assert git(bare_remote, "for-each-ref").stdout == ""


def test_dvc_remote_moves_bytes_in_dvcs_layout(tmp_path: Path) -> None:
    """The hand-over to DVC's file systems, on the one remote kind that needs no network."""
    repo, store = tmp_path / "r", tmp_path / "store"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "st", str(store))
    data = write_model(tmp_path / "m.bin")
    md5 = hashlib.md5(data).hexdigest()
    remote = DVCRemote(str(store), repo, "st")
    assert remote.sizes([Obj(md5)]) == {}
    remote.upload(tmp_path / "m.bin", Obj(md5), lambda n: None)
    assert (store / "files" / "md5" / md5[:2] / md5[2:]).read_bytes() == data
    assert remote.sizes([Obj(md5)]) == {md5: len(data)}
    remote.download(Obj(md5), tmp_path / "back.bin", lambda n: None)
    assert (tmp_path / "back.bin").read_bytes() == data
    with pytest.raises(StorageError, match="is not on the remote"):
        remote.download(Obj("0" * 32), tmp_path / "none.bin", lambda n: None)


def ci_commands(repo: Path) -> dict[str, list[str]]:
    """The shell commands of the Bitbucket pipeline and of the GitHub workflow, in order."""
    bitbucket = yaml.safe_load((repo / "bitbucket-pipelines.yml").read_text())
    github = yaml.safe_load((repo / ".github" / "workflows" / "cpv.yml").read_text())
    return {
        "bitbucket": bitbucket["pipelines"]["default"][0]["step"]["script"],
        "github": [s["run"] for s in github["jobs"]["cpv"]["steps"] if "run" in s],
    }


def test_ci_files_run_their_steps_in_a_fresh_clone(
    make_repo: Any, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3=s3)
    write_model(repo / "model.bin")
    (repo / "metrics.log").write_text("acc: 0.9\n")
    git(repo, "commit", "-q", "-am", "train")
    git(repo, "push", "-q")
    fresh = clone(bare_remote, tmp_path / "ci")
    commands = ci_commands(fresh)
    assert commands["bitbucket"] == commands["github"]
    for command in commands["bitbucket"]:
        if command.startswith("pip install"):
            continue  # cpv is installed here already
        run("bash", "-c", command, cwd=fresh)
    # the same steps fail when a version's data is missing from the remote
    md5 = yaml.safe_load((fresh / "model.bin.dvc").read_text())["outs"][0]["md5"]
    key = next(k for k in s3.list_keys() if k.endswith(f"/files/md5/{md5[:2]}/{md5[2:]}"))
    s3.server.client().delete_object(Bucket=s3.bucket, Key=key)
    failed = run("bash", "-c", commands["bitbucket"][1], cwd=fresh, check=False)
    assert failed.returncode != 0 and "missing on the remote" in failed.stdout + failed.stderr


@posix_only
def test_init_asks_in_a_terminal_and_never_in_a_pipe(tmp_path: Path) -> None:
    """A bad name is asked again with the rule; without a terminal, one error lists all."""
    piped = run(BIN / "cpv", "init", cwd=tmp_path, check=False)
    assert piped.returncode == 2
    assert "missing --team-name, --model-name: give them, or run `cpv init` in a" in piped.stderr

    main, child = os.openpty()
    proc = subprocess.Popen(
        [BIN / "cpv", "init", "--storage", "local"],
        stdin=child, stdout=child, stderr=child, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    os.close(child)
    os.write(main, b"Bad Name\nvision\nvit\ny\n")  # typed ahead: the terminal holds the lines
    shown = b""
    while select.select([main], [], [], 120)[0]:  # a prompt nobody answers: stop, not hang
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the command exited and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # only the process group this test started
    assert proc.wait() == 0, shown.decode()
    text = shown.decode()
    assert "invalid team name 'Bad Name': use 1-64 lowercase letters" in text
    assert "Create the model repo vision/vit in" in text
    assert (tmp_path / "vit" / ".cpv.yaml").read_text().startswith("# cpv")
