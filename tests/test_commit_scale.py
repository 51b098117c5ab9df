"""The commit path at scale: what is hashed again, parallel stores that fail, cache presence."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from conftest import git

import cpv_hooks.dvc.cache as cache_mod
from cpv_hooks.dvc.cache import Cache, object_key
from cpv_hooks.errors import ValidationError
from cpv_hooks.fsutil import TMP_PREFIX
from cpv_hooks.hooks import pre_commit
from cpv_hooks.workspace import Workspace


def _commit(repo: Path) -> Workspace:
    ws = Workspace(repo)
    changed, _ = ws.changed()
    ws.check_artifacts(changed)
    ws.add(changed)
    return ws


def _listing(ws: Workspace) -> dict[str, str]:
    ptr = ws.pointer(next(a for a in ws.config.dvc_artifacts if a.path == "data"))
    assert ptr is not None
    return {e["relpath"]: e["md5"] for e in ws.cache().dir_entries(ptr.md5)}


def _objects_whole(cache_dir: Path) -> None:
    """No temporary file is left in the cache and every object holds what its name says."""
    for path in cache_dir.rglob("*"):
        assert not path.name.startswith(TMP_PREFIX), path
        if path.is_file() and not path.name.endswith(".dir"):
            md5 = path.parent.name + path.name
            assert hashlib.md5(path.read_bytes()).hexdigest() == md5, path


def test_only_files_whose_stat_key_changed_are_hashed_as_in_dvc(
    make_repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DVC's state db (dvc_data/hashfile/state.py) re-hashes a file when its inode, mtime or
    size changed: cpv does too, and nothing else; an object gone from the cache is stored
    again; a symlink out of the repo deep in data/ is refused."""
    repo = make_repo()
    for i in range(30):
        (repo / "data" / "sub" / f"f{i:02}.txt").parent.mkdir(exist_ok=True)
        (repo / "data" / "sub" / f"f{i:02}.txt").write_text(f"sample {i:04}\n")
    ws = _commit(repo)
    first = _listing(ws)
    hashed: list[str] = []
    real_add = Cache.add

    def counting(self: Cache, src: Path) -> cache_mod.Added:  # hashes and stores one file
        hashed.append(src.name)
        return real_add(self, src)

    monkeypatch.setattr(Cache, "add", counting)
    one, two = repo / "data" / "sub" / "f01.txt", repo / "data" / "sub" / "f02.txt"
    st = one.stat()
    with open(one, "r+") as fh:  # same inode, same size, mtime put back: DVC sees no change
        fh.write("SAMPLE")
    os.utime(one, ns=(st.st_atime_ns, st.st_mtime_ns))
    st = two.stat()
    new = two.with_name("new.tmp")
    new.write_text("other  0002\n")  # same size, a new inode, the old mtime
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(new, two)
    lost = ws.cache().dir / object_key(first["sub/f05.txt"])
    os.chmod(lost, 0o644)
    lost.unlink()
    ws = _commit(repo)
    assert sorted(hashed) == ["f02.txt", "f05.txt"]
    listing = _listing(ws)
    assert listing["sub/f01.txt"] == first["sub/f01.txt"]
    assert listing["sub/f02.txt"] == hashlib.md5(b"other  0002\n").hexdigest()
    assert lost.exists()
    _objects_whole(ws.cache().dir)
    hashed.clear()
    _commit(repo)
    assert hashed == []  # nothing changed: nothing hashed
    (repo / "data" / "sub" / "deep").mkdir()
    (tmp_path / "id_rsa").write_text("secret\n")
    (repo / "data" / "sub" / "deep" / "key").symlink_to(tmp_path / "id_rsa")
    ws = Workspace(repo)
    changed, _ = ws.changed()
    with pytest.raises(ValidationError, match="data/sub/deep/key is a symlink to"):
        ws.check_artifacts(changed)


def test_a_store_failing_mid_copy_leaves_no_pointer_and_no_partial_object(
    make_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are hashed while copied, in parallel, in blocks; the disk filling up in the
    middle fails the commit with the pointer as it was and no partial object; the next
    commit stores everything right."""
    repo = make_repo()
    monkeypatch.chdir(repo)
    monkeypatch.setattr(cache_mod, "BUFFER", 4096)  # 20 KB files: several blocks each
    for i in range(40):
        (repo / "data" / f"f{i:02}.bin").write_bytes(os.urandom(20_000 + i))
    before = (repo / "data.dvc").read_bytes()
    writes = {"n": 0}
    real_write = cache_mod._write_all

    def filling_up(fd: int, data: memoryview) -> None:
        writes["n"] += 1
        if writes["n"] == 60:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fd, data)

    monkeypatch.setattr(cache_mod, "_write_all", filling_up)
    assert pre_commit.main() != 0
    assert (repo / "data.dvc").read_bytes() == before
    assert git(repo, "diff", "--cached", "--name-only").stdout.split() == []
    cache_dir = Workspace(repo).cache().dir
    _objects_whole(cache_dir)
    monkeypatch.setattr(cache_mod, "_write_all", real_write)
    assert pre_commit.main() == 0
    _objects_whole(cache_dir)
    listing = _listing(Workspace(repo))
    assert all(
        listing[f"f{i:02}.bin"]
        == hashlib.md5((repo / "data" / f"f{i:02}.bin").read_bytes()).hexdigest()
        for i in range(40)
    )


def test_cache_presence_by_listing_or_by_stat(tmp_path: Path) -> None:
    """Many objects are looked up by listing the object directories, a few by a stat each:
    both find exactly the absent ones, in DVC 3's and DVC 2's layouts."""
    cache = Cache(tmp_path / "cache")
    md5s = [hashlib.md5(str(i).encode()).hexdigest() for i in range(1200)]
    for md5 in md5s[:-3]:
        path = cache.dir / object_key(md5)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    legacy = cache.legacy_path(md5s[-1])
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(b"")  # a DVC 2 object counts too
    assert cache.missing(md5s) == md5s[-3:-1]
    assert cache.missing(md5s[-5:]) == md5s[-3:-1]
