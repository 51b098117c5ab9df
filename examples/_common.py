"""Where the examples work: a fresh directory, and S3 when CPV_S3_BUCKET is set.

    CPV_S3_BUCKET=my-bucket CPV_S3_ENDPOINT=http://127.0.0.1:9000 python examples/<name>.py

Without CPV_S3_BUCKET the data goes to cpv's local remote under ~/.cpv (no cloud account).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def workdir(name: str) -> Path:
    base = os.environ.get("CPV_EXAMPLE_DIR") or tempfile.mkdtemp(prefix=f"cpv-{name}-")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def storage() -> dict[str, Any]:
    """Template variables for the repos the examples create."""
    bucket = os.environ.get("CPV_S3_BUCKET")
    if not bucket:
        return {"storage": "local"}
    return {
        "storage": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": os.environ.get("CPV_S3_ENDPOINT", ""),
    }


def fake_weights(path: Path, seed: int, size: int = 256_000) -> Path:
    """Stand-in for a training run's output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytes((seed * 31 + i) % 256 for i in range(256))
    path.write_bytes(block * (size // 256))
    return path
