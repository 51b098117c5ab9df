"""Transfer benchmarks on a disk-backed S3 server (s3rver), with moto beside it for context.

    python bench/transfer.py --quick     # 64 MB model, 500 small files: a few minutes
    python bench/transfer.py --full      # 1 GB model, 10,000 small files

Each case runs cpv, every raw boto3 method and DVC in the same round, round after round, on
s3rver (installed from the npm registry into ~/.cache/cpv-bench on first use) and on moto.
moto reads the whole object for every ranged GET, so parallel downloads from it are
quadratic; s3rver reads only the range, as S3 does (the sanity line checks it). The table
shows medians and, per round, "speed" = their time / cpv's time (above 1: cpv is faster).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).parent))
from run import BIN, RESULTS, random_file, sh, timed, touch_bytes

from cpv_hooks.testing import MotoServer, free_port

S3RVER = "s3rver@3.7.1"
CACHE = Path(os.environ.get("CPV_BENCH_CACHE", "~/.cache/cpv-bench")).expanduser()
BUCKET = "bench"
KEYS = "S3RVER"  # s3rver checks signatures against this key pair; moto takes any
PART = 16 << 20
THREADS = (1, 4, 8, 16)
SIZES = {"quick": {"model": 64 << 20, "files": 500}, "full": {"model": 1 << 30, "files": 10_000}}
CASES = ("push", "download", "files")
Step = Callable[[], object]


class Server(Protocol):
    @property
    def endpoint(self) -> str: ...

    def kill(self) -> None: ...


class S3rver:
    """s3rver as a subprocess on a free 127.0.0.1 port, storing objects in ``data``."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def install(cache: Path = CACHE) -> Path:
        """The s3rver executable, installed with npm into ``cache`` unless already there."""
        prefix = cache / S3RVER.replace("@", "-")
        exe = prefix / "node_modules" / ".bin" / "s3rver"
        if not exe.exists():
            sh("npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", S3RVER)
        return exe

    def start(self, timeout: float = 30) -> S3rver:
        self.data.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(self.install()),
            "-d",
            str(self.data),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--configure-bucket",
            BUCKET,
            "--silent",
        ]
        # its listing continuation tokens use DES, which Node 17+ has only in OpenSSL's legacy
        # provider: without it every truncated listing (over 1000 keys) is an InternalError
        env = {**os.environ, "NODE_OPTIONS": "--openssl-legacy-provider"}
        log = open(self.data.parent / f"{self.data.name}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.endpoint, timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"s3rver did not start: see {log.name}")

    def kill(self) -> None:
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None


def client(endpoint: str) -> Any:
    """A boto3 client with room for 32 parallel requests."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS,
        aws_secret_access_key=KEYS,
        config=Config(max_pool_connections=32),
    )


def parts(threads: int) -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=PART,
        multipart_chunksize=PART,
        max_concurrency=threads,
        use_threads=True,
    )


def delete_prefix(s3: Any, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def ranged_get(endpoint: str, big: Path, reps: int = 3) -> dict[str, float]:
    """Median time of one 16 MB ranged GET from a 16 MB object and from ``big``."""
    s3 = client(endpoint)
    with open(big, "rb") as fh:
        s3.put_object(Bucket=BUCKET, Key="ranged/small", Body=fh.read(PART))
    s3.upload_file(str(big), BUCKET, "ranged/big", Config=parts(8))

    def read(key: str) -> bytes:
        data: bytes = s3.get_object(
            Bucket=BUCKET, Key=f"ranged/{key}", Range=f"bytes=0-{PART - 1}"
        )["Body"].read()
        return data

    out = {}
    for key, label in (("small", "16 MB"), ("big", f"{big.stat().st_size >> 20} MB")):
        out[label] = statistics.median(timed(partial(read, key)) for _ in range(reps))
    delete_prefix(s3, "ranged/")
    return out


@dataclass
class Result:
    """One case on one server: medians (s) and per-round speed ratios."""

    case: str
    server: str
    cpv_s: float
    raw_best: str
    raw_s: float
    dvc_s: float
    speed_vs_raw: float  # median over rounds of raw_best / cpv
    speed_vs_dvc: float  # median over rounds of dvc / cpv
    raw_methods: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)


def interleave(
    reps: int, steps: dict[str, Step], prepare: Callable[[int], object]
) -> dict[str, list[float]]:
    """Each round: prepare (untimed), then every step once, in order."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(reps):
        prepare(i)
        for name, step in steps.items():
            times[name].append(timed(step))
    return times


def summarize(case: str, server: str, times: dict[str, list[float]]) -> Result:
    med = {name: statistics.median(ts) for name, ts in times.items()}
    raw = {name: t for name, t in med.items() if name not in ("cpv", "dvc")}
    best = min(raw, key=raw.__getitem__)

    def speed(other: str) -> float:
        return statistics.median(o / c for o, c in zip(times[other], times["cpv"], strict=True))

    return Result(
        case, server, med["cpv"], best, raw[best], med["dvc"], speed(best), speed("dvc"), raw, times
    )


class Transfers:
    """The cases on one server; repos live under ``work``, the environment in ``env``."""

    def __init__(
        self,
        name: str,
        server: Server,
        work: Path,
        env: dict[str, str],
        sizes: dict[str, int],
        reps: int,
    ) -> None:
        self.name, self.endpoint, self.sizes, self.reps = name, server.endpoint, sizes, reps
        self.work, self.env = work / name, env
        self.work.mkdir()
        self.s3 = client(self.endpoint)
        self.count = 0

    def sh(self, *cmd: str | Path, cwd: Path | None = None) -> str:
        return sh(*cmd, cwd=cwd, env=self.env)

    def bare(self, name: str) -> Path:
        remote = self.work / "remotes" / f"{name}.git"
        self.sh("git", "init", "-q", "--bare", remote)
        return remote

    def cpv_repo(self, name: str) -> Path:
        self.sh(
            BIN / "cpv",
            "init",
            "-t",
            "bench",
            "-m",
            name,
            "-r",
            self.work / name,
            "--git-remote-url",
            self.bare(name),
            "--s3-bucket",
            BUCKET,
            "--s3-endpoint-url",
            self.endpoint,
        )
        return self.work / name

    def dvc_repo(self, name: str, src: Path) -> Path:
        """A plain DVC repo (no hooks) with a copy of ``src`` added and committed."""
        repo = self.work / name
        repo.mkdir()
        self.sh("git", "init", "-q", cwd=repo)
        self.sh(BIN / "dvc", "init", "-q", cwd=repo)
        self.sh(BIN / "dvc", "remote", "add", "-d", "s3", f"s3://{BUCKET}/dvc/{name}", cwd=repo)
        self.sh(BIN / "dvc", "remote", "modify", "s3", "endpointurl", self.endpoint, cwd=repo)
        copy = shutil.copytree if src.is_dir() else shutil.copyfile
        copy(src, repo / src.name)
        self.sh(BIN / "dvc", "add", "-q", src.name, cwd=repo)
        self.sh("git", "add", "-A", cwd=repo)
        self.sh("git", "commit", "-qm", "data", cwd=repo)
        return repo

    def commit(self, repo: Path) -> None:
        self.count += 1
        (repo / "metrics.log").write_text(f"step: {self.count}\n")
        self.sh("git", "commit", "-qam", f"version {self.count}", cwd=repo)

    def remote_url(self, repo: Path) -> tuple[str, str]:
        """(name, url) of a repo's default DVC remote, as dvc reads its config."""
        name = self.sh(BIN / "dvc", "config", "core.remote", cwd=repo).strip()
        return name, self.sh(BIN / "dvc", "config", f"remote.{name}.url", cwd=repo).strip()

    def prefix(self, repo: Path) -> str:
        """The key prefix of a repo's DVC remote in the bench bucket, ending in /."""
        return self.remote_url(repo)[1].removeprefix(f"s3://{BUCKET}/").rstrip("/") + "/"

    def model_repos(self, name: str) -> tuple[Path, Path]:
        """A cpv repo with a model of the bench's size committed and pushed, and a plain
        DVC repo with a copy of it added (not pushed)."""
        repo = self.cpv_repo(name)
        random_file(repo / "model.bin", self.sizes["model"])
        self.commit(repo)
        self.sh("git", "push", "-q", "origin", "main", cwd=repo)
        return repo, self.dvc_repo(f"{name}-dvc", repo / "model.bin")

    def repoint(self, repo: Path, prefix: str) -> None:
        """Send the repo's DVC remote to an empty prefix (config.local, as a user would)."""
        name, _ = self.remote_url(repo)
        self.sh(
            BIN / "dvc",
            "remote",
            "modify",
            "--local",
            name,
            "url",
            f"s3://{BUCKET}/{prefix}",
            cwd=repo,
        )

    def expect(self, prefix: str, at_least: int) -> None:
        """Fail unless the bench really stored that many objects under ``prefix``."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        found = sum(len(page.get("Contents", [])) for page in pages)
        if found < at_least:
            raise RuntimeError(
                f"{self.name}: {found} objects under {prefix}, expected "
                f"{at_least}: a transfer did nothing"
            )

    # -- the cases ----------------------------------------------------------------------

    def push(self) -> Result:
        """git push of a new model version vs raw uploads of it vs dvc push."""
        size = self.sizes["model"]
        repo, dvc = self.model_repos("push")
        model = str(repo / "model.bin")

        def prepare(_: int) -> None:  # disk stays bounded: older rounds' copies go
            for cache in (repo / ".dvc" / "cache", dvc / ".dvc" / "cache"):
                for obj in (cache / "files").rglob("*"):
                    if obj.is_file() and obj.stat().st_size == size:  # older model versions
                        obj.unlink()
            delete_prefix(self.s3, self.prefix(repo))
            delete_prefix(self.s3, "dvc/push-dvc/")
            delete_prefix(self.s3, "raw/")
            touch_bytes(repo / "model.bin")
            self.commit(repo)
            touch_bytes(dvc / "model.bin")
            self.sh(BIN / "dvc", "add", "-q", "model.bin", cwd=dvc)

        def put() -> None:
            with open(model, "rb") as fh:
                self.s3.put_object(Bucket=BUCKET, Key="raw/put", Body=fh)

        steps: dict[str, Step] = {
            "cpv": lambda: self.sh("git", "push", "-q", "origin", "main", cwd=repo),
            "put_object": put,
        }
        for n in THREADS:
            steps[f"upload_file x{n}"] = partial(
                self.s3.upload_file, model, BUCKET, "raw/put", Config=parts(n)
            )
        steps["dvc"] = lambda: self.sh(BIN / "dvc", "push", "-q", cwd=dvc)
        times = interleave(self.reps, steps, prepare)
        self.expect(self.prefix(repo), 1)  # the last round's (earlier ones were deleted)
        self.expect("dvc/push-dvc/", 1)
        self.expect("raw/", 1)
        return summarize(f"git push of a new {size >> 20} MB version", self.name, times)

    def download(self) -> Result:
        """cpv model download --no-cache vs raw GETs vs dvc pull into a fresh clone."""
        size = self.sizes["model"]
        repo, dvc = self.model_repos("download")
        self.sh(BIN / "dvc", "push", "-q", cwd=dvc)
        info = json.loads(self.sh(BIN / "cpv", "model", "info", "--json", cwd=repo))
        md5 = info["artifacts"]["model.bin"]["md5"]
        key = f"{self.prefix(repo)}files/md5/{md5[:2]}/{md5[2:]}"
        for local in (repo, dvc):  # pushed: the local copies only take disk
            (local / "model.bin").unlink()
            cached = local / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
            cached.chmod(0o644)
            cached.unlink()
        out, clone = self.work / "downloads", self.work / "download-clone"

        def prepare(_: int) -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            shutil.rmtree(clone, ignore_errors=True)
            self.sh("git", "clone", "-q", dvc, clone)

        def get_md5() -> None:
            digest = hashlib.md5(usedforsecurity=False)
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"]
            with open(out / "raw.bin", "wb") as fh:
                for chunk in body.iter_chunks(8 << 20):
                    fh.write(chunk)
                    digest.update(chunk)
            if digest.hexdigest() != md5:
                raise RuntimeError(f"GET of {key}: md5 {digest.hexdigest()}, expected {md5}")

        steps: dict[str, Step] = {
            "cpv": lambda: self.sh(
                BIN / "cpv", "model", "download", "--no-cache", "--force", "-o", out, cwd=repo
            ),
            "GET + md5": get_md5,
        }
        for n in THREADS:
            steps[f"download_file x{n}"] = partial(
                self.s3.download_file, BUCKET, key, str(out / "raw.bin"), Config=parts(n)
            )
        steps["dvc"] = lambda: self.sh(BIN / "dvc", "pull", "-q", cwd=clone)
        times = interleave(self.reps, steps, prepare)
        for path in (out / "model.bin", clone / "model.bin", out / "raw.bin"):
            if path.stat().st_size != size:
                raise RuntimeError(f"{self.name}: {path} has the wrong size")
        return summarize(f"download of {size >> 20} MB, no cache", self.name, times)

    def files(self) -> Result:
        """git push of N new 10 KB files in data/ vs put_object from 32 threads vs dvc push."""
        n = self.sizes["files"]
        repo = self.cpv_repo("files")
        (repo / "data").mkdir(exist_ok=True)
        for i in range(n):
            (repo / "data" / f"f{i:06}.bin").write_bytes(os.urandom(10_240))
        self.commit(repo)
        dvc = self.dvc_repo("files-dvc", repo / "data")
        paths = sorted((repo / "data").iterdir())
        rnd = {"i": 0}

        def prepare(i: int) -> None:  # empty git remote and S3 prefixes: every file is new
            rnd["i"] = i
            self.sh("git", "remote", "set-url", "origin", self.bare(f"files-{i}"), cwd=repo)
            self.repoint(repo, f"files-cpv/{i}")
            self.repoint(dvc, f"files-dvc/{i}")

        def put_all() -> None:
            def put(p: Path) -> None:
                self.s3.put_object(
                    Bucket=BUCKET, Key=f"files-raw/{rnd['i']}/{p.name}", Body=p.read_bytes()
                )

            with ThreadPoolExecutor(32) as pool:
                list(pool.map(put, paths))

        steps: dict[str, Step] = {
            "cpv": lambda: self.sh("git", "push", "-q", "origin", "main", cwd=repo),
            "put_object x32": put_all,
            "dvc": lambda: self.sh(BIN / "dvc", "push", "-q", cwd=dvc),
        }
        times = interleave(self.reps, steps, prepare)
        for i in range(self.reps):
            for who in ("cpv", "raw", "dvc"):
                self.expect(f"files-{who}/{i}/", n)
        return summarize(f"push of {n} files of 10 KB", self.name, times)


def isolated_env(work: Path) -> dict[str, str]:
    """HOME, git config, cpv config and AWS identity of the bench, all inside ``work``."""
    home = work / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    return {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CPV_CONFIG_DIR": str(home / ".cpv"),
        "AWS_ACCESS_KEY_ID": KEYS,
        "AWS_SECRET_ACCESS_KEY": KEYS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }


@contextmanager
def serving(name: str, work: Path) -> Iterator[Server]:
    """A started server of that name with the bench bucket; killed on exit."""
    server: Server
    if name == "s3rver":
        server = S3rver(work / "s3rver-data").start()
    else:
        server = MotoServer().start()
        client(server.endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield server
    finally:
        server.kill()


def run(
    work: Path,
    sizes: dict[str, int],
    reps: int,
    servers: list[str],
    cases: list[str],
    check_ranges: bool = True,
) -> dict[str, Any]:
    """Every case on every server; returns the sanity figures and the results."""
    env = isolated_env(work)
    sanity: dict[str, dict[str, float]] = {}
    results: list[Result] = []
    big = work / "ranged.bin"
    if check_ranges:
        random_file(big, 512 << 20)
    for name in servers:
        with serving(name, work) as server:
            if check_ranges:
                sanity[name] = ranged_get(server.endpoint, big)
            bench = Transfers(name, server, work, env, sizes, reps)
            for case in cases:
                print(f"... {name}: {case}", file=sys.stderr, flush=True)
                results.append(getattr(bench, case)())
    big.unlink(missing_ok=True)
    return {"sanity": sanity, "results": results}


def table(sanity: dict[str, dict[str, float]], results: list[Result]) -> str:
    servers = list(dict.fromkeys(r.server for r in results))
    lines = []
    for name, figures in sanity.items():
        (small, t_small), (big, t_big) = figures.items()
        lines.append(
            f"sanity, {name}: one 16 MB ranged GET takes {t_small:.3f} s from a {small} "
            f"object, {t_big:.3f} s from a {big} object ({t_big / t_small:.1f}x)"
        )
    if "moto" in sanity:
        lines.append(
            "  (moto reads the whole object for every ranged GET, so its parallel "
            "downloads are quadratic; s3rver reads only the range, as S3 does)"
        )
    width = 34
    for case in dict.fromkeys(r.case for r in results):
        by = {r.server: r for r in results if r.case == case}
        cells: list[tuple[str, Callable[[Result], str]]] = [
            ("cpv", lambda r: f"{r.cpv_s:.2f} s"),
            ("best raw boto3", lambda r: f"{r.raw_s:.2f} s ({r.raw_best})"),
            ("dvc", lambda r: f"{r.dvc_s:.2f} s"),
            ("cpv speed vs best raw", lambda r: f"{r.speed_vs_raw:.2f}x"),
            ("cpv speed vs dvc", lambda r: f"{r.speed_vs_dvc:.2f}x"),
        ]
        lines += ["", f"{case:<{width}}" + "".join(f"{s:<28}" for s in servers)]
        lines += [
            f"  {label:<{width - 2}}"
            + "".join(f"{cell(by[s]):<28}" if s in by else "" for s in servers)
            for label, cell in cells
        ]
    lines.append("\nspeed = their time / cpv's time, median over rounds (above 1: cpv faster)")
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="64 MB, 500 files (default)")
    mode.add_argument("--full", action="store_true", help="1 GB, 10,000 files")
    parser.add_argument("--reps", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--case", action="append", choices=CASES, help="only these cases")
    parser.add_argument(
        "--server",
        action="append",
        choices=("s3rver", "moto"),
        help="only these servers (default both)",
    )
    parser.add_argument("--model-mb", type=int, help="the model's size in MB (default: the mode's)")
    parser.add_argument("--files", type=int, help="how many small files (default: the mode's)")
    args = parser.parse_args(argv)
    name = "full" if args.full else "quick"
    sizes = dict(SIZES[name])
    if args.model_mb:
        sizes["model"] = args.model_mb << 20
    if args.files:
        sizes["files"] = args.files
    with tempfile.TemporaryDirectory(prefix="cpv-transfer-") as tmp:
        out = run(
            Path(tmp),
            sizes,
            args.reps,
            args.server or ["s3rver", "moto"],
            args.case or list(CASES),
        )
    print(table(out["sanity"], out["results"]))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {
        "mode": name,
        "reps": args.reps,
        "date": stamp,
        "sizes": sizes,
        "sanity_ranged_get_s": out["sanity"],
        "results": [asdict(r) for r in out["results"]],
    }
    for path in (
        RESULTS / f"transfer-{name}-{stamp}.json",
        RESULTS / f"transfer-{name}-latest.json",
    ):
        path.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
