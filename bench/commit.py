"""The commit path at scale, side by side with what a user would otherwise run.

    python bench/commit.py --quick    # 10,000 files, 1 GB model, 1 GB hashed: a few minutes
    python bench/commit.py --full     # 100,000 files, 1 GB model, 10 GB hashed, 10 GB model

Cases (issue 13's targets), each in a temporary directory (``--dir``, default /tmp) with its
own HOME and git config, deleted when the case ends (at most ~11 GB on disk at once, in --full):
- data: first commit of N files of 10 KB in data/ (one round) vs ``dvc add`` of the same
  files in a plain DVC repo; then a commit after changing 1 file, at the small and big N.
- model: commit of a new model (rounds) vs ``md5sum`` + ``cp`` of the same file.
- hashing: first commit of many files with ``cache.type hardlink`` (so only hashing counts
  and the disk holds one copy) vs ``md5sum`` run in parallel (``xargs -P<cores>``), page
  cache warm for both (md5sum runs once, untimed, before).
- rss: peak RSS of ``git commit`` (its hooks included) of a new sparse model (read as zeros,
  hashed and copied into the cache like any file).

Interleaved rounds (cpv, baseline, cpv, baseline...), medians; the ratio is the median of the
per-round ratios. The table goes to stdout, JSON to bench/results/commit-<mode>-<stamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from run import BIN, Row, publish, random_file, sh, timed, touch_bytes

SIZES = {
    "quick": {"files_small": 1000, "files_big": 10_000, "model": 1 << 30,
              "hash_bytes": 1 << 30, "hash_files": 200, "rss_model": 1 << 30},
    "full": {"files_small": 1000, "files_big": 100_000, "model": 1 << 30,
             "hash_bytes": 10 << 30, "hash_files": 2000, "rss_model": 10 << 30},
}
FILE_SIZE = 10 << 10
CORES = os.cpu_count() or 1


def isolate(work: Path) -> None:
    """A HOME and git identity of the bench's own."""
    home = work / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    os.environ.update({
        "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1", "CPV_CONFIG_DIR": str(home / ".cpv"),
        "DVC_NO_ANALYTICS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    })


def cpv_repo(path: Path) -> Path:
    """A cpv model repo with no S3 (a local remote): commits never leave the machine."""
    remote = path.with_name(path.name + "-remote.git")
    sh("git", "init", "-q", "--bare", remote)
    sh(BIN / "cpv", "init", "-t", "bench", "-m", path.name, "-r", path, "--git-remote-url", remote)
    (path / "notes.txt").write_text("0\n")
    sh("git", "add", "notes.txt", cwd=path)
    return path


def dvc_repo(path: Path) -> Path:
    path.mkdir()
    sh("git", "init", "-q", cwd=path)
    sh(BIN / "dvc", "init", "-q", cwd=path)
    return path


def write_files(top: Path, count: int, size: int) -> None:
    """``count`` files of random bytes, 1,000 per sub-directory."""
    for i in range(count):
        sub = top / f"d{i // 1000:03}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:06}.bin").write_bytes(os.urandom(size))


def commit(repo: Path, *extra: str) -> float:
    """Time of a ``git commit -qam`` (the hooks do the work) after a change to notes.txt."""
    notes = repo / "notes.txt"
    notes.write_text(f"{time.time_ns()}\n")
    return timed(lambda: sh("git", "commit", "-qam", "bench", *extra, cwd=repo))


def cpu_seconds(fn: Callable[[], object]) -> float:
    """User + system CPU time of the child processes ``fn`` runs."""
    before = os.times()
    fn()
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system)


class Cases:
    def __init__(self, work: Path, sizes: dict[str, int], reps: int) -> None:
        self.work, self.sizes, self.reps = work, sizes, reps
        self.extra: dict[str, object] = {}

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        return path

    def data(self) -> list[Row]:
        first, dvc_add, one, cpu, first_cpu, dvc_cpu = {}, {}, {}, {}, {}, {}
        for key in ("files_small", "files_big"):
            n = self.sizes[key]
            here = self.fresh(f"data-{n}")
            repo = cpv_repo(here / "cpv")
            write_files(repo / "data", n, FILE_SIZE)
            dvc = dvc_repo(here / "dvc")
            shutil.copytree(repo / "data", dvc / "data")
            first_cpu[n] = cpu_seconds(lambda r=repo, n=n: first.update({n: commit(r)}))
            dvc_cpu[n] = cpu_seconds(lambda d=dvc, n=n: dvc_add.update(
                {n: timed(lambda: sh(BIN / "dvc", "add", "-q", "data", cwd=d))}))
            shutil.rmtree(dvc)
            rounds: list[float] = []
            cpus = []
            for i in range(self.reps):
                touch_bytes(repo / "data" / "d000" / f"f{i:06}.bin")
                cpus.append(cpu_seconds(lambda r=repo, out=rounds: out.append(commit(r))))
            one[n], cpu[n] = statistics.median(rounds), statistics.median(cpus)
            shutil.rmtree(here)
        small, big = self.sizes["files_small"], self.sizes["files_big"]
        self.extra["data"] = {"first": first, "dvc_add": dvc_add, "one_changed": one,
                              "one_changed_cpu": cpu, "first_cpu": first_cpu, "dvc_cpu": dvc_cpu}
        linear = 1.2 * big / small
        return [
            Row(f"first commit, {big} files of 10 KB", first[big], "dvc add", dvc_add[big],
                first[big] / dvc_add[big], "<= 0.5x", first[big] / dvc_add[big] <= 0.5),
            Row("  same, CPU seconds (machine shared)", first_cpu[big], "dvc add", dvc_cpu[big],
                first_cpu[big] / dvc_cpu[big], "context", True),
            Row(f"first commit, {big} vs {small} files", first[big], f"{small} files",
                first[small], first[big] / first[small], f"<= {linear:.0f}x (linear)",
                first[big] / first[small] <= linear),
            Row(f"commit, 1 file changed in {big}", one[big], f"{small} files", one[small],
                one[big] / one[small], "< 1.5 s and <= 3x",
                one[big] < 1.5 and one[big] / one[small] <= 3),
            Row("  same, CPU seconds (machine shared)", cpu[big], f"{small} files", cpu[small],
                cpu[big] / cpu[small], "context", True),
        ]

    def model(self) -> list[Row]:
        size = self.sizes["model"]
        here = self.fresh("model")
        repo = cpv_repo(here / "cpv")
        random_file(repo / "model.bin", size)
        commit(repo)
        cache = repo / ".dvc" / "cache" / "files" / "md5"
        ours, theirs = [], []
        for _ in range(self.reps):
            shutil.rmtree(cache)  # only the new object: no old copy in the cache
            touch_bytes(repo / "model.bin")
            ours.append(commit(repo))
            theirs.append(timed(lambda: sh("sh", "-c", f"md5sum model.bin >/dev/null && cp "
                                                 f"model.bin {here}/copy.bin", cwd=repo)))
            (here / "copy.bin").unlink()
        shutil.rmtree(here)
        ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
        return [Row(f"commit of a new {size >> 20} MB model", statistics.median(ours),
                    "md5sum + cp", statistics.median(theirs), ratio, "<= 1.2x", ratio <= 1.2)]

    def hashing(self) -> list[Row]:
        total, count = self.sizes["hash_bytes"], self.sizes["hash_files"]
        here = self.fresh("hashing")
        repo = cpv_repo(here / "cpv")
        sh(BIN / "dvc", "config", "cache.type", "hardlink", cwd=repo)
        sh("git", "add", ".dvc/config", cwd=repo)
        for i in range(count):
            random_file(repo / "data" / f"f{i:05}.bin", total // count)
        md5sum = ("sh", "-c", f"find data -type f -print0 | xargs -0 -P{CORES} -n16 md5sum "
                              ">/dev/null")
        sh(*md5sum, cwd=repo)  # warm the page cache
        ours, theirs = [], []
        for _ in range(self.reps):
            for path in (repo / ".git" / "cpv").glob("files-*"):
                path.unlink()  # forget the hashes: everything is hashed again
            state = repo / ".git" / "cpv" / "state.json"
            if state.exists():
                state.write_text(json.dumps({k: v for k, v in json.loads(state.read_text())
                                             .items() if k != "data"}))
            ours.append(commit(repo, "--allow-empty"))
            theirs.append(timed(lambda: sh(*md5sum, cwd=repo)))
        shutil.rmtree(here)
        ratio = statistics.median(b / a for a, b in zip(ours, theirs, strict=True))
        label = f"hashing on commit, {total >> 30} GB in {count} files"
        return [Row(label, statistics.median(ours), f"md5sum -P{CORES}",
                    statistics.median(theirs), ratio, ">= 0.8x throughput", ratio >= 0.8)]

    def rss(self) -> list[Row]:
        size = self.sizes["rss_model"]
        here = self.fresh("rss")
        repo = cpv_repo(here / "cpv")
        with open(repo / "model.bin", "wb") as fh:  # sparse: no disk but the cache's copy
            fh.truncate(size)
        (repo / "notes.txt").write_text("rss\n")
        start = time.perf_counter()
        proc = subprocess.Popen(["git", "commit", "-qam", "rss"], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)  # the peak of git and every hook under it
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"commit failed: {proc.stderr.read() if proc.stderr else ''}")
        shutil.rmtree(here)
        peak = usage.ru_maxrss / 1024
        return [Row(f"peak RSS, commit of a {size >> 30} GB model (MB)", peak, "seconds",
                    seconds, 0.0, "< 300 MB", peak < 300)]


CASES = ["data", "model", "hashing", "rss"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes (default)")
    mode.add_argument("--full", action="store_true", help="the sizes of the targets")
    parser.add_argument("--reps", type=int, default=3, help="rounds per case (default 3)")
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases")
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default /tmp)")
    args = parser.parse_args(argv)
    name = "full" if args.full else "quick"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cpv-bench-commit-", dir=args.dir) as tmp:
        isolate(Path(tmp))
        cases = Cases(Path(tmp), SIZES[name], args.reps)
        for case in args.case or CASES:
            print(f"... {case}", file=sys.stderr, flush=True)
            rows += getattr(cases, case)()
    publish(rows, f"commit-{name}", {"mode": name, "reps": args.reps, "load": os.getloadavg(),
                                     "details": cases.extra})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
