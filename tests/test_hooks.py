"""Each hook through real git commands, and its entry point called directly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import BIN, S3, clone, git, run, teammate, write_model

from cpv_hooks.hooks import main as hook_main
from cpv_hooks.hooks import post_checkout, pre_commit, pre_push
from cpv_hooks.install import HOOK_TYPES


def _version(repo: Path, seed: int, message: str) -> bytes:
    data = write_model(repo / "model.bin", seed=seed)
    (repo / "metrics.log").write_text(f"acc: 0.{seed}\n")
    git(repo, "commit", "-am", message)
    return data


def test_noop_pre_commit_does_not_import_dvc(make_repo) -> None:
    repo = make_repo()
    _version(repo, 1, "first")
    code = (
        "import sys; from cpv_hooks.hooks import pre_commit; rc = pre_commit.main([]); "
        "print(rc, *(m in sys.modules for m in "
        "('dvc', 'dvc_data', 'boto3', 'ruamel.yaml', 'configobj', 'pathspec', 'platformdirs')))"
    )
    assert run(sys.executable, "-c", code, cwd=repo).stdout.split() == ["0"] + ["False"] * 7


def test_pre_commit_entry_point_adds_and_stages(make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    monkeypatch.chdir(repo)
    write_model(repo / "model.bin")
    assert pre_commit.main() == 0
    assert git(repo, "diff", "--cached", "--name-only").stdout.split() == ["model.bin.dvc"]
    assert pre_commit.main() == 0  # idempotent


def test_first_commit_of_a_data_directory_is_linear(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Adding N files writes the verified-object record and reads .dvc/config once, not N times."""
    import cpv_hooks.dvc.config
    from cpv_hooks.workspace import Workspace

    repo = make_repo()
    monkeypatch.chdir(repo)
    for i in range(300):
        (repo / "data" / f"f{i:03d}.txt").write_text(f"sample {i}\n")
    calls = {"record": 0, "config": 0}
    save, read_config = Workspace._save_verified, cpv_hooks.dvc.config.load

    def counting_save(self, record):  # type: ignore[no-untyped-def]
        calls["record"] += 1
        save(self, record)

    def counting_read(root):  # type: ignore[no-untyped-def]
        calls["config"] += 1
        return read_config(root)

    monkeypatch.setattr(Workspace, "_save_verified", counting_save)
    monkeypatch.setattr(cpv_hooks.dvc.config, "load", counting_read)
    assert pre_commit.main() == 0
    assert calls == {"record": 1, "config": 1}
    listing = git(repo, "show", ":data.dvc").stdout
    assert "nfiles: 301" in listing  # the template's .gitkeep and the 300 files


def test_deleted_artifact_blocks_commit(make_repo) -> None:
    repo = make_repo()
    _version(repo, 1, "first")
    head = git(repo, "rev-parse", "HEAD").stdout
    (repo / "model.bin").unlink()
    (repo / "train.py").write_text("# changed\n")
    proc = git(repo, "commit", "-am", "oops", check=False)
    assert proc.returncode != 0
    assert "model.bin was deleted but model.bin.dvc still points to it" in proc.stdout + proc.stderr
    assert git(repo, "rev-parse", "HEAD").stdout == head


@pytest.mark.parametrize("size", [0, 1000])
def test_model_outside_size_limits_blocks_commit(make_repo, size: int) -> None:
    repo = make_repo()
    (repo / "model.bin").write_bytes(b"x" * size)
    (repo / "metrics.log").write_text("acc: 1\n")
    proc = git(repo, "commit", "-am", "tiny", check=False)
    assert proc.returncode != 0
    assert "outside the limits" in proc.stdout + proc.stderr
    assert git(repo, "tag", "-l").stdout == ""
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 1


def test_checkout_never_overwrites_uncommitted_weights(make_repo) -> None:
    repo = make_repo()
    _version(repo, 1, "first")
    _version(repo, 2, "second")
    unsaved = write_model(repo / "model.bin", seed=9)
    proc = git(repo, "checkout", "v0.1", check=False)
    assert proc.returncode == 1
    assert "model.bin has changes that are not committed" in proc.stdout + proc.stderr
    assert (repo / "model.bin").read_bytes() == unsaved


def test_file_checkout_and_same_commit_leave_artifacts(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    _version(repo, 1, "first")
    monkeypatch.chdir(repo)
    assert post_checkout.main(["a", "b", "0"]) == 0
    assert post_checkout.main(["a", "b", "1"]) == 0  # in sync: fast path


def test_checkout_fetches_missing_cache_objects(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    first = _version(repo, 1, "first")
    _version(repo, 2, "second")
    git(repo, "push")
    mate = teammate(bare_remote, tmp_path / "teammate")
    git(mate, "checkout", "v0.1")  # v0.1's model is in no local cache yet
    assert (mate / "model.bin").read_bytes() == first


@pytest.mark.parametrize(
    ("make_tag", "expected"),
    [
        (["tag", "v0.9"], "is lightweight"),
        (["tag", "-a", "v1", "-m", "x"], "is not a cpv version"),
        (["tag", "-a", "v01.2", "-m", "x"], "is not a cpv version"),
        (["tag", "-a", "v0.0", "-m", "x"], "is below the first version v0.1"),
    ],
)
def test_pre_push_refuses_bad_tags(
    make_repo, bare_remote: Path, make_tag: list[str], expected: str
) -> None:
    repo = make_repo()
    _version(repo, 1, "first")
    git(repo, "push")
    _version(repo, 2, "second")
    git(repo, "tag", "-d", "v0.2")
    git(repo, *make_tag)
    name = make_tag[-1] if make_tag[1] != "-a" else make_tag[2]
    proc = git(repo, "push", "origin", "main", name, check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert name not in git(bare_remote, "tag", "-l").stdout.split()


def test_pre_push_entry_point_reads_ref_lines(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    _version(repo, 1, "first")
    monkeypatch.chdir(repo)
    tag = git(repo, "rev-parse", "v0.1").stdout.strip()
    line = f"refs/tags/v0.1 {tag} refs/tags/v0.1 {'0' * 40}\n"
    assert pre_push.main(["origin", "url"], stdin=line) == 0
    other = f"refs/tags/v0.1 {tag} refs/tags/v0.1 {'1' * 40}\n"
    assert pre_push.main(["origin", "url"], stdin=other) == 2  # a ValidationError's code


def test_hook_dispatcher_usage() -> None:
    assert hook_main([]) == 2
    assert hook_main(["no-such-hook"]) == 2


def test_ci_check_finds_data_missing_from_remote(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    _version(repo, 1, "first")
    git(repo, "push")
    ci = clone(bare_remote, tmp_path / "ci")
    assert run(BIN / "pre-commit", "run", "--all-files", cwd=ci).returncode == 0
    client = s3.server.client()
    for key in s3.list_keys():
        client.delete_object(Bucket=s3.bucket, Key=key)
    proc = run(BIN / "pre-commit", "run", "--all-files", cwd=ci, check=False)
    assert proc.returncode != 0
    assert "missing on the remote: model.bin.dvc@" in proc.stdout + proc.stderr


def test_pre_commit_framework_alone_drives_the_same_hooks(make_repo) -> None:
    """A user who runs `pre-commit install` instead of `cpv install` gets the same behaviour."""
    repo = make_repo()
    for name in HOOK_TYPES:
        (repo / ".git" / "hooks" / name).unlink()
    run(BIN / "pre-commit", "install", cwd=repo)
    assert "pre_commit" in (repo / ".git" / "hooks" / "pre-commit").read_text()
    first = _version(repo, 1, "first")
    _version(repo, 2, "second")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1", "v0.2"]
    git(repo, "checkout", "v0.1")
    assert (repo / "model.bin").read_bytes() == first


def test_native_hooks_chain_other_configured_hooks(make_repo) -> None:
    repo = make_repo()
    config = repo / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text()
        + """
  - repo: local
    hooks:
      - id: no-todo
        name: no TODO in train.py
        entry: "TODO"
        language: pygrep
        files: train\\.py$
"""
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-qm", "add a lint hook")
    (repo / "train.py").write_text("# TODO: tune\n")
    proc = git(repo, "commit", "-am", "todo", check=False)
    assert proc.returncode != 0 and "no TODO in train.py" in proc.stdout + proc.stderr
    (repo / "train.py").write_text("# tuned\n")
    write_model(repo / "model.bin")
    git(repo, "commit", "-am", "done")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]


def test_conflicted_pull_never_overwrites_the_merged_pointer(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo()
    git(repo, "push")
    other = teammate(bare_remote, tmp_path / "other")
    (other / "data" / "new.csv").write_text("from teammate\n")
    (other / "train.py").write_text("# teammate\n")
    git(other, "commit", "-qam", "teammate data")
    git(other, "push")
    theirs = (other / "data.dvc").read_text()
    (repo / "train.py").write_text("# mine\n")
    git(repo, "commit", "-qam", "my code")
    assert git(repo, "pull", "-q", "--no-rebase", check=False).returncode != 0  # conflict
    (repo / "train.py").write_text("# merged\n")
    git(repo, "add", "train.py")
    proc = git(repo, "commit", "-qm", "merge")
    assert "now match(es) the pointer git changed" in proc.stderr
    assert git(repo, "show", "HEAD:data.dvc").stdout == theirs
    assert (repo / "data" / "new.csv").read_text() == "from teammate\n"


def test_flow_style_team_hook_blocks_the_commit(make_repo) -> None:  # type: ignore[no-untyped-def]
    """A hook written in YAML flow style is seen; the parsed config is cached, not re-read."""
    repo = make_repo()
    _version(repo, 1, "first")  # the cache now holds the config with cpv's hooks only
    probe = (
        "import sys; from pathlib import Path; from cpv_hooks.hooks.chain import other_hooks; "
        "print(other_hooks(Path('.'), 'pre-commit'), 'yaml' in sys.modules)"
    )
    assert run(sys.executable, "-c", probe, cwd=repo).stdout.split() == ["[]", "False"]
    veto = (
        "  - {repo: local, hooks: [{id: team-veto, name: veto, entry: 'false', "
        "language: system, pass_filenames: false, always_run: true}]}\n"
    )
    with open(repo / ".pre-commit-config.yaml", "a") as fh:
        fh.write(veto)
    git(repo, "add", ".pre-commit-config.yaml")
    head = git(repo, "rev-parse", "HEAD").stdout
    proc = git(repo, "commit", "-m", "team hook", check=False)
    assert proc.returncode != 0
    assert "veto" in proc.stdout + proc.stderr
    assert git(repo, "rev-parse", "HEAD").stdout == head
