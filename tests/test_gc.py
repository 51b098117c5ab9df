"""`cpv gc`: remote and cache cleanup that never deletes what a ref, a teammate's pushed branch
or this clone's unpushed work needs (real git, real DVC layout, moto S3)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

from conftest import BIN, S3, git, run, teammate, write_model

from cpv_hooks.storage import open_remote

PREFIX = "vision/resnet50/files/md5/"


def _key(data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    return f"{PREFIX}{md5[:2]}/{md5[2:]}"


def _commit_model(repo: Path, seed: int, message: str) -> bytes:
    data = write_model(repo / "model.bin", seed=seed)
    if git(repo, "commit", "-qam", message, check=False).returncode:  # pointer staged: again
        git(repo, "commit", "-qam", message)
    return data


def _gc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(BIN / "cpv", "gc", *args, cwd=repo, check=check)


def _user_refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "refs/heads", "refs/remotes", "refs/tags").stdout


def test_gc_keeps_every_ref_history_unpushed_and_recent(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    v1 = _commit_model(repo, 1, "first")
    v2 = _commit_model(repo, 2, "second")
    git(repo, "push", "-q")
    # this clone: a branch pushed, then deleted on the remote, kept here (unpushed work)
    git(repo, "checkout", "-qb", "exp")
    exp = _commit_model(repo, 5, "[cpv skip] experiment")
    git(repo, "push", "-q", "origin", "exp")
    git(repo, "push", "-q", "origin", ":exp")
    git(repo, "checkout", "-q", "main")
    # a teammate's pushed branch this clone never fetched; its first commit is not a tip
    mate = teammate(bare_remote, tmp_path / "mate")
    git(mate, "checkout", "-qb", "feat")
    mid = _commit_model(mate, 3, "[cpv skip] feature 1")
    tip = _commit_model(mate, 4, "[cpv skip] feature 2")
    git(mate, "push", "-q", "-u", "origin", "feat")
    # garbage: an object no commit names, and a key of no DVC layout
    client = s3.server.client()
    junk = os.urandom(1000)
    client.put_object(Bucket=s3.bucket, Key=_key(junk), Body=junk)
    client.put_object(Bucket=s3.bucket, Key="vision/resnet50/notes.txt", Body=b"x")
    needed = {_key(d) for d in (v1, v2, exp, mid, tip)}
    before, refs = s3.list_keys(), _user_refs(repo)
    assert needed | {_key(junk)} <= before

    dry = _gc(repo, "--grace", "0").stdout
    assert "dry run: would delete 1 object(s), 1000 bytes" in dry
    assert s3.list_keys() == before
    run(BIN / "cpv", "--dry-run", "gc", "--grace", "0", "--yes", cwd=repo)
    assert s3.list_keys() == before

    recent = json.loads(_gc(repo, "--yes", "--json").stdout)  # default grace: 24 h
    assert recent["delete_objects"] == 0 and recent["kept_recent"] == 1
    assert s3.list_keys() == before

    done = json.loads(_gc(repo, "--grace", "0", "--yes", "--json").stdout)
    assert done["deleted"] == [_key(junk)] and done["delete_bytes"] == 1000
    assert s3.list_keys() == before - {_key(junk)}
    assert _user_refs(repo) == refs  # gc fetched into refs/cpv-gc/ only

    # every version still checks out in a fresh clone
    fresh = teammate(bare_remote, tmp_path / "fresh")
    for ref, data in (("v0.1", v1), ("origin/feat~1", mid), ("origin/feat", tip), ("main", v2)):
        git(fresh, "checkout", "-q", ref)
        assert (fresh / "model.bin").read_bytes() == data

    # the local cache: keeps HEAD's and the last version's objects and anything unpushed
    git(repo, "checkout", "-qb", "exp2", "exp")
    unpushed = _commit_model(repo, 7, "[cpv skip] not pushed")
    git(repo, "checkout", "-q", "v0.1")
    cache = repo / ".dvc" / "cache"
    out = _gc(repo, "--cache", "--keep-last", "1", "--yes").stdout
    assert f"deleted 1 object(s), {len(exp)} bytes" in out
    kept = {p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()}
    for data, present in ((v1, True), (v2, True), (unpushed, True), (exp, False)):
        assert (_key(data).removeprefix("vision/resnet50/") in kept) is present


def test_gc_refuses_while_another_holds_the_lock(make_repo, s3: S3) -> None:
    repo = make_repo(s3)
    _commit_model(repo, 1, "first")
    git(repo, "push", "-q")
    holder = {"who": "alice@gpu-box", "pid": "42", "since": "2026-11-30T10:00:00+00:00"}
    lock = "vision/resnet50/cpv/gc.lock"
    s3.server.client().put_object(Bucket=s3.bucket, Key=lock, Body=json.dumps(holder).encode())
    before = s3.list_keys()
    proc = _gc(repo, "--grace", "0", "--yes", check=False)
    assert proc.returncode == 6
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "another gc holds the lock" in lines[0]
    assert "alice@gpu-box" in lines[0] and "2026-11-30T10:00:00" in lines[0]
    assert s3.list_keys() == before  # the holder's lock stays too
    # a push relying on objects already on the remote waits for the gc to finish
    _commit_model(repo, 2, "second")
    refused = git(repo, "push", "-q", check=False)
    assert refused.returncode != 0 and "a gc is running on" in refused.stderr
    assert "alice@gpu-box" in refused.stderr
    s3.server.client().delete_object(Bucket=s3.bucket, Key=lock)
    git(repo, "push", "-q")


def test_push_racing_gc_loses_nothing(make_repo, s3: S3, bare_remote: Path, tmp_path: Path) -> None:
    repo = make_repo(s3)
    v1 = _commit_model(repo, 1, "first")
    git(repo, "push", "-q")
    mate = teammate(bare_remote, tmp_path / "mate")
    uploaded, gc_done = tmp_path / "uploaded", tmp_path / "gc-done"
    # runs after cpv's pre-push (which uploaded the data), before git sends the refs
    hook = mate / ".git" / "hooks" / "pre-push.legacy"
    hook.write_text(
        f"#!/bin/sh\ntouch '{uploaded}'\n"
        f"i=0; while [ ! -e '{gc_done}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    v2 = _commit_model(mate, 2, "second")
    push = subprocess.Popen(["git", "push", "-q"], cwd=mate, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            if uploaded.exists() or push.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"])  # waiting for the event, not timing
        assert uploaded.exists(), push.stderr.read() if push.stderr else ""
        assert _key(v2) in s3.list_keys()  # uploaded, refs not yet sent
        report = json.loads(_gc(repo, "--yes", "--json").stdout)
        assert report["applied"] and report["delete_objects"] == 0
        assert report["kept_recent"] >= 1
    finally:
        gc_done.touch()
        assert push.wait(timeout=120) == 0
    fresh = teammate(bare_remote, tmp_path / "fresh")
    for ref, data in (("v0.1", v1), ("v0.2", v2)):
        git(fresh, "checkout", "-q", ref)
        assert (fresh / "model.bin").read_bytes() == data


def test_gc_of_a_local_remote_and_unreadable_listing(make_repo, tmp_path: Path) -> None:
    repo = make_repo()  # the local remote of the quickstart
    v1 = _commit_model(repo, 1, "first")
    git(repo, "push", "-q")
    base = Path(open_remote(repo).url)
    junk = base / "files" / "md5" / "00" / ("1" * 30)
    junk.parent.mkdir(parents=True, exist_ok=True)
    junk.write_bytes(b"junk")
    out = _gc(repo, "--grace", "0", "--yes").stdout
    assert "deleted 1 object(s), 4 bytes" in out and not junk.exists()
    assert (base / _key(v1).removeprefix("vision/resnet50/")).exists()
    # a listing a ref needs that is nowhere: refuse, delete nothing
    listing = next((repo / ".dvc" / "cache" / "files" / "md5").rglob("*.dir"))
    rel = listing.relative_to(repo / ".dvc" / "cache").as_posix()
    os.chmod(listing, 0o644)
    listing.unlink()
    (base / rel).unlink()
    junk.write_bytes(b"junk")
    proc = _gc(repo, "--grace", "0", "--yes", check=False)
    assert proc.returncode == 6 and "cannot read 1 directory listing" in proc.stderr
    assert junk.exists()
    # bad settings and options: one line, nothing deleted
    bad = _gc(repo, "--grace", "soon", check=False)
    assert bad.returncode == 2 and "--grace 'soon' is not a duration" in bad.stderr
    conf = repo / ".cpv.yaml"
    conf.write_text(conf.read_text() + "retention:\n  keep_lats: 3\n")
    bad = _gc(repo, "--yes", check=False)
    assert bad.returncode == 3 and "retention: unknown key keep_lats" in bad.stderr
    assert junk.exists()


def test_retention_prunes_exactly_the_versions_outside_the_policy(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    models = [_commit_model(repo, seed, f"version {seed}") for seed in (1, 2, 3)]
    git(repo, "push", "-q")
    tags = git(bare_remote, "tag", "-l").stdout
    (repo / ".cpv.yaml").write_text(
        (repo / ".cpv.yaml").read_text() + "retention:\n  keep_last: 1\n  grace_hours: 0\n"
    )
    plan = json.loads(_gc(repo, "--json").stdout)  # the policy from .cpv.yaml
    assert plan["versions_pruned"] == ["v0.1", "v0.2"]
    assert plan["versions_kept"] == ["v0.3"]
    young = json.loads(_gc(repo, "--older-than", "1", "--json").stdout)  # all made today
    assert young["versions_pruned"] == [] and young["delete_objects"] == 0
    old = json.loads(_gc(repo, "--older-than", "0", "--json").stdout)
    assert old["versions_pruned"] == ["v0.1", "v0.2"]  # v0.3 is main's tip: its data stays
    out = _gc(repo, "--keep-last", "1", "--keep", "v0.1", "--grace", "0", "--yes").stdout
    assert "versions kept: v0.1, v0.3" in out
    assert "versions pruned: v0.2" in out
    keys = s3.list_keys()
    assert _key(models[1]) not in keys and {_key(models[0]), _key(models[2])} <= keys
    assert git(bare_remote, "tag", "-l").stdout == tags  # tags stay, marked by a pushed note
    assert "v0.2" in git(bare_remote, "notes", "--ref=cpv-pruned", "show", "v0.2^{commit}").stdout

    mate = teammate(bare_remote, tmp_path / "mate")
    listed = run(BIN / "cpv", "model", "list-tags", cwd=mate).stdout.splitlines()
    assert [line.split()[0] for line in listed if "[data pruned" in line] == ["v0.2"]
    proc = run(
        BIN / "cpv", "model", "download", "--tag", "v0.2", "-o", "out", cwd=mate, check=False
    )
    assert proc.returncode == 7
    assert proc.stderr.strip().count("\n") == 0
    assert "v0.2's data was pruned on" in proc.stderr and "by " in proc.stderr
    checkout = git(mate, "checkout", "-q", "v0.2", check=False)
    assert "v0.2's data was pruned on" in checkout.stderr
    git(mate, "checkout", "-q", "v0.1")
    assert (mate / "model.bin").read_bytes() == models[0]
