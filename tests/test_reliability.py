"""Faults lose nothing: S3 failures, rejected pushes, interruptions, races, corruption, full disks.

docs/RELIABILITY.md lists each fault with the test here that proves it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from conftest import BIN, S3, MotoServer, git, posix_only, run, teammate, write_model

from cpv_hooks.dvc.cache import file_md5


def _version(repo: Path, seed: int, size: int = 200_000) -> bytes:
    data = write_model(repo / "model.bin", seed=seed, size=size)
    (repo / "metrics.log").write_text(f"acc: 0.{seed}\n")
    git(repo, "commit", "-am", f"model {seed}")
    return data


def _remote_keys_for_tags(repo: Path, s3: S3) -> None:
    """Every object of every pushed tag is on S3."""
    keys = s3.list_keys()
    for tag in git(repo, "tag", "-l").stdout.split():
        text = git(repo, "show", f"{tag}:model.bin.dvc").stdout
        md5 = text.split("md5: ")[1].split()[0]
        assert any(k.endswith(f"{md5[:2]}/{md5[2:]}") for k in keys), tag


def _assert_cache_sound(repo: Path) -> None:
    for path in (repo / ".dvc" / "cache" / "files" / "md5").rglob("*"):
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".dir"):
            assert file_md5(path) == path.parent.name + path.name, path


@pytest.fixture
def auth_s3() -> Iterator[tuple[S3, dict[str, str]]]:
    """A moto server that checks credentials (moto IAM): returns the bucket and a valid key."""
    server = MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"}).start()
    import boto3

    kwargs = {
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
    }
    boto3.client("s3", **kwargs).create_bucket(Bucket="authed")
    iam = boto3.client("iam", **kwargs)
    iam.create_user(UserName="trainer")
    policy = (
        '{"Version": "2012-10-17", "Statement": '
        '[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    )
    iam.put_user_policy(UserName="trainer", PolicyName="s3", PolicyDocument=policy)
    key = iam.create_access_key(UserName="trainer")["AccessKey"]
    yield (
        S3(server, "authed"),
        {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]},
    )
    server.kill()


def test_wrong_credentials_refuse_push_then_right_ones_work(
    make_repo, auth_s3, bare_remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, good = auth_s3
    repo = make_repo(s3)
    _version(repo, 1)
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0
    assert "cpv: push refused: S3 refused" in proc.stderr and "credentials" in proc.stderr
    assert git(bare_remote, "for-each-ref").stdout == ""
    for key, value in good.items():
        monkeypatch.setenv(key, value)
    git(repo, "push")
    assert git(bare_remote, "tag", "-l").stdout.split() == ["v0.1"]


def test_missing_bucket_refuses_push_then_works(
    make_repo, moto: MotoServer, bare_remote: Path
) -> None:
    s3 = S3(moto, "not-created-yet")
    repo = make_repo(s3)
    _version(repo, 1)
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0 and "bucket not-created-yet does not exist" in proc.stderr
    assert git(bare_remote, "for-each-ref").stdout == ""
    s3.create_bucket()
    git(repo, "push")
    _remote_keys_for_tags(repo, s3)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a hung S3)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


def test_hung_s3_times_out_and_refuses_push(
    make_repo, s3: S3, silent_endpoint: str, bare_remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPV_S3_TIMEOUT", "1")
    repo = make_repo(s3, s3_endpoint_url=silent_endpoint)
    _version(repo, 1)
    started = time.monotonic()
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0 and "timeout" in proc.stderr.lower()
    assert time.monotonic() - started < 60
    assert git(bare_remote, "for-each-ref").stdout == ""
    run(BIN / "cpv", "aws-config", "--bucket", s3.bucket, "--endpoint-url", s3.endpoint, cwd=repo)
    git(repo, "push")
    _remote_keys_for_tags(repo, s3)


def test_non_fast_forward_push_leaves_everything_in_place(
    make_repo, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo()
    git(repo, "push")
    other = teammate(bare_remote, tmp_path / "other")
    (other / "train.py").write_text("# teammate's code\n")
    git(other, "commit", "-qam", "code only")
    git(other, "push")
    _version(repo, 1)
    head, tags = git(repo, "rev-parse", "HEAD").stdout, git(repo, "tag", "-l").stdout
    proc = git(repo, "push", check=False)
    assert proc.returncode != 0 and "git pull" in proc.stderr
    assert (git(repo, "rev-parse", "HEAD").stdout, git(repo, "tag", "-l").stdout) == (head, tags)
    assert git(repo, "status", "--porcelain").stdout == ""


def _wait_until(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 60
) -> None:
    """Wait for an event (a file appearing) while ``proc`` runs; fails if ``proc`` ends first.

    It polls for the event; no fixed sleep stands in for progress.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the command finished before the event"
        assert time.monotonic() < deadline, "the event did not happen in time"
        time.sleep(0.002)


def _descendants(proc: subprocess.Popen[bytes], pattern: str) -> list[int]:
    """Pids of the processes under ``proc`` (only those this test started) matching ``pattern``."""
    found = []
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if pattern in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGINT, getattr(signal, "SIGKILL", 9)])
def test_interrupted_commit_leaves_a_consistent_repo(make_repo, sig: int) -> None:
    """Ctrl-C reaches git and the hook (the process group); SIGKILL hits the hook alone."""
    repo = make_repo()
    head = git(repo, "rev-parse", "HEAD").stdout
    write_model(repo / "model.bin", size=300_000_000)
    (repo / "metrics.log").write_text("acc: 1\n")
    proc = subprocess.Popen(
        ["git", "commit", "-qam", "big"],
        cwd=repo,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cache = repo / ".dvc" / "cache"
    _wait_until(proc, lambda: any(cache.rglob(".cpv-tmp-*")))  # the model is being copied
    hook = _descendants(proc, "--native pre-commit")
    assert hook, "the hook is not running"
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        for pid in hook:
            os.kill(pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert git(repo, "rev-parse", "HEAD").stdout == head
    assert not (repo / ".git" / "index.lock").exists()
    _assert_cache_sound(repo)
    git(repo, "commit", "-qam", "big, again")
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1"]
    _assert_cache_sound(repo)


@posix_only
def test_interrupted_checkout_and_download_recover(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    big = _version(repo, 1, size=60_000_000)
    _version(repo, 2)
    git(repo, "push")
    other = teammate(bare_remote, tmp_path / "other")
    proc = subprocess.Popen(
        ["git", "checkout", "-q", "v0.1"],
        cwd=other,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_until(proc, lambda: any(other.rglob(".cpv-tmp-*")))  # v0.1's model is arriving
    os.killpg(proc.pid, signal.SIGKILL)  # the group of the git this test started
    proc.wait()
    git(other, "checkout", "-q", "v0.1")  # the next command completes the job
    assert (other / "model.bin").read_bytes() == big
    out = tmp_path / "dl"
    dl = subprocess.Popen(
        [str(BIN / "cpv"), "model", "download", "--tag", "v0.1", "--no-cache", "-o", str(out)],
        cwd=repo,
        start_new_session=True,
    )
    _wait_until(dl, lambda: out.is_dir() and any(out.glob(".cpv-tmp-*")))  # writing
    os.killpg(dl.pid, signal.SIGKILL)
    dl.wait()
    partial = out / "model.bin"
    assert not partial.exists() or partial.read_bytes() == big  # whole or absent, never partial
    run(BIN / "cpv", "model", "download", "--tag", "v0.1", "-o", out, "--force", cwd=repo)
    assert (out / "model.bin").read_bytes() == big


def test_two_uploads_at_once_are_serialised(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    files = [tmp_path / f"m{i}.bin" for i in (1, 2)]
    for i, path in enumerate(files):
        write_model(path, seed=i + 1)
    procs = [
        subprocess.Popen(
            [str(BIN / "cpv"), "model", "upload", str(f)],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert git(repo, "tag", "-l").stdout.split() == ["v0.1", "v0.2"]
    assert git(repo, "status", "--porcelain").stdout == ""
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 3


def test_corrupt_cache_object_is_never_checked_out(make_repo, s3: S3) -> None:
    repo = make_repo(s3)
    first = _version(repo, 1)
    _version(repo, 2)
    git(repo, "push")
    md5 = git(repo, "show", "v0.1:model.bin.dvc").stdout.split("md5: ")[1].split()[0]
    obj = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"bit rot" * 1000)
    proc = git(repo, "checkout", "v0.1")
    assert "corrupt object(s) in the local cache" in proc.stderr
    assert (repo / "model.bin").read_bytes() == first


def test_corrupt_object_on_s3_is_refused_on_download(make_repo, s3: S3, tmp_path: Path) -> None:
    repo = make_repo(s3)
    _version(repo, 1)
    git(repo, "push")
    md5 = file_md5(repo / "model.bin")
    key = next(k for k in s3.list_keys() if k.endswith(md5[2:]))
    s3.server.client().put_object(Bucket=s3.bucket, Key=key, Body=b"tampered")
    proc = run(
        BIN / "cpv", "model", "download", "--no-cache", "-o", tmp_path / "dl", cwd=repo, check=False
    )
    assert proc.returncode == 6 and "is corrupt" in proc.stderr
    assert not (tmp_path / "dl" / "model.bin").exists()


@posix_only
def test_disk_full_while_downloading_leaves_no_partial_file(make_repo, tmp_path: Path) -> None:
    import resource

    repo = make_repo()
    _version(repo, 1, size=3_000_000)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    out = tmp_path / "dl"
    proc = subprocess.run(
        [str(BIN / "cpv"), "model", "download", "-o", str(out)],
        cwd=repo,
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
    )
    assert proc.returncode == 6 and "no space left" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not out.exists() or list(out.iterdir()) == []
