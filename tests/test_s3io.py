"""Large objects move in parallel parts (s3io): whole or not at all, md5 verified on the way in.

Parts are made small here (5 MB, S3's least) so a 12 MB object takes three of them.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path

import pytest
from conftest import S3

from cpv_hooks import s3io
from cpv_hooks.dvc.cache import Obj
from cpv_hooks.errors import CorruptObjectError, StorageError
from cpv_hooks.storage import S3Remote, _verified


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(s3io, "PART", 5 << 20)
    monkeypatch.setattr(s3io, "SINGLE_PUT", 5 << 20)
    return 5 << 20


def test_parts_round_trip_and_a_failed_or_corrupt_download_writes_nothing(
    s3: S3, small_parts: int, tmp_path: Path
) -> None:
    remote = S3Remote(
        f"s3://{s3.bucket}/store",
        {"endpointurl": s3.endpoint, "access_key_id": "k", "secret_access_key": "s"},
    )
    data = os.urandom(12 << 20)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    obj = Obj(hashlib.md5(data).hexdigest(), len(data))
    sent: list[int] = []
    remote.upload(src, obj, sent.append)
    client = s3.server.client()
    key = f"store/{obj.key}"
    assert sum(sent) == len(data) and len(sent) == 3  # three parts
    assert client.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == data
    assert not client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads")

    out = tmp_path / "out"
    out.mkdir()
    got: list[int] = []
    for want in (obj, Obj(obj.md5)):  # size known, or asked for first
        _verified(out / "ok.bin", want, partial(remote.download, want, progress=got.append), "x")
        assert (out / "ok.bin").read_bytes() == data
    assert max(got) <= s3io.BLOCK

    # one part of three fails (the object is shorter than the pointer says): no file
    longer = Obj(obj.md5, len(data) + small_parts)
    with pytest.raises(StorageError) as failed:
        _verified(out / "bad.bin", longer, lambda t: remote.download(longer, t, got.append), "x")
    assert "\n" not in str(failed.value)
    # the same size but other bytes on the remote: refused by md5, no file
    client.put_object(Bucket=s3.bucket, Key=key, Body=data[:-1] + b"\0")
    with pytest.raises(CorruptObjectError):
        _verified(out / "bad.bin", obj, lambda t: remote.download(obj, t, got.append), "x")
    assert sorted(p.name for p in out.iterdir()) == ["ok.bin"]  # no temporary file left
