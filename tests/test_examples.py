"""The examples run as a user would run them, against the moto S3 server."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT, S3, run


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("basic_model_versioning.py", "reverted to v0.1 as v0.3"),
        ("multi_team_management.py", "nlp/bert-small v0.1"),
        ("experiment_tracking.py", "best run: v0.3"),
    ],
)
def test_example_runs_against_s3(
    script: str, expected: str, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPV_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("CPV_S3_ENDPOINT", s3.endpoint)
    monkeypatch.setenv("CPV_EXAMPLE_DIR", str(tmp_path / "work"))
    proc = run(sys.executable, ROOT / "examples" / script)
    assert expected in proc.stdout
    keys = s3.list_keys()
    assert keys, "the example stored nothing on S3"
    layout = re.compile(
        r"(vision|nlp|research)/[a-z0-9_-]+/"
        r"(files/md5/[0-9a-f]{2}/[0-9a-f]{30}|cpv/versions/(data-)?v\d+\.\d+\.json"
        r"|cpv/summary\.json|cpv/gc\.generation)"
    )
    assert all(layout.fullmatch(k.removesuffix(".dir")) for k in keys), sorted(keys)[:5]
