"""A hostile repo cannot hurt a teammate (docs/RELIABILITY.md, security).

An attacker with push access crafts content; a victim clones and runs the usual commands.
Each refusal is one line; nothing outside the victim's clone changes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import BIN, git, run, teammate, write_model


def test_no_code_from_the_repo_runs(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    marker = tmp_path / "ran"
    for module in ("json", "tokenize", "subprocess"):
        (repo / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write('{module}')\n")
    git(repo, "add", "json.py", "tokenize.py", "subprocess.py")
    git(repo, "commit", "-m", "modules named like the standard library")
    assert not marker.exists()
    # values given to cpv init stay literal: cookiecutter does not render them as Jinja
    url = "/tmp/x{{7*7}}'{% raw %}.git"
    run(BIN / "cpv", "init", "-t", "vision", "-m", "literal", "--git-remote-url", url)
    assert git(tmp_path / "literal", "remote", "get-url", "origin").stdout.strip() == url


def test_odd_names_and_deep_brackets(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    odd = os.fsdecode(b"v\xff")
    git(repo, "tag", "-a", odd, "-m", "a name that is not UTF-8")
    git(repo, "tag", "-a", "v7.0", "-m", "deep\n\n" + "[" * 100_000)
    (repo / "data" / os.fsdecode(b"\xfe.bin")).write_bytes(b"odd name")
    write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("{" * 100_000 + "\nacc: 0.5\n")
    git(repo, "commit", "-am", "odd")
    assert "v7.1" in git(repo, "tag", "--points-at", "HEAD").stdout  # above the bad v7.0
    git(repo, "push", "-q", "origin", "main", "--tags")
    listed = run(BIN / "cpv", "model", "list-tags", cwd=repo)
    assert "v7.1" in listed.stdout, listed.stderr
    victim = teammate(repo.parent.parent / "bitbucket" / "model.git", tmp_path / "victim")
    assert (victim / "data" / os.fsdecode(b"\xfe.bin")).read_bytes() == b"odd name"


def test_listings_trust_refs_not_manifests_and_print_no_escapes(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    write_model(repo / "model.bin", seed=4)
    (repo / "metrics.log").write_text('acc: 0.5\n{"\\u001b]0;title\\u0007x": 1}\n')
    git(repo, "commit", "-am", "clear \x1b[2J screen \u202e txet")
    copied = git(repo, "tag", "-l", "--format=%(contents)", "v0.1").stdout
    git(repo, "tag", "-a", "v7.7", "-m", copied)  # the manifest of v0.1 under another name
    listed = run(BIN / "cpv", "model", "list-tags", cwd=repo)
    assert listed.stdout.count("v0.1") == 1 and "v7.7" not in listed.stdout
    assert "\x1b" not in listed.stdout and "\\x1b[2J screen \\u202e" in listed.stdout
    info = run(BIN / "cpv", "model", "info", "--tag", "v0.1", cwd=repo)
    assert "metric \\x1b]0;title\\x07x: 1" in info.stdout
    proc = run(BIN / "cpv", "model", "info", "--tag", "v7.7", cwd=repo, check=False)
    assert proc.returncode == 2 and "carries the manifest of v0.1" in proc.stderr
    assert proc.stderr.count("\n") == 1
    proc = run(
        BIN / "cpv", "model", "download", "--repo-url", "https://user:TOKEN@127.0.0.1:9/x.git",
        cwd=repo, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "TOKEN" not in proc.stderr and "user" not in proc.stderr


def test_repos_sharing_a_cache_commit_the_same_data_at_once(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared-cache"
    repos = [make_repo(model_name=name) for name in ("alpha", "beta")]
    for repo in repos:
        with (repo / ".dvc" / "config.local").open("a") as fh:
            fh.write(f"[cache]\n    dir = {shared}\n")
        (repo / "metrics.log").write_text("acc: 0.5\n")  # a tracked change: one commit does it
        for i in range(300):
            (repo / "data" / f"part-{i:03}.bin").write_bytes(i.to_bytes(2, "big") * 20_000)
    procs = [
        subprocess.Popen(["git", "commit", "-qam", "same data"], cwd=repo, stderr=subprocess.PIPE)
        for repo in repos
    ]
    errors = [proc.communicate()[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    assert not list(shared.rglob(".cpv-tmp-*"))
    assert len(list((shared / "files" / "md5").rglob("*"))) > 300
