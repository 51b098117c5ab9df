"""A push at scale: many tags in a fixed number of git calls, and the pushed-objects index
(no listing of the remote when nothing is new; a teammate's gc drops it). Real git, real
moto S3; the pushes whose git calls or S3 requests are counted run cpv's hook in-process."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, S3, git, run, teammate, write_model

from cpv_hooks import pushed
from cpv_hooks.hooks import pre_push
from cpv_hooks.push import RefUpdate, publish
from cpv_hooks.repo import ZERO_SHA
from cpv_hooks.storage import open_remote
from cpv_hooks.testing import tagged_history

PREFIX = "vision/resnet50/files/md5/"


def _key(data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    return f"{PREFIX}{md5[:2]}/{md5[2:]}"


def _commit(repo: Path, message: str) -> None:
    if git(repo, "commit", "-qam", message, check=False).returncode:  # pointer staged: again
        git(repo, "commit", "-qam", message)


def test_pushing_many_tags_takes_as_many_git_calls_as_a_few(
    make_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git push --tags`: the hook starts as many git processes for 40 tags as for 4 (it
    used to start about five per tag, one listing every tag), and still checks, uploads and
    publishes every one of them."""
    repo = make_repo()
    monkeypatch.chdir(repo)
    real = subprocess.run
    calls: list[str] = []

    def counting(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(cmd[1] if cmd[0] == "git" else cmd[0])
        return real(cmd, *args, **kwargs)

    def push_tags(first: int, last: int) -> int:
        models = tagged_history(repo, first, last)
        mirror = tmp_path / f"mirror-{last}.git"
        run("git", "init", "-q", "--bare", mirror)
        git(repo, "remote", "add", mirror.stem, str(mirror))
        names = [f"refs/tags/v0.{i}" for i in range(first, last + 1)]
        listed = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", *names).stdout
        pairs = [line.split() for line in listed.splitlines()]
        lines = "".join(f"{r} {o} {r} {ZERO_SHA}\n" for r, o in pairs)
        calls.clear()
        with monkeypatch.context() as m:
            m.setattr(subprocess, "run", counting)
            assert pre_push.main([mirror.stem, str(mirror)], stdin=lines) == 0
        remote = Path(open_remote(repo).url)
        for md5 in models:  # every tag's data uploaded, every version published
            assert (remote / "files" / "md5" / md5[:2] / md5[2:]).is_file()
        for i in range(first, last + 1):
            assert (remote / "cpv" / "versions" / f"v0.{i}.json").is_file()
        return len(calls)

    few = push_tags(1, 4)
    many = push_tags(5, 44)
    assert many == few, calls


def test_nothing_new_lists_nothing_and_a_teammates_gc_drops_the_index(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second push of data already pushed asks S3 for no listing of its objects; after a
    teammate's gc deleted an object, the next push uploads it again, even when no sample
    check would have found it (the gc's generation marker alone drops the index); an object
    deleted behind cpv's back is found by the sample."""
    repo = make_repo(s3)
    write_model(repo / "model.bin", seed=1)
    _commit(repo, "first")
    git(repo, "push", "-q")  # a full check: records the index
    assert list((repo / ".git" / "cpv" / "pushed").iterdir())

    (repo / "train.py").write_text("# a code change\n")
    git(repo, "commit", "-qam", "code only")
    remote = open_remote(repo)
    requests: list[str] = []  # "<operation> <key or prefix>" of every S3 call
    remote.client.meta.events.register(  # type: ignore[attr-defined]
        "before-parameter-build.s3",
        lambda model, params, **_: requests.append(
            f"{model.name} {params.get('Key') or params.get('Prefix', '')}"
        ),
    )
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    before = git(repo, "rev-parse", "origin/main").stdout.strip()
    update = RefUpdate("refs/heads/main", head, "refs/heads/main", before)
    assert publish(repo, [update], "origin", remote).objects == 0
    data = [r for r in requests if "/files/" in r]
    assert data and all(r.startswith("HeadObject ") for r in data), requests  # a sample only

    # a branch pushed, then deleted on the git remote: its model is garbage for a gc
    git(repo, "push", "-q")
    git(repo, "checkout", "-qb", "exp")
    lost = write_model(repo / "model.bin", seed=2)
    _commit(repo, "[cpv skip] experiment")
    git(repo, "push", "-q", "origin", "exp")
    git(repo, "push", "-q", "origin", ":exp")
    mate = teammate(bare_remote, tmp_path / "mate")
    run(BIN / "cpv", "gc", "--grace", "0", "--yes", cwd=mate)
    assert _key(lost) not in s3.list_keys()

    tip = git(repo, "rev-parse", "exp").stdout.strip()
    update = RefUpdate("refs/heads/exp", tip, "refs/heads/exp", ZERO_SHA)
    with monkeypatch.context() as m:
        m.setattr(pushed, "SAMPLE", 0)  # only the generation marker can tell
        assert publish(repo, [update], "origin").objects == 1
    assert _key(lost) in s3.list_keys()

    # deleted behind cpv's back (no marker change): the sample of vouched objects finds it
    s3.server.client().delete_object(Bucket=s3.bucket, Key=_key(lost))
    assert publish(repo, [update], "origin").objects == 1
    assert _key(lost) in s3.list_keys()
