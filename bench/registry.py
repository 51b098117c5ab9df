"""How fast the team registry reads: `cpv registry list` over 50 models x 100 versions.

    python bench/registry.py            # target: under 1.5 s against moto on 127.0.0.1

Entries are written straight into a moto bucket (5,000 manifests, 2 stage events per model)
with each model's summary as its last push leaves it; then Registry.summary() (what
`cpv registry list` prints) and Registry.versions() of one model are timed, median of 5.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from cpv_hooks.registry import Registry, encode, write_summary
from cpv_hooks.storage import S3Remote
from cpv_hooks.testing import MotoServer

MODELS, VERSIONS, RUNS = 50, 100, 5


def entry(team: str, model: str, minor: int) -> dict[str, object]:
    kind = "data" if minor % 10 == 0 else "model"
    tag = f"{'data-' if kind == 'data' else ''}v0.{minor}"
    return {
        "schema": 1, "kind": kind, "tag": tag, "version": f"v0.{minor}", "commit": "c" * 40,
        "author": "Bench <b@x>", "date": "2026-01-01T00:00:00+00:00", "message": "bench",
        "artifacts": {"model.bin": {"md5": "0" * 32, "size": 1, "store": "dvc"}},
        "metrics": {"accuracy": minor / VERSIONS}, "deleted": False,
    }  # fmt: skip


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ["CPV_CONFIG_DIR"] = tempfile.mkdtemp(prefix="cpv-bench-")
    server = MotoServer().start()
    try:
        client = server.client()
        client.create_bucket(Bucket="bench")
        puts = []
        for m in range(MODELS):
            team, model = f"team{m % 5}", f"model{m}"
            for v in range(1, VERSIONS + 1):
                e = entry(team, model, v)
                puts.append((f"{team}/{model}/cpv/versions/{e['tag']}.json", encode(e)))
            for n, version in ((1, "v0.1"), (2, "v0.2")):
                event = {"tag": f"stage/prod/{n}", "stage": "prod", "number": n,
                         "version": version, "commit": "c" * 40, "action": "assign",
                         "author": "Bench <b@x>", "date": "2026-01-01T00:00:00+00:00"}  # fmt: skip
                key = f"{team}/{model}/cpv/stages/prod.{n}.json"
                puts.append((key, json.dumps(event).encode()))

        def put(item: tuple[str, bytes]) -> None:
            client.put_object(Bucket="bench", Key=item[0], Body=item[1])

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, puts))
            options = {"endpointurl": server.endpoint, "region": "us-east-1"}
            remotes = [S3Remote(f"s3://bench/team{m % 5}/model{m}", options) for m in range(MODELS)]
            list(pool.map(write_summary, remotes))  # as each model's last push left it
        registry = Registry("bench", server.endpoint, region="us-east-1")
        timings: dict[str, list[float]] = {"registry list (50 models)": [], "versions (100)": []}
        for _ in range(RUNS):
            start = time.perf_counter()
            rows = registry.summary()
            timings["registry list (50 models)"].append(time.perf_counter() - start)
            assert len(rows) == MODELS and all(r["stages"] == {"prod": "v0.2"} for r in rows)
            start = time.perf_counter()
            assert len(registry.versions("team0/model0")) == VERSIONS
            timings["versions (100)"].append(time.perf_counter() - start)
        for case, values in timings.items():
            print(f"{case:<28} median {statistics.median(values):.2f} s  (target < 1.5 s)")
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
