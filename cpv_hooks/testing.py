"""For tests and benchmarks: a real S3 endpoint (``moto_server`` on a free 127.0.0.1 port),
and a repo history of many versions made in one go."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's S3 HTTP API as a subprocess, so a test can kill it mid-transfer."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> MotoServer:
        exe = Path(sys.executable).parent / "moto_server"
        cmd = [
            str(exe) if exe.exists() else shutil.which("moto_server") or "moto_server",
            "-H",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        env = {**os.environ, **self.env} if self.env else None
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("moto_server did not start (pip install 'moto[server]')")

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _data(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return b"data %d\n%s\n" % (len(data), data)


def _git(repo: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True, check=True)
    return proc.stdout.decode()


def tagged_history(repo: Path, first: int, last: int) -> dict[str, bytes]:
    """Versions v0.<first> ... v0.<last> on new commits of the current branch of a cpv repo:
    each commit a model of its own (its object written to the DVC cache), each tag a real
    annotated cpv version tag with its manifest. Two ``git fast-import`` runs instead of a
    ``git commit`` each; returns the model objects (md5 -> bytes) to store on a remote."""
    from cpv_hooks.tagging import manifest_text

    models = {}
    for i in range(first, last + 1):
        body = b"model %d" % i
        models[hashlib.md5(body, usedforsecurity=False).hexdigest()] = body
    for md5, body in models.items():
        path = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    branch = _git(repo, "symbolic-ref", "HEAD").strip()
    head = _git(repo, "rev-parse", "HEAD").strip()
    when = int(time.time()) - (last - first) - 1
    stream = [b"reset %s\nfrom %s\n" % (branch.encode(), head.encode())]
    for i, (md5, body) in enumerate(models.items(), first):
        pointer = f"outs:\n- md5: {md5}\n  size: {len(body)}\n  hash: md5\n  path: model.bin\n"
        stream += [
            b"commit %s\nmark :%d\n" % (branch.encode(), i),
            b"committer Bench <bench@example.com> %d +0000\n" % (when + i - first),
            _data(f"version {i}"),
            b"M 100644 inline model.bin.dvc\n" + _data(pointer),
            b"M 100644 inline metrics.log\n" + _data(f"step: {i}\n"),
            b"\n",
        ]
    marks = repo / ".git" / "cpv-marks"
    _git(repo, "fast-import", "--quiet", f"--export-marks={marks}", input=b"".join(stream))
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    tags = []
    for i, (md5, body) in enumerate(models.items(), first):
        commit, name, metrics = shas[f":{i}"], f"v0.{i}", f"step: {i}\n".encode()
        manifest = {
            "schema": 1, "kind": "model", "tag": name, "version": name, "commit": commit,
            "author": "Bench <bench@example.com>", "message": f"version {i}",
            "date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(when + i - first)),
            "artifacts": {
                "model.bin": {"md5": md5, "size": len(body), "store": "dvc"},
                "metrics.log": {"md5": hashlib.md5(metrics, usedforsecurity=False).hexdigest(),
                                "size": len(metrics), "store": "git"},
            },
            "metrics": {"step": float(i)},
        }  # fmt: skip
        tags += [
            b"tag %s\nfrom %s\n" % (name.encode(), commit.encode()),
            b"tagger Bench <bench@example.com> %d +0000\n" % (when + i - first),
            _data(manifest_text(manifest)),
        ]
    _git(repo, "fast-import", "--quiet", input=b"".join(tags))
    _git(repo, "reset", "-q", "--hard")
    return models
