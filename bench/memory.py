"""Peak memory (RSS) of `cpv data download --no-cache` of a data/ holding one big file.

    python bench/memory.py 300     # size of the file in MB

Runs in a temporary directory with its own HOME and a moto S3 server on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from cpv_hooks.testing import MotoServer

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def main(megabytes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        home = base / "home"
        home.mkdir()
        (home / ".gitconfig").write_text(
            "[user]\n\tname = b\n\temail = b@example.com\n[init]\n\tdefaultBranch = main\n"
        )
        env = {
            **os.environ,
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "CPV_CONFIG_DIR": str(home / ".cpv"),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        server = MotoServer().start()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        server.client().create_bucket(Bucket=bucket)

        def run(*args: str | Path, cwd: Path | None = None) -> None:
            cmd = [str(a) for a in args]
            subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)

        try:
            run("git", "init", "-q", "--bare", base / "origin.git")
            run(
                BIN / "cookiecutter", ROOT, "--directory", "template", "--no-input",
                "--output-dir", base / "work", "team_name=bench", "model_name=mem",
                f"s3_bucket={bucket}", f"s3_endpoint_url={server.endpoint}",
                f"git_remote_url={base / 'origin.git'}",
            )
            repo = base / "work" / "mem"
            with open(repo / "data" / "big.bin", "wb") as fh:
                for _ in range(megabytes):
                    fh.write(os.urandom(1 << 20))
            (repo / "metrics.log").write_text("acc: 1\n")
            run("git", "commit", "-qam", "big data", cwd=repo)
            run("git", "push", "-q", cwd=repo)
            proc = subprocess.Popen(
                [str(BIN / "cpv"), "data", "download", "--no-cache", "-o", str(base / "out")],
                cwd=repo, env=env,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            print(f"{megabytes} MB file: exit {proc.returncode}, peak RSS of cpv "
                  f"{usage.ru_maxrss / 1024:.0f} MB")
        finally:
            server.kill()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
