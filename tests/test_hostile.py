"""A hostile repo cannot hurt a teammate (docs/RELIABILITY.md, security).

An attacker with push access crafts content; a victim clones and runs the usual commands.
Each refusal is one line; nothing outside the victim's clone changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, git, run, teammate, write_model

import cpv_hooks
from cpv_hooks.dvc.config import load as load_dvc_config
from cpv_hooks.errors import RepositoryError
from cpv_hooks.install import install_hooks


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


def test_hooks_refuse_an_install_they_cannot_import(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`python -I` skips the user site: cpv installed with `pip install --user` is refused."""
    repo = make_repo()
    home = str(Path(cpv_hooks.__file__).resolve().parent.parent)
    monkeypatch.setattr(site, "getusersitepackages", lambda: home)  # no user site here
    with pytest.raises(RepositoryError, match="user site-packages"):
        install_hooks(repo)


def test_odd_names_and_deep_brackets(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    odd = os.fsdecode(b"v\xff")
    git(repo, "tag", "-a", odd, "-m", "a name that is not UTF-8")
    git(repo, "tag", "-a", "v7.0", "-m", "deep\n\n" + "[" * 100_000)
    (repo / "data" / os.fsdecode(b"\xfe.bin")).write_bytes(b"odd name")
    write_model(repo / "model.bin", seed=3)
    (repo / "metrics.log").write_text("{" * 100_000 + "\nacc: 0.5\n")
    nested = repo / "data" / "sub" / ".git"  # skipped, as DVC's default ignores skip it
    nested.mkdir(parents=True)
    (nested / "HEAD").write_text("ref: refs/heads/main\n")
    git(repo, "commit", "-am", "odd")
    assert "v7.1" in git(repo, "tag", "--points-at", "HEAD").stdout  # above the bad v7.0
    git(repo, "push", "-q", "origin", "main", "--tags")
    listed = run(BIN / "cpv", "model", "list-tags", cwd=repo)
    assert "v7.1" in listed.stdout, listed.stderr
    victim = teammate(repo.parent.parent / "bitbucket" / "model.git", tmp_path / "victim")
    assert (victim / "data" / os.fsdecode(b"\xfe.bin")).read_bytes() == b"odd name"
    assert not (victim / "data" / "sub").exists()


def test_listings_trust_refs_not_manifests_and_print_no_escapes(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    write_model(repo / "model.bin", seed=4)
    (repo / "metrics.log").write_text('acc: 0.5\n{"\\u001b]0;title\\u0007x": 1}\n')
    git(repo, "commit", "-am", "clear \x1b[2J screen \u202e txet")
    copied = git(repo, "tag", "-l", "--format=%(contents)", "v0.1").stdout
    git(repo, "tag", "-a", "v7.7", "-m", copied)  # the manifest of v0.1 under another name
    listed = run(BIN / "cpv", "model", "list-tags", cwd=repo)
    assert listed.stdout.count("v0.1") == 1 and "v7.7" not in listed.stdout
    assert "cpv: warning: v7.7 is not listed: tag v7.7 at" in listed.stderr
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


# -- an attacker with push access, a victim who clones and works as usual -----------------


def _snapshot(base: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(base)): p.read_bytes() if p.is_file() else None for p in base.rglob("*")
    }


def _listing(remote: Path, entries: list[dict[str, str]]) -> str:
    """Store a crafted .dir listing on the remote, as anyone with write access can."""
    data = json.dumps(entries, sort_keys=True).encode()
    md5 = hashlib.md5(data).hexdigest()
    path = remote / "files" / "md5" / md5[:2] / (md5[2:] + ".dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return md5 + ".dir"


def _pointer(md5: str, path: str, size: str = "5") -> str:
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {path}\n"


def _one_refusal(proc: subprocess.CompletedProcess[str], text: str, fails: bool = True) -> None:
    """One cpv line saying ``text``; a nonzero exit unless git ignores the hook's (pull)."""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("cpv")]
    assert (proc.returncode != 0 or not fails) and len(lines) == 1, proc.stderr
    assert text in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_hostile_repo_cannot_reach_outside_the_clone(  # type: ignore[no-untyped-def]
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    sentinel = tmp_path / "sentinel"
    (sentinel / "datadir").mkdir(parents=True)
    (sentinel / "id_rsa").write_text("PRIVATE\n")
    (sentinel / "bashrc").write_text("export PS1=x\n")
    (sentinel / "datadir" / "keep.txt").write_text("keep\n")
    before = _snapshot(sentinel)

    attacker = make_repo()
    (attacker / "data" / "a.txt").write_text("hello")
    (attacker / "metrics.log").write_text("acc: 0.1\n")
    git(attacker, "commit", "-qam", "legit data")
    git(attacker, "push", "-q", "origin", "main")
    git(attacker, "checkout", "-q", "-b", "other-data")
    (attacker / "data" / "b.txt").write_text("other")
    (attacker / "metrics.log").write_text("acc: 0.2\n")
    git(attacker, "commit", "-qam", "other data")
    git(attacker, "push", "-q", "origin", "other-data")
    git(attacker, "config", "core.hooksPath", "/dev/null")  # the attacker skips every hook
    remote = Path(load_dvc_config(attacker)["remote:myremote"]["url"])
    good = hashlib.md5(b"hello").hexdigest()
    up = "../" * 5  # from the victim's .dvc/cache/files/md5/ to tmp_path
    evil = {
        "evil-relpath": {
            "data.dvc": _pointer(
                _listing(remote, [{"md5": good, "relpath": "../../sentinel/escaped.txt"}]), "data"
            )
        },
        "evil-abspath": {
            "data.dvc": _pointer(
                _listing(remote, [{"md5": good, "relpath": str(sentinel / "abs.txt")}]), "data"
            )
        },
        "evil-md5": {
            "data.dvc": _pointer(
                _listing(remote, [{"md5": f"{up}sentinel/id_rsa", "relpath": "a"}]), "data"
            )
        },
        "evil-bomb": {
            "model.bin.dvc": "a: &a [x, x, x]\nb: &b [*a, *a, *a]\n" + _pointer(good, "model.bin")
        },
        "evil-size": {"model.bin.dvc": _pointer(good, "model.bin", size="100000000000000000")},
        "evil-config": {".cpv.yaml": "artifacts:\n- path: ../outside.bin\n"},
        "evil-metrics": {
            ".cpv.yaml": f"team: vision\nmodel: resnet50\nmetrics: {sentinel}/bashrc\n"
        },
    }
    for i, (branch, files) in enumerate(evil.items()):
        git(attacker, "checkout", "-q", "-b", branch, "main")
        for rel, text in files.items():
            (attacker / rel).write_text(text)
        git(attacker, "add", "-f", *files)
        git(attacker, "commit", "-qm", branch)
        git(attacker, "tag", f"data-v9.{i}")
        git(attacker, "push", "-q", "origin", branch, "--tags")

    victim = teammate(bare_remote, tmp_path / "victim")
    assert (victim / "data" / "a.txt").read_text() == "hello"
    refusals = {
        "evil-relpath": "is not normalised",
        "evil-abspath": "is absolute",
        "evil-md5": "is not 32 hex digits",
        "evil-bomb": "uses YAML aliases",
        "evil-size": "is not a whole number of bytes",
        "evil-config": "is not normalised",
        "evil-metrics": "is absolute",
    }
    for branch, text in refusals.items():
        _one_refusal(git(victim, "checkout", "-q", branch, check=False), text)
        git(victim, "checkout", "-q", "-f", "main")
    git(victim, "checkout", "-q", "evil-abspath", check=False)
    _one_refusal(run(BIN / "cpv", "install", cwd=victim, check=False), "is absolute")
    git(victim, "checkout", "-q", "-f", "main")
    pulled = git(victim, "pull", "-q", "origin", "evil-md5", check=False)
    _one_refusal(pulled, "is not 32 hex digits", fails=False)  # post-merge cannot fail a pull
    git(victim, "reset", "-q", "--hard", "origin/main")
    _one_refusal(
        run(BIN / "cpv", "data", "download", "--tag", "v9.2", "-o", tmp_path / "dl",
            cwd=victim, check=False),
        "is not 32 hex digits",
    )  # fmt: skip
    git(victim, "checkout", "-q", "evil-metrics", check=False)
    _one_refusal(
        run(BIN / "cpv", "model", "upload", "--metric", "acc=0.93", cwd=victim, check=False),
        "is absolute",
    )
    git(victim, "checkout", "-q", "-f", "main")
    # the victim's own links: a dataset archive linking a key, data/ linked out of the clone
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "key").symlink_to(sentinel / "id_rsa")
    _one_refusal(
        run(BIN / "cpv", "data", "upload", archive, cwd=victim, check=False), "is a symlink to"
    )
    assert not any(p.read_bytes() == b"PRIVATE\n" for p in remote.rglob("*") if p.is_file())
    assert _snapshot(sentinel) == before
    assert not (tmp_path / "outside.bin.dvc").exists() and not (tmp_path / "abs.txt").exists()
    bigdisk = sentinel / "bigdisk"  # data/ moved out of the clone, linked back
    shutil.move(victim / "data", bigdisk)
    (victim / "data").symlink_to(bigdisk)
    before = _snapshot(sentinel)
    _one_refusal(git(victim, "checkout", "-q", "other-data", check=False), "leads outside the repo")
    listed = run(BIN / "cpv", "data", "list-tags", cwd=victim)
    assert "v9." not in listed.stdout
    assert _snapshot(sentinel) == before
