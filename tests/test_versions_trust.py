"""Trust in versions: every version tagged exactly once, its data always on the remote.

Each test drives real git (hooks installed by the template), a real bare remote and the
session's S3 server, and asserts the tags afterwards (docs/RELIABILITY.md, "Versions").
"""

from __future__ import annotations

from pathlib import Path

from conftest import BIN, S3, git, run, teammate, write_model


def _tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l", "--sort=v:refname").stdout.split()


def _upload(repo: Path, src: Path, seed: int, *args: str) -> bytes:
    data = write_model(src, seed=seed)
    run(BIN / "cpv", "model", "upload", src, *args, cwd=repo)
    return data


def test_push_uploads_the_data_of_every_version_it_sends(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    """Case 0: versions made with --no-push reach S3 with the next push, whoever pushes."""
    repo = make_repo(s3)
    models = [_upload(repo, tmp_path / "m.bin", seed, "--no-push") for seed in (1, 2, 3)]
    assert s3.list_keys() == set()
    models.append(_upload(repo, tmp_path / "m.bin", 4))  # this one pushes
    assert _tags(bare_remote) == ["v0.1", "v0.2", "v0.3", "v0.4"]
    assert "Everything up-to-date" in git(repo, "push").stderr
    mate = teammate(bare_remote, tmp_path / "mate")
    for number, data in enumerate(models, 1):
        git(mate, "checkout", "-q", f"v0.{number}")
        assert (mate / "model.bin").read_bytes() == data
