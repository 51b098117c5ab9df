"""Bad input: a one-line error naming the fix, a nonzero exit, no change (docs/RELIABILITY.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BIN, git, run, write_model
from hypothesis import given
from hypothesis import strategies as st

from cpv_hooks.errors import ValidationError
from cpv_hooks.versions import (
    Directive,
    Version,
    next_version,
    parse_tag,
    parse_version,
)


def _state(repo: Path) -> tuple[str, str, str]:
    return (
        git(repo, "rev-parse", "HEAD").stdout,
        git(repo, "tag", "-l").stdout,
        git(repo, "status", "--porcelain").stdout,
    )


def _one_line_error(proc, code: int, text: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert text in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.fixture
def versioned(make_repo, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    repo: Path = make_repo()
    for seed in (1, 2):
        write_model(tmp_path / "m.bin", seed=seed)
        run(BIN / "cpv", "model", "upload", tmp_path / "m.bin", cwd=repo)
    return repo


@pytest.mark.parametrize("name", ["", "..", "a/b", "with space", "Upper", "x" * 300, "ünï", "a--b"])
def test_bad_names(tmp_path: Path, name: str) -> None:
    proc = run(BIN / "cpv", "init", "-t", name, "-m", "ok", check=False)
    _one_line_error(proc, 2, "invalid team name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize("tag", ["v1", "1.0", "v1.0.0.0", "v01.2", "v-1.0", "v0.1", "v0.2"])
def test_bad_version_tags(versioned: Path, tmp_path: Path, tag: str) -> None:
    before = _state(versioned)
    write_model(tmp_path / "new.bin", seed=9)
    proc = run(
        BIN / "cpv",
        "model",
        "upload",
        tmp_path / "new.bin",
        "--tag",
        tag,
        cwd=versioned,
        check=False,
    )
    expected = "is not above the latest v0.2" if tag in ("v0.1", "v0.2") else "is not a cpv version"
    _one_line_error(proc, 2, expected)
    git(versioned, "checkout", "--", ".")
    assert _state(versioned)[:2] == before[:2]


def test_bad_paths_and_files(versioned: Path, tmp_path: Path) -> None:
    before = _state(versioned)
    cases = [
        (tmp_path / "missing.bin", "does not exist"),
        (tmp_path, "is not a file"),
    ]
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    cases.append((empty, "outside the limits"))
    for path, text in cases:
        proc = run(BIN / "cpv", "model", "upload", path, cwd=versioned, check=False)
        _one_line_error(proc, 2, text)
    assert _state(versioned)[:2] == before[:2]


def test_model_over_the_size_limit(versioned: Path) -> None:
    config = versioned / ".cpv.yaml"
    config.write_text(config.read_text().replace("max_model_mb: 50000", "max_model_mb: 0.15"))
    git(versioned, "commit", "-qam", "tight limit")
    write_model(versioned / "model.bin", size=400_000)
    (versioned / "metrics.log").write_text("acc: 1\n")
    proc = git(versioned, "commit", "-am", "too big", check=False)
    assert proc.returncode != 0 and "outside the limits 0.1-0.15 MB" in proc.stderr


def test_symlink_leaving_the_repo(versioned: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.bin"
    write_model(outside, seed=5)
    (versioned / "model.bin").unlink()
    (versioned / "model.bin").symlink_to(outside)
    (versioned / "metrics.log").write_text("acc: 1\n")
    before = _state(versioned)
    proc = git(versioned, "commit", "-am", "linked", check=False)
    assert (
        proc.returncode != 0
        and "is a symlink to" in proc.stderr
        and "outside the repo" in proc.stderr
    )
    assert _state(versioned)[:2] == before[:2]


def test_hand_edited_pointer_is_refused_on_push_and_download(
    versioned: Path, tmp_path: Path, bare_remote: Path
) -> None:
    remote_before = git(bare_remote, "for-each-ref").stdout
    pointer = versioned / "model.bin.dvc"
    pointer.write_text(pointer.read_text()[:30])
    git(versioned, "-c", "core.hooksPath=/dev/null", "commit", "-qam", "hand edit")
    proc = git(versioned, "push", check=False)
    assert proc.returncode != 0 and "model.bin.dvc@" in proc.stderr
    assert "is not a valid DVC pointer" in proc.stderr and "git checkout --" in proc.stderr
    assert git(bare_remote, "for-each-ref").stdout == remote_before
    git(versioned, "tag", "-a", "v0.3", "-m", "by hand")
    info = run(
        BIN / "cpv",
        "model",
        "download",
        "--tag",
        "v0.3",
        "-o",
        tmp_path / "o",
        cwd=versioned,
        check=False,
    )
    _one_line_error(info, 5, "is not a valid DVC pointer")


def test_malformed_configs(versioned: Path, isolated_env: Path) -> None:
    (isolated_env / ".cpv").mkdir(exist_ok=True)
    (isolated_env / ".cpv" / "config.json").write_text("{not json")
    proc = run(BIN / "cpv", "aws-config", "--bucket", "b", check=False)
    _one_line_error(proc, 3, "is not a valid cpv config")
    (versioned / ".cpv.yaml").write_text("artifacts: [unclosed\n")
    proc = run(BIN / "cpv", "model", "list-tags", cwd=versioned, check=False)
    _one_line_error(proc, 3, ".cpv.yaml is malformed")


def test_malformed_tag_manifest(versioned: Path) -> None:
    git(versioned, "tag", "-a", "v0.9", "-m", "made by hand, no manifest")
    proc = run(BIN / "cpv", "model", "info", "--tag", "v0.9", cwd=versioned, check=False)
    _one_line_error(proc, 2, "tag v0.9 has no valid cpv manifest")
    listing = run(BIN / "cpv", "model", "list-tags", cwd=versioned).stdout
    assert "v0.2" in listing and "v0.9" not in listing


# -- properties of the version scheme --------------------------------------------------

numbers = st.integers(min_value=0, max_value=99999)


@given(numbers, numbers)
def test_version_round_trip(major: int, minor: int) -> None:
    v = Version(major, minor)
    assert parse_version(str(v)) == v
    assert parse_tag(v.tag("model")) == ("model", v)
    assert parse_tag(v.tag("data")) == ("data", v)


@given(st.lists(st.tuples(numbers, numbers), min_size=2))
def test_ordering_is_numeric(pairs: list[tuple[int, int]]) -> None:
    assert sorted(Version(*p) for p in pairs) == [Version(*p) for p in sorted(pairs)]


@given(st.lists(st.tuples(numbers, numbers), max_size=20), st.booleans())
def test_next_version_is_always_above_all(pairs: list[tuple[int, int]], major: bool) -> None:
    tags = [Version(*p).tag("model") for p in pairs] + ["data-v999.0", "release-1"]
    nxt = next_version(tags, "model", Directive(major=major))
    assert all(nxt > Version(*p) for p in pairs)
    assert nxt.tag("model") not in tags


@given(st.text(max_size=20))
def test_parse_never_crashes(text: str) -> None:
    try:
        parse_version(text)
    except ValidationError as exc:
        assert "v{major}.{minor}" in exc.hint


def test_download_never_overwrites_unsaved_weights(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`--force` replaces a download, never the work tree's uncommitted model; a data
    directory downloaded again is replaced whole."""
    repo = make_repo()
    write_model(repo / "model.bin", seed=1)
    (repo / "data" / "a.txt").write_text("a\n")
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-qam", "v1")
    unsaved = write_model(repo / "model.bin", seed=2)  # training wrote new weights
    proc = run(BIN / "cpv", "model", "download", "--tag", "v0.1", "--force", cwd=repo, check=False)
    _one_line_error(proc, 2, "model.bin has changes that are not committed")
    assert (repo / "model.bin").read_bytes() == unsaved
    out = tmp_path / "out"
    for _ in range(2):
        run(BIN / "cpv", "data", "download", "--tag", "data-v0.1", "-o", out, "--force", cwd=repo)
    assert sorted(p.name for p in (out / "data").iterdir()) == [".gitkeep", "a.txt"]
