"""Benchmark: `cpv gc` of a remote holding 10,000 objects, against moto (target: under 10 s).

    python bench/gc.py [--objects 10000] [--commits 100]

A repo with ``--commits`` versions of model.bin and one data/ listing naming most of the
needed objects; half the remote's objects are needed, half are garbage. Timed: the dry run
(list, read every commit's pointers, expand the listing) and the real run (the same plus
DeleteObjects). Everything runs in a temporary directory with its own HOME and a moto server.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from cpv_hooks.testing import MotoServer

RESULTS = Path(__file__).parent / "results"
PREFIX = "vision/resnet50"


def sh(*cmd: str, cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def key(digest: str) -> str:
    return f"{PREFIX}/files/md5/{digest[:2]}/{digest[2:]}"


def build(work: Path, client: object, bucket: str, objects: int, commits: int) -> Path:
    """The repo (with its bare origin) and the remote's objects; returns the clone."""
    bare, repo = work / "origin.git", work / "repo"
    sh("git", "init", "-q", "--bare", str(bare), cwd=work)
    sh("git", "clone", "-q", str(bare), str(repo), cwd=work)
    needed = objects // 2
    files = [f"file {i}".encode() for i in range(needed - commits - 1)]
    listing = json.dumps(
        [{"md5": md5(b), "relpath": f"f{i}.txt"} for i, b in enumerate(files)]
    ).encode()
    dir_md5 = md5(listing) + ".dir"
    cache = repo / ".dvc" / "cache" / "files" / "md5" / dir_md5[:2]
    cache.mkdir(parents=True)
    (cache / dir_md5[2:]).write_bytes(listing)
    bodies = {key(md5(b)): b for b in files} | {key(dir_md5): listing}
    (repo / "data.dvc").write_text(
        f"outs:\n- md5: {dir_md5}\n  size: 1\n  nfiles: {len(files)}\n  hash: md5\n  path: data\n"
    )
    for i in range(commits):
        model = f"model {i}".encode()
        bodies[key(md5(model))] = model
        (repo / "model.bin.dvc").write_text(
            f"outs:\n- md5: {md5(model)}\n  size: {len(model)}\n  hash: md5\n  path: model.bin\n"
        )
        sh("git", "add", "-A", cwd=repo)
        sh("git", "commit", "-qm", f"version {i}", cwd=repo)
    sh("git", "push", "-q", "origin", "HEAD:main", cwd=repo)
    for i in range(objects - len(bodies)):
        bodies[key(md5(f"garbage {i}".encode()))] = f"garbage {i}".encode()

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, bodies.items()))
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpv-bench-gc-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        os.environ.update(
            HOME=str(work / "home"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=str(work / "home" / ".gitconfig"),
            CPV_CONFIG_DIR=str(work / "home" / ".cpv"),
            AWS_ACCESS_KEY_ID="AKIABENCH0000000000",
            AWS_SECRET_ACCESS_KEY="bench-secret",
            AWS_DEFAULT_REGION="us-east-1",
        )
        (work / "home" / ".gitconfig").write_text(
            "[user]\n\tname = bench\n\temail = bench@cpv.invalid\n[init]\n\tdefaultBranch = main\n"
        )
        server = MotoServer().start()
        try:
            from cpv_hooks.gc import collect
            from cpv_hooks.storage import S3Remote

            client = server.client()
            client.create_bucket(Bucket="cpv-bench-gc")
            repo = build(work, client, "cpv-bench-gc", args.objects, args.commits)
            remote = S3Remote(f"s3://cpv-bench-gc/{PREFIX}", {"endpointurl": server.endpoint})
            times = {}
            for name, apply in (("dry run", False), ("gc --yes", True)):
                start = time.perf_counter()
                report = collect(repo, grace=timedelta(0), apply=apply, target=remote)
                times[name] = time.perf_counter() - start
                print(
                    f"{name:<9} {times[name]:6.2f} s  {report.stored} objects, "
                    f"{report.needed} needed, {len(report.delete)} deleted"
                )
        finally:
            server.kill()
    met = times["gc --yes"] < 10
    print(f"target: gc of {args.objects} objects under 10 s: {'met' if met else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"gc-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"objects": args.objects, "seconds": times, "met": met}, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
