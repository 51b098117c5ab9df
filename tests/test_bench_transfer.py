"""bench/transfer.py runs its cases for real (on the session's moto; s3rver needs npm)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from transfer import BUCKET, Transfers, client, isolated_env, table

from cpv_hooks.testing import MotoServer


def test_files_case_measures_real_pushes(moto: MotoServer, tmp_path: Path) -> None:
    client(moto.endpoint).create_bucket(Bucket=BUCKET)
    work = tmp_path / "bench"
    work.mkdir()
    bench = Transfers("moto", moto, work, isolated_env(work), {"files": 3}, reps=1)
    result = bench.files()
    assert set(result.rounds) == {"cpv", "put_object x32", "dvc"}
    assert result.raw_best == "put_object x32" and result.cpv_s > 0 and result.speed_vs_dvc > 0
    text = table({}, [result])
    assert "push of 3 files of 10 KB" in text and "put_object x32" in text
    with pytest.raises(RuntimeError, match="a transfer did nothing"):
        bench.expect("files-cpv/1/", 1)  # no second round: nothing there
