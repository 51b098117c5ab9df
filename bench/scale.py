"""cpv's push at scale, on moto: many version tags, and a push with nothing new over a large data/.

    python bench/scale.py --quick            # 250..2,000 tags; 10,000-file data/
    python bench/scale.py --full             # the same; 100,000-file data/
    python bench/scale.py --tags 100000      # one tag count only (100,000 tags: minutes)

Cases (issue 13):
- ``tags``: ``git push --tags`` of N version tags to a new git remote, their data already on
  S3 (N = 250, 500, 1,000, 2,000: target under 3 s at 2,000, and linear).
- ``noop``: ``git push`` of a commit that changes no data over a data/ of N files already on
  S3 (target under 1 s: no listing of the remote), beside the first push, which lists it.

The repos are built with ``git fast-import`` and boto3 (minutes of ``git commit`` otherwise):
each tag is a real annotated cpv version tag with its manifest, on a commit of its own with
a model object of its own, already in the DVC cache and on the remote. Everything runs in a
temporary directory with its own HOME and one ``moto_server`` on 127.0.0.1. The machine is
shared: read the ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from run import BIN, RESULTS, timed
from transfer import isolated_env

from cpv_hooks.storage import open_remote
from cpv_hooks.testing import MotoServer, tagged_history

BUCKET = "scale"
SIZES = {
    "quick": {"tags": [250, 500, 1000, 2000], "files": 10_000},
    "full": {"tags": [250, 500, 1000, 2000], "files": 100_000},
}


def sh(
    *cmd: str | Path, cwd: Path | None = None, input: bytes | None = None, check: bool = True
) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, input=input, capture_output=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout.decode()}\n{proc.stderr.decode()}")
    return proc.stdout.decode()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def pointer(path: str, digest: str, size: int, nfiles: int | None = None) -> str:
    count = f"  nfiles: {nfiles}\n" if nfiles is not None else ""
    return f"outs:\n- md5: {digest}\n  size: {size}\n{count}  hash: md5\n  path: {path}\n"


class Scale:
    """The shared set-up: a work dir, a moto server, a bucket."""

    def __init__(self, work: Path) -> None:
        self.work = work
        os.environ.update(isolated_env(work))
        self.server = MotoServer().start()
        self.client = self.server.client()
        self.client.create_bucket(Bucket=BUCKET)

    def bare(self, name: str) -> Path:
        remote = self.work / "remotes" / f"{name}.git"
        sh("git", "init", "-q", "--bare", remote)
        return remote

    def repo(self, name: str, local: bool = False) -> Path:
        """A cpv repo with its git remote origin and its DVC remote: ``s3://scale/bench/<name>``,
        or with ``local`` a directory (cpv's costs without moto's)."""
        where = ["--storage", "local"] if local else [
            "--s3-bucket", BUCKET, "--s3-endpoint-url", self.server.endpoint
        ]  # fmt: skip
        sh(BIN / "cpv", "init", "-t", "bench", "-m", name, "-r", self.work / name,
           "--git-remote-url", self.bare(name), *where)  # fmt: skip
        return self.work / name

    def store(self, repo: Path, objects: dict[str, bytes]) -> None:
        """Put objects (md5 -> bytes) on the repo's S3 remote."""
        prefix = f"bench/{repo.name}"

        def put(item: tuple[str, bytes]) -> None:
            key = f"{prefix}/files/md5/{item[0][:2]}/{item[0][2:]}"
            self.client.put_object(Bucket=BUCKET, Key=key, Body=item[1])

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(put, objects.items()))

    def tagged_history(self, repo: Path, count: int, local: bool = False) -> None:
        """``count`` versions, each a commit with a model of its own, already in the DVC
        cache and on the remote (see ``testing.tagged_history``); main pushed to origin."""
        models = tagged_history(repo, 1, count)
        if local:
            remote = Path(open_remote(repo).url)
            for digest, body in models.items():
                path = remote / "files" / "md5" / digest[:2] / digest[2:]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
        else:
            self.store(repo, models)
        sh(BIN / "cpv", "install", cwd=repo)  # model.bin as HEAD's pointer says
        sh("git", "push", "-q", "--no-follow-tags", "origin", "main", cwd=repo)  # scaffold data

    def close(self) -> None:
        self.server.kill()


def tags_case(
    scale: Scale, counts: list[int], reps: int, local: bool = False
) -> list[dict[str, Any]]:
    """``git push --tags`` of N tags: first to origin (every registry entry is new), then to
    new git remotes (mirrors: data and entries already there), with the pushed-objects
    index and without it (one listing of the remote's objects)."""
    rows = []
    for count in counts:
        repo = scale.repo(f"tags-{count}", local)
        scale.tagged_history(repo, count, local)
        first = timed(lambda r=repo: sh("git", "push", "-q", "--tags", "origin", cwd=r))
        verify = timed(lambda r=repo: sh(BIN / "cpv-hook", "verify-remote", cwd=r))
        times: dict[str, list[float]] = {"index": [], "no index": []}
        for rep in range(reps):
            for variant in times:
                if variant == "no index":
                    sh("rm", "-rf", repo / ".git" / "cpv" / "pushed")
                mirror = scale.bare(f"tags-{count}-{variant.replace(' ', '-')}-{rep}")
                sh("git", "remote", "add", mirror.stem, mirror, cwd=repo)
                times[variant].append(
                    timed(lambda m=mirror.stem, r=repo: sh("git", "push", "-q", "--tags", m, cwd=r))
                )
                listed = sh("git", "for-each-ref", "refs/tags", cwd=mirror).count("\n")
                assert listed == count, f"{mirror} got {listed} tags of {count}"
        row = {
            "case": f"git push --tags, {count} tags" + (" (directory remote)" if local else ""),
            "tags": count,
            "first_push_s": first,
            "verify_remote_s": verify,
            "mirror_s": statistics.median(times["index"]),
            "mirror_no_index_s": statistics.median(times["no index"]),
            "times": times,
        }
        rows.append(row)
        print(f"{row['case']:<34} first (new entries) {first:6.2f} s   verify-remote "
              f"{verify:6.2f} s   mirror {row['mirror_s']:6.2f} s   mirror without index "
              f"{row['mirror_no_index_s']:6.2f} s", flush=True)  # fmt: skip
    return rows


def noop_case(scale: Scale, files: int, reps: int) -> list[dict[str, Any]]:
    """``git push`` of a commit that changes no data over a data/ of ``files`` files already
    on S3: with the pushed-objects index (no listing) and without it (one listing)."""
    repo = scale.repo(f"noop-{files}")
    entries, objects = [], {}
    for i in range(files):
        body = b"row %d\n" % i
        digest = md5(body)
        rel = f"part-{i // 1000:03}/f{i:06}.txt"
        (repo / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / "data" / rel).write_bytes(body)
        entries.append({"md5": digest, "relpath": rel})
        objects[digest] = body
    entries.sort(key=lambda e: e["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode()  # DVC's .dir, byte for byte
    objects[md5(listing) + ".dir"] = listing
    for digest, body in objects.items():
        path = repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    scale.store(repo, objects)
    size = sum(len(b) for d, b in objects.items() if not d.endswith(".dir"))
    (repo / "data.dvc").write_text(pointer("data", md5(listing) + ".dir", size, files))
    sh("git", "add", "data.dvc", cwd=repo)
    sh("git", "-c", "core.hooksPath=/dev/null", "commit", "-qm", "data", cwd=repo)
    sh(BIN / "cpv", "install", cwd=repo)  # records the work tree as cpv left it
    sh("git", "push", "-q", "origin", "main", cwd=repo, check=False)  # heals: tags the data
    first = timed(lambda: sh("git", "push", "-q", "origin", "main", cwd=repo))  # lists once
    times: dict[str, list[float]] = {"index": [], "no index": [], "up to date": []}
    for rep in range(reps):
        for variant in times:
            if variant == "no index":
                sh("rm", "-rf", repo / ".git" / "cpv" / "pushed")
            if variant != "up to date":
                (repo / "train.py").write_text(f"# change {variant} {rep}\n")
                sh("git", "commit", "-qam", f"code {rep}", cwd=repo)
            times[variant].append(timed(lambda: sh("git", "push", "-q", "origin", "main",
                                                   cwd=repo)))  # fmt: skip
    row = {
        "case": f"git push, nothing new, {files}-file data/",
        "files": files,
        "first_push_s": first,
        **{f"{k.replace(' ', '_')}_s": statistics.median(v) for k, v in times.items()},
        "times": times,
    }
    print(f"{row['case']:<40} index {row['index_s']:6.2f} s   without index "
          f"{row['no_index_s']:6.2f} s   up to date {row['up_to_date_s']:6.2f} s   "
          f"(first push {first:6.2f} s)", flush=True)  # fmt: skip
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="10,000-file data/ (default)")
    mode.add_argument("--full", action="store_true", help="100,000-file data/")
    parser.add_argument("--tags", type=int, action="append", help="these tag counts only")
    parser.add_argument("--files", type=int, help="files in data/ for the noop case")
    parser.add_argument("--local", action="store_true", help="tags: a directory remote, not S3")
    parser.add_argument("--case", choices=["tags", "noop"], action="append")
    parser.add_argument("--reps", type=int, default=3, help="timed runs per size (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (profiling)")
    args = parser.parse_args(argv)
    name = "full" if args.full else "quick"
    sizes = SIZES[name]
    work = Path(tempfile.mkdtemp(prefix="cpv-bench-scale-"))
    scale = Scale(work)
    rows: list[dict[str, Any]] = []
    try:
        cases = args.case or ["tags", "noop"]
        if "tags" in cases:
            rows += tags_case(scale, args.tags or sizes["tags"], args.reps, args.local)
        if "noop" in cases:
            rows += noop_case(scale, args.files or sizes["files"], args.reps)
    finally:
        scale.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            sh("rm", "-rf", work)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"mode": name, "reps": args.reps, "date": stamp, "rows": rows}
    (RESULTS / f"scale-{name}-{stamp}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
