"""The Python API of the design against real repos (local remote and moto S3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import S3, clone, git, write_model

from cpv_hooks import (
    CheckpointNotFoundError,
    CombinedCheckpointsManage,
    DataCheckpointsManage,
    ModelsCheckpointsManage,
    RepositoryError,
    ValidationError,
)
from cpv_hooks.dvc.cache import file_md5


@pytest.fixture
def models(tmp_path: Path) -> ModelsCheckpointsManage:
    m = ModelsCheckpointsManage("vision", "resnet50", working_dir=tmp_path)
    m.import_model_init()
    return m


def _run(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"runs/{n}/model.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(path, seed=n)
    return path


def test_training_script_flow(models: ModelsCheckpointsManage, tmp_path: Path) -> None:
    first = _run(tmp_path, 1)
    assert models.upload_model_checkpoint(first, metrics={"acc": 0.9}) == "v0.1"
    assert models.upload_model_checkpoint(_run(tmp_path, 2), metrics={"acc": 0.91}) == "v0.2"
    assert models.read_checkpoint_tag() == ["v0.1", "v0.2"]
    art = models.load_model("v0.1")
    assert art.path.read_bytes() == first.read_bytes()
    assert art.md5 == file_md5(first) and art.metrics == {"acc": 0.9}
    assert art.metadata["commit"]
    meta = models.get_model_metadata()
    assert meta["tag"] == "v0.2" and meta["artifacts"]["model.bin"]["size"] == first.stat().st_size
    out = models.download_model_checkpoint("v0.1", output_dir=tmp_path / "out")
    assert out.path == tmp_path / "out" / "model.bin"
    assert out.path.read_bytes() == first.read_bytes()
    assert (models.repo_path / "model.bin").read_bytes() != first.read_bytes()  # untouched


def test_load_model_detects_a_corrupt_cache_object(
    models: ModelsCheckpointsManage, tmp_path: Path
) -> None:
    first = _run(tmp_path, 1)
    models.upload_model_checkpoint(first)
    art = models.load_model("v0.1")
    os.chmod(art.path, 0o644)
    art.path.write_bytes(b"corrupt" * 1000)
    again = models.load_model("v0.1")  # fetched again from the remote, verified
    assert again.path.read_bytes() == first.read_bytes()


def test_revert_commits_a_new_version(models: ModelsCheckpointsManage, tmp_path: Path) -> None:
    first = _run(tmp_path, 1)
    models.upload_model_checkpoint(first, metrics={"acc": 0.9})
    models.upload_model_checkpoint(_run(tmp_path, 2), metrics={"acc": 0.5})
    assert models.revert_model_checkpoint("v0.1") == "v0.3"
    repo = models.repo_path
    assert (repo / "model.bin").read_bytes() == first.read_bytes()
    assert (repo / "metrics.log").read_text() == "acc: 0.9\n"
    assert git(repo, "status", "--porcelain").stdout == ""
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 4  # history kept


def test_revert_refuses_unversioned_changes_unless_forced(
    models: ModelsCheckpointsManage, tmp_path: Path
) -> None:
    models.upload_model_checkpoint(_run(tmp_path, 1))
    models.upload_model_checkpoint(_run(tmp_path, 2))
    unsaved = write_model(models.repo_path / "model.bin", seed=7)
    with pytest.raises(ValidationError, match="not versioned yet"):
        models.revert_model_checkpoint("v0.1")
    assert (models.repo_path / "model.bin").read_bytes() == unsaved
    models.revert_model_checkpoint("v0.1", force=True)
    kept = list((models.repo_path / ".git" / "cpv" / "set-aside").rglob("model.bin"))
    assert [p.read_bytes() for p in kept] == [unsaved]


def test_dry_run_changes_nothing(
    models: ModelsCheckpointsManage, tmp_path: Path, isolated_env: Path
) -> None:
    models.upload_model_checkpoint(_run(tmp_path, 1))
    repo = models.repo_path
    remote = isolated_env / ".cpv" / "remotes"
    before = (
        git(repo, "rev-parse", "HEAD").stdout,
        sorted(remote.rglob("*")),
        sorted((repo / ".dvc" / "cache").rglob("*")),
        (repo / "model.bin").read_bytes(),
    )
    assert (
        models.upload_model_checkpoint(_run(tmp_path, 2), metrics={"a": 1}, dry_run=True) == "v0.2"
    )
    assert models.last_plan is not None and models.last_plan.changed == ["model.bin"]
    after = (
        git(repo, "rev-parse", "HEAD").stdout,
        sorted(remote.rglob("*")),
        sorted((repo / ".dvc" / "cache").rglob("*")),
        (repo / "model.bin").read_bytes(),
    )
    assert before == after
    assert git(repo, "status", "--porcelain").stdout == ""


def test_data_and_combined(tmp_path: Path, models: ModelsCheckpointsManage) -> None:
    data = DataCheckpointsManage("vision", "resnet50", working_dir=tmp_path)
    src = tmp_path / "dataset"
    src.mkdir()
    (src / "a.csv").write_text("1\n")
    assert data.upload_data_checkpoint(src) == "data-v0.1"
    (src / "b.csv").write_text("2\n")
    assert data.upload_data_checkpoint(src) == "data-v0.2"
    assert data.read_data_checkpoint_tag() == ["data-v0.1", "data-v0.2"]
    out = Path(data.download_data_checkpoint("v0.1", output_dir=tmp_path / "old"))
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
    assert data.get_data_metadata("v0.2")["artifacts"]["data"]["nfiles"] == 2
    loaded = data.load_data(output_dir=tmp_path / "latest")
    assert loaded.nfiles == 2 and loaded.tag == "data-v0.2"
    assert data.revert_data_checkpoint("v0.1") == "data-v0.3"
    both = CombinedCheckpointsManage("vision", "resnet50", working_dir=tmp_path)
    write_model(models.repo_path / "model.bin", seed=3)
    (models.repo_path / "data" / "c.csv").write_text("3\n")
    assert both.tag_model_and_data(model_message="m", data_message="d") == ("v0.1", "data-v0.4")
    meta = both.get_combined_metadata("v0.1")
    assert meta["model"]["tag"] == "v0.1" and meta["data"]["tag"] == "data-v0.1"
    assert both.revert_model_and_data("v0.1") == ["data-v0.5"]


def test_upload_to_s3_and_push_to_git(make_repo, s3: S3, bare_remote: Path, tmp_path: Path) -> None:
    repo = make_repo(s3)
    m = ModelsCheckpointsManage("vision", "resnet50", repo_path=repo)
    first = _run(tmp_path, 1)
    tag = m.upload_model_checkpoint(first, metrics={"acc": 0.9})
    assert git(bare_remote, "tag", "-l").stdout.split() == [tag]
    assert any(k.endswith(file_md5(first)[2:]) for k in s3.list_keys())
    other = ModelsCheckpointsManage(
        "vision", "resnet50", repo_path=clone(bare_remote, tmp_path / "c")
    )
    art = other.download_model_checkpoint(tag, output_dir=tmp_path / "dl")
    assert art.path.read_bytes() == first.read_bytes()
    remote = ModelsCheckpointsManage("vision", "resnet50", working_dir=tmp_path / "nowhere")
    art = remote.download_model_checkpoint(repo_url=str(bare_remote), output_dir=tmp_path / "url")
    assert art.path.read_bytes() == first.read_bytes() and art.tag == tag


def test_errors_name_the_fix(tmp_path: Path, models: ModelsCheckpointsManage) -> None:
    with pytest.raises(CheckpointNotFoundError, match="list-tags"):
        models.load_model("v3.0")
    with pytest.raises(CheckpointNotFoundError, match="no model version yet"):
        models.get_model_metadata()
    with pytest.raises(ValidationError, match="does not exist"):
        models.upload_model_checkpoint(tmp_path / "missing.bin")
    with pytest.raises(ValidationError, match="is not a file"):
        models.upload_model_checkpoint(tmp_path)
    with pytest.raises(ValidationError, match="outside the limits"):
        (tmp_path / "tiny.bin").write_bytes(b"x")
        models.upload_model_checkpoint(tmp_path / "tiny.bin")
    with pytest.raises(ValidationError, match="unknown option"):
        models.read_checkpoint_tag(colour="red")
    with pytest.raises(RepositoryError, match="not a cpv model repo"):
        ModelsCheckpointsManage("vision", "other", working_dir=tmp_path).read_checkpoint_tag()
    with pytest.raises(ValidationError, match="invalid team name"):
        ModelsCheckpointsManage("Bad Team", "x")
    with pytest.raises(RepositoryError, match="holds vision/resnet50"):
        ModelsCheckpointsManage("nlp", "bert", repo_path=models.repo_path).read_checkpoint_tag()
