"""Downloads stream: a big file of data/ (size unknown from its listing) never sits in memory."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import BIN, S3, clone, git, run

from cpv_hooks.dvc.cache import Obj, file_md5
from cpv_hooks.storage import CHUNK, open_remote


def test_big_file_in_data_downloads_streamed(
    make_repo, s3: S3, bare_remote: Path, tmp_path: Path
) -> None:
    repo = make_repo(s3)
    big = os.urandom(20 << 20)
    (repo / "data" / "big.bin").write_bytes(big)
    (repo / "data" / "small.txt").write_text("small\n")
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-qam", "data with a 20 MB file")
    git(repo, "push", "-q")

    fresh = clone(bare_remote, tmp_path / "fresh")
    run(BIN / "cpv", "install", cwd=fresh)  # fetch: sizes from the remote, then ranged GETs
    assert (fresh / "data" / "big.bin").read_bytes() == big
    run(BIN / "cpv", "data", "download", "--no-cache", "-o", tmp_path / "out", cwd=repo)
    assert (tmp_path / "out" / "data" / "big.bin").read_bytes() == big

    md5 = file_md5(repo / "data" / "big.bin")
    remote = open_remote(repo)
    for known in (-1, len(big)):  # a listing's entry has no size: it is asked for
        seen: list[int] = []
        got = remote.download(Obj(md5, known), tmp_path / "one", seen.append)
        assert got == md5 and sum(seen) == len(big)
        assert max(seen) <= CHUNK  # in pieces, never the whole object at once
