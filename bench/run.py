"""cpv benchmarks, side by side with what a user would otherwise run.

    python bench/run.py --quick      # small sizes, about two minutes
    python bench/run.py --full       # 1 GB model, 10,000-file data, 2,000 version tags...

Everything runs in a temporary directory with its own HOME, git config and a moto S3 server
on 127.0.0.1. Each case runs several times; the table shows medians and, since this machine
is noisy, ratios measured pairwise in the same loop. Results also go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cpv_hooks.registry import encode
from cpv_hooks.tagging import manifest_text
from cpv_hooks.testing import MotoServer

BIN = Path(sys.executable).parent
NOOP_REPS = 11  # a no-op commit is short and noisy: at least this many rounds
RESULTS = Path(__file__).parent / "results"
SIZES = {
    "quick": {"model": 64 << 20, "data_small": 500, "data_big": 5000, "push_files": 200,
              "versions_small": 5, "versions_big": 20, "tags_small": 10, "tags_big": 300},
    "full": {"model": 1 << 30, "data_small": 1000, "data_big": 10000, "push_files": 2000,
             "versions_small": 10, "versions_big": 100, "tags_small": 10, "tags_big": 2000},
}


@dataclass
class Row:
    """One line of the table."""

    case: str
    cpv_s: float
    baseline: str
    baseline_s: float
    ratio: float
    target: str
    met: bool


def sh(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


BOTO3_WORKERS = 16  # files uploaded at once by the boto3 baseline


def boto3_best(server: MotoServer) -> tuple[Any, Any]:
    """The boto3 baseline at its best: a client with a large connection pool, and a
    TransferConfig for parallel multipart transfers (16 MB parts, 16 threads)."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=4 * BOTO3_WORKERS),
    )
    transfer = TransferConfig(
        multipart_threshold=16 << 20, multipart_chunksize=16 << 20, max_concurrency=16
    )
    return client, transfer


def pairwise(reps: int, a: Callable[[], object], b: Callable[[], object],
             prepare: Callable[[int], object] = lambda i: None) -> tuple[float, float, float]:
    """Medians of a and b, and the median of the per-round ratio a/b."""
    ta, tb = [], []
    for i in range(reps):
        prepare(i)
        ta.append(timed(a))
        tb.append(timed(b))
    ratios = [x / y for x, y in zip(ta, tb, strict=True)]
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def random_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 8 << 20)
            fh.write(os.urandom(n))
            left -= n


def touch_bytes(path: Path) -> None:
    """Give a file new content (and so a new md5) without rewriting it."""
    with open(path, "r+b") as fh:
        fh.write(os.urandom(16))


class Bench:
    """The shared set-up: a work dir, a moto S3 server, repo factories."""

    def __init__(self, work: Path, sizes: dict[str, int], reps: int) -> None:
        self.work, self.sizes, self.reps = work, sizes, reps
        home = work / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                                         "[init]\n\tdefaultBranch = main\n"
                                         "[advice]\n\tdetachedHead = false\n")
        os.environ.update({
            "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1", "CPV_CONFIG_DIR": str(home / ".cpv"),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "DVC_NO_ANALYTICS": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        })
        self.s3 = MotoServer().start()
        self.bucket = "bench"
        self.s3.client().create_bucket(Bucket=self.bucket)
        self.count = 0

    def cpv_repo(self, name: str, s3: bool = True) -> Path:
        remote = self.work / "remotes" / f"{name}.git"
        sh("git", "init", "-q", "--bare", remote)
        args = ["--s3-bucket", self.bucket, "--s3-endpoint-url", self.s3.endpoint] if s3 else []
        sh(BIN / "cpv", "init", "-t", "bench", "-m", name, "-r", self.work / name,
           "--git-remote-url", remote, *args)
        return self.work / name

    def dvc_repo(self, name: str) -> Path:
        repo = self.work / name
        repo.mkdir()
        sh("git", "init", "-q", cwd=repo)
        sh(BIN / "dvc", "init", "-q", cwd=repo)
        sh(BIN / "dvc", "remote", "add", "-d", "s3", f"s3://{self.bucket}/dvc/{name}", cwd=repo)
        sh(BIN / "dvc", "remote", "modify", "s3", "endpointurl", self.s3.endpoint, cwd=repo)
        sh(BIN / "dvc", "install", cwd=repo)
        sh("git", "commit", "-qm", "init", cwd=repo)
        return repo

    def commit_model(self, repo: Path, message: str) -> None:
        touch_bytes(repo / "model.bin")
        self.count += 1
        (repo / "metrics.log").write_text(f"step: {self.count}\n")
        sh("git", "commit", "-qam", message, cwd=repo)

    # -- the cases ----------------------------------------------------------------------

    def noop_commit(self) -> list[Row]:
        cpv = self.cpv_repo("noop")
        random_file(cpv / "model.bin", 200_000)
        self.commit_model(cpv, "a version")  # the usual state: versions made, nothing changed
        dvc = self.dvc_repo("noop-dvc")
        commit = ("git", "commit", "-q", "--allow-empty", "-m", "noop")
        reps = max(self.reps, NOOP_REPS)
        c, d, r = pairwise(reps, lambda: sh(*commit, cwd=cpv), lambda: sh(*commit, cwd=dvc))
        p, _, rp = pairwise(reps, lambda: sh("git", "-c", "core.hooksPath=/dev/null",
                                             *commit[1:], cwd=cpv),
                            lambda: sh(*commit, cwd=cpv))
        return [Row("no-op git commit", c, "DVC's hooks", d, r, "< 60 ms, <= 0.2x",
                    r <= 0.2 and c < 0.06),
                Row("no-op git commit", c, "no hooks", p, 1 / rp, "context", True)]

    def tagged_repo(self, n: int) -> Path:
        """A cpv repo with ``n`` model versions: one made by a commit, the others tags
        carrying their own manifests as cpv writes them (all on that commit)."""
        repo = self.cpv_repo(f"tags-{n}", s3=False)
        random_file(repo / "model.bin", 200_000)
        self.commit_model(repo, "base")
        text = sh("git", "tag", "-l", "--format=%(contents)", "v0.1", cwd=repo)
        manifest = json.loads(text.partition("\n\n")[2])
        folder = self.work / f"tag-objects-{n}"
        folder.mkdir()
        for i in range(2, n + 1):
            tag = f"v0.{i}"
            (folder / tag).write_text(
                f"object {manifest['commit']}\ntype commit\ntag {tag}\n"
                f"tagger Bench <bench@example.com> 1764500000 +0000\n\n"
                + manifest_text({**manifest, "tag": tag, "version": tag})
            )
        names = [f"v0.{i}" for i in range(2, n + 1)]
        listed = "".join(f"{folder / name}\n" for name in names)
        shas = subprocess.run(["git", "hash-object", "-t", "tag", "-w", "--stdin-paths"],
                              cwd=repo, input=listed, capture_output=True, text=True,
                              check=True).stdout.split()
        updates = "".join(f"create refs/tags/{t} {o}\n" for t, o in zip(names, shas, strict=True))
        subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, input=updates, text=True,
                       check=True)
        sh("git", "gc", "-q", cwd=repo)  # packed, as a clone has them (no gc --auto mid-case)
        return repo

    def noop_tags(self) -> list[Row]:
        n = self.sizes["tags_big"]
        repo = self.tagged_repo(n)
        commit = ("git", "commit", "-q", "--allow-empty", "-m", "noop")
        c, p, _ = pairwise(max(self.reps, NOOP_REPS), lambda: sh(*commit, cwd=repo),
                           lambda: sh("git", "-c", "core.hooksPath=/dev/null", *commit[1:],
                                      cwd=repo))
        return [Row(f"no-op git commit, {n} version tags", c, "no hooks", p, c / p,
                    "< 60 ms", c < 0.06)]

    def big_commit(self) -> list[Row]:
        size = self.sizes["model"]
        cpv = self.cpv_repo("big")
        random_file(cpv / "model.bin", size)
        self.commit_model(cpv, "first")
        dvc = self.dvc_repo("big-dvc")
        shutil.copyfile(cpv / "model.bin", dvc / "model.bin")
        sh(BIN / "dvc", "add", "-q", "model.bin", cwd=dvc)

        def prepare(_: int) -> None:
            touch_bytes(dvc / "model.bin")

        c, d, r = pairwise(self.reps, lambda: self.commit_model(cpv, "next"),
                           lambda: sh(BIN / "dvc", "add", "-q", "model.bin", cwd=dvc), prepare)
        m = statistics.median(timed(lambda: sh("md5sum", cpv / "model.bin"))
                              for _ in range(self.reps))
        label = f"commit after replacing {size >> 20} MB model"
        return [Row(label, c, "dvc add", d, r, "<= 1.1x", r <= 1.1),
                Row(label, c, "md5sum", m, c / m, "context", True)]

    def data_commit(self) -> list[Row]:
        times = {}
        for key in ("data_small", "data_big"):
            n = self.sizes[key]
            repo = self.cpv_repo(f"data-{n}", s3=False)
            for i in range(n):
                (repo / "data" / f"f{i:05}.txt").write_text(f"row {i}\n" * 20)
            (repo / "notes.txt").write_text("0\n")
            sh("git", "add", "notes.txt", cwd=repo)
            sh("git", "commit", "-qm", "data", cwd=repo)

            def one(repo: Path = repo) -> None:
                self.count += 1
                (repo / "data" / "f00001.txt").write_text(f"changed {self.count}\n")
                (repo / "notes.txt").write_text(f"{self.count}\n")
                sh("git", "commit", "-qam", "one file", cwd=repo)

            times[n] = statistics.median(timed(one) for _ in range(self.reps))
        small, big = (times[self.sizes[k]] for k in ("data_small", "data_big"))
        return [Row(f"commit, 1 file changed in {self.sizes['data_big']}-file data/", big,
                    f"{self.sizes['data_small']} files", small, big / small,
                    "grows with changed files (~1x)", big / small <= 2.0)]

    def push_new(self) -> list[Row]:
        size, files = self.sizes["model"], self.sizes["push_files"]
        repo = self.cpv_repo("push")
        random_file(repo / "model.bin", size)
        for i in range(files):
            (repo / "data" / f"d{i:05}.bin").write_bytes(os.urandom(4096))
        self.commit_model(repo, "version to push")
        paths = [repo / "model.bin", *sorted((repo / "data").iterdir())]
        client, best = boto3_best(self.s3)
        total = sum(p.stat().st_size for p in paths)

        def prepare(i: int) -> None:  # a fresh git remote and S3 prefix: everything is new
            remote = self.work / "remotes" / f"push-{i}.git"
            sh("git", "init", "-q", "--bare", remote)
            sh("git", "remote", "set-url", "origin", remote, cwd=repo)
            config = repo / ".dvc" / "config"
            config.write_text(re.sub(r"url = s3://\S+", f"url = s3://{self.bucket}/push-{i}",
                                     config.read_text()))

        def boto3_upload() -> None:  # files in parallel, each a parallel multipart upload
            def one(job: tuple[int, Path]) -> None:
                key = f"boto3/{self.count}/{job[0]}"
                client.upload_file(str(job[1]), self.bucket, key, Config=best)

            with ThreadPoolExecutor(max_workers=BOTO3_WORKERS) as pool:
                list(pool.map(one, enumerate(paths)))
            self.count += 1

        c, b, r = pairwise(self.reps, lambda: sh("git", "push", "-q", "origin", "main", cwd=repo),
                           boto3_upload, prepare)
        label = f"git push new version ({total >> 20} MB, {files} data files)"
        return [Row(label, c, f"boto3 upload_file x{BOTO3_WORKERS} threads", b, b / c if c else 0,
                    "throughput >= 0.9x boto3", 1 / r >= 0.9)]

    def push_noop(self) -> list[Row]:
        times = {}
        for key in ("versions_small", "versions_big"):
            n = self.sizes[key]
            repo = self.cpv_repo(f"versions-{n}")
            random_file(repo / "model.bin", 200_000)
            for _ in range(n):
                self.commit_model(repo, "v")
            sh("git", "push", "-q", cwd=repo)
            times[n] = statistics.median(timed(lambda r=repo: sh("git", "push", "-q", cwd=r))
                                         for _ in range(self.reps))
        small, big = (times[self.sizes[k]] for k in ("versions_small", "versions_big"))
        return [Row(f"git push, nothing new, {self.sizes['versions_big']} versions", big,
                    f"{self.sizes['versions_small']} versions", small, big / small,
                    "< 1 s, flat", big < 1.0)]

    def download(self) -> list[Row]:
        size = self.sizes["model"]
        repo = self.cpv_repo("download")
        random_file(repo / "model.bin", size)
        self.commit_model(repo, "to download")
        sh("git", "push", "-q", cwd=repo)
        md5 = sh(BIN / "cpv", "model", "info", "--json", cwd=repo)
        key = json.loads(md5)["artifacts"]["model.bin"]["md5"]
        obj = f"bench/download/files/md5/{key[:2]}/{key[2:]}"
        client, best = boto3_best(self.s3)
        out = self.work / "downloads"

        def cpv() -> None:
            sh(BIN / "cpv", "model", "download", "--no-cache", "--force", "-o", out, cwd=repo)

        c, b, r = pairwise(self.reps, cpv,
                           lambda: client.download_file(self.bucket, obj, str(out / "boto3.bin"),
                                                        Config=best))
        return [Row(f"cpv model download ({size >> 20} MB)", c, "boto3 download_file", b,
                    b / c, "throughput >= 0.9x boto3", 1 / r >= 0.9)]

    def checkout(self) -> list[Row]:
        size = self.sizes["model"]
        cpv = self.cpv_repo("checkout")
        random_file(cpv / "model.bin", size)
        self.commit_model(cpv, "a")
        self.commit_model(cpv, "b")
        dvc = self.dvc_repo("checkout-dvc")
        shutil.copyfile(cpv / "model.bin", dvc / "model.bin")
        for tag in ("a", "b"):
            touch_bytes(dvc / "model.bin")
            sh(BIN / "dvc", "add", "-q", "model.bin", cwd=dvc)
            sh("git", "add", "-A", cwd=dvc)
            sh("git", "-c", "core.hooksPath=/dev/null", "commit", "-qm", tag, cwd=dvc)
            sh("git", "tag", tag, cwd=dvc)
        target = {"v": "v0.1", "d": "a"}

        def prepare(i: int) -> None:
            target["v"] = "v0.1" if i % 2 == 0 else "v0.2"
            target["d"] = "a" if i % 2 == 0 else "b"
            sh("git", "-c", "core.hooksPath=/dev/null", "checkout", "-q", target["d"], cwd=dvc)

        c, d, r = pairwise(max(self.reps, 4),
                           lambda: sh("git", "checkout", "-q", target["v"], cwd=cpv),
                           lambda: sh(BIN / "dvc", "checkout", "-q", cwd=dvc), prepare)
        return [Row(f"git checkout between versions ({size >> 20} MB)", c, "dvc checkout", d, r,
                    "<= 1.1x", r <= 1.1)]

    def list_tags(self) -> list[Row]:
        times = {}
        for key in ("tags_small", "tags_big"):
            n = self.sizes[key]
            repo = self.tagged_repo(n) if key == "tags_small" else self.work / f"tags-{n}"
            if not repo.exists():
                repo = self.tagged_repo(n)
            listing = sh(BIN / "cpv", "model", "list-tags", "--json", cwd=repo)
            assert len(json.loads(listing)) == n, "every version is listed"
            times[n] = statistics.median(
                timed(lambda r=repo: sh(BIN / "cpv", "model", "list-tags", cwd=r))
                for _ in range(self.reps))
        small, big = (times[self.sizes[k]] for k in ("tags_small", "tags_big"))
        return [Row(f"cpv model list-tags, {self.sizes['tags_big']} versions", big,
                    f"{self.sizes['tags_small']} versions", small, big / small, "< 1 s",
                    big < 1.0)]

    def registry_versions(self) -> list[Row]:
        """`cpv registry versions` of a model with tags_big entries in the moto bucket."""
        times = {}
        client = self.s3.client()
        for key in ("tags_small", "tags_big"):
            n = self.sizes[key]
            entries = [json.loads(manifest_text({
                "schema": 1, "kind": "model", "tag": f"v0.{i}", "version": f"v0.{i}",
                "commit": "c" * 40, "author": "Bench <b@x>", "date": "2026-01-01T00:00:00+00:00",
                "message": "bench", "metrics": {"acc": i / n},
                "artifacts": {"model.bin": {"md5": "0" * 32, "size": 1, "store": "dvc"}},
            }).partition("\n\n")[2]) for i in range(1, n + 1)]  # fmt: skip

            def put(entry: dict[str, Any], n: int = n) -> None:
                key = f"reg/m{n}/cpv/versions/{entry['tag']}.json"
                client.put_object(Bucket=self.bucket, Key=key,
                                  Body=encode({**entry, "deleted": False}))

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(put, entries))
            cmd = (BIN / "cpv", "registry", "versions", f"reg/m{n}", "--json", "--bucket",
                   self.bucket, "--endpoint-url", self.s3.endpoint)
            assert len(json.loads(sh(*cmd))) == n  # the first reader also writes the index
            times[n] = statistics.median(timed(lambda c=cmd: sh(*c)) for _ in range(self.reps))
        small, big = (times[self.sizes[k]] for k in ("tags_small", "tags_big"))
        return [Row(f"cpv registry versions, {self.sizes['tags_big']} versions", big,
                    f"{self.sizes['tags_small']} versions", small, big / small, "< 1 s",
                    big < 1.0)]


CASES = ["noop_commit", "noop_tags", "big_commit", "data_commit", "push_new", "push_noop",
         "download", "checkout", "list_tags", "registry_versions"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes (default)")
    mode.add_argument("--full", action="store_true", help="the sizes of the targets")
    parser.add_argument("--reps", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases")
    args = parser.parse_args(argv)
    name = "full" if args.full else "quick"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cpv-bench-") as tmp:
        bench = Bench(Path(tmp), SIZES[name], args.reps)
        try:
            for case in args.case or CASES:
                print(f"... {case}", file=sys.stderr, flush=True)
                rows += getattr(bench, case)()
        finally:
            bench.s3.kill()
    publish(rows, name, {"mode": name, "reps": args.reps})
    return 0


def publish(rows: list[Row], prefix: str, payload: dict[str, Any]) -> None:
    """Print the table of ``rows``; write them and ``payload`` to
    bench/results/<prefix>-<stamp>.json and <prefix>-latest.json."""
    header = f"{'case':<48} {'cpv':>8} {'vs':<20} {'them':>8} {'ratio':>6}  target"
    lines = [header, "-" * len(header)]
    for row in rows:
        mark = "ok" if row.met else "MISSED"
        lines.append(f"{row.case:<48} {row.cpv_s:>7.3f}s {row.baseline:<20} "
                     f"{row.baseline_s:>7.3f}s {row.ratio:>5.2f}x  {row.target} [{mark}]")
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {**payload, "date": stamp, "rows": [asdict(r) for r in rows]}
    for path in (RESULTS / f"{prefix}-{stamp}.json", RESULTS / f"{prefix}-latest.json"):
        path.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
