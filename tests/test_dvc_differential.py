"""cpv's DVC formats against the real DVC as the oracle.

For generated trees and artifact paths, ``dvc add`` (DVC's Python API, in-process) in a
plain DVC repo and cpv's add (the Workspace API the pre-commit hook runs) in a cpv repo must
write byte-identical pointers, ``.gitignore`` files and cache objects, and DVC must find the
cpv repo clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from dvc.output import OutputIsIgnoredError
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from cpv_hooks.workspace import Workspace

# names that need YAML quoting, gitignore escaping, or are unicode
IGNORES = ["*.tmp", "cache/", "/d0*", "!keep.tmp", "sub/**/x*", "#comment", "a?", "[ab]*"]
TRICKY = [
    ".git",
    ".hg",
    ".dvc",
    "x.tmp",
    "keep.tmp",
    "cache",
    "sub",
    "#best.bin",
    "20240101",
    "model[1].bin",
    "a*b?",
    "!bang",
    "é ü.bin",
    "yes",
    "null",
    "1e3",
    "0o17",
    "~",
    "a: b",
    "- x",
    "'q'",
    '"dq"',
    "tab\tname",
    "back\\slash",
    "plain",
]
NAMES = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet="ab09#[]*?! éü-_:", min_size=1, max_size=8),
).filter(lambda n: n.strip() == n and n not in (".", "..") and not n.endswith(".dvc"))

Tree = dict[str, "bytes | Tree"]


def trees(depth: int = 2) -> st.SearchStrategy[Tree]:
    leaf = st.binary(max_size=64) | st.sampled_from([b"text\r\nwith crlf\n", b"\x00bin"])
    if depth == 0:
        return st.dictionaries(NAMES, leaf, max_size=3)
    return st.dictionaries(NAMES, leaf | trees(depth - 1), max_size=3)


def materialise(base: Path, tree: Tree, executable: bool) -> None:
    base.mkdir(parents=True, exist_ok=True)
    for name, node in tree.items():
        if isinstance(node, bytes):
            (base / name).write_bytes(node)
            if executable:
                (base / name).chmod(0o755)
        else:
            materialise(base / name, node, executable)


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every pointer, .gitignore and cache object under ``root`` (relative path -> bytes)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", "tmp")]
        rel = Path(dirpath).relative_to(root)
        for name in files:
            path = rel / name
            in_cache = path.parts[:2] == (".dvc", "cache")
            if (
                in_cache
                or name.endswith(".dvc")
                or (name == ".gitignore" and rel.parts[:1] != (".dvc",))
            ):
                out[str(path)] = (root / path).read_bytes()
    return out


def dvc_add(root: Path, paths: list[str]) -> None:
    from dvc.repo import Repo

    git_init(root)
    Repo.init(os.fspath(root)).close()
    with Repo(os.fspath(root)) as repo:
        repo.add([os.fspath(root / p) for p in paths])


def cpv_add(root: Path, paths: list[str]) -> Workspace:
    git_init(root)
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text("")
    arts = [{"path": p, "kind": "data", "store": "dvc"} for p in paths]
    (root / ".cpv.yaml").write_text(json.dumps({"artifacts": arts}))
    ws = Workspace(root)
    ws.add(list(ws.config.dvc_artifacts))
    return ws


def dvc_status(root: Path) -> dict[str, object]:
    """``dvc data status``: what differs between the work tree, the pointers and the cache."""
    from dvc.repo import Repo

    with Repo(os.fspath(root)) as repo:
        status = repo.data_status(granular=True, not_in_remote=False)
    return {k: v for k, v in status.items() if k not in ("git", "untracked") and v}


ARTIFACT = st.tuples(
    st.lists(NAMES, max_size=2),
    NAMES.filter(lambda n: n not in (".git", ".hg", ".dvc")),  # a repo's own, never an artifact
    st.one_of(st.none(), trees()),
)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    artifacts=st.lists(ARTIFACT, min_size=1, max_size=3, unique_by=lambda a: a[1]),
    executable=st.booleans(),
    dvcignore=st.lists(st.sampled_from(IGNORES), max_size=3),
    links=st.booleans(),
)
def test_add_is_byte_identical_to_dvc(
    artifacts: list, executable: bool, dvcignore: list[str], links: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trees_ = {}
        for parents, name, tree in artifacts:
            rel = "/".join([*[f"d{i}{p}" for i, p in enumerate(parents)], name])
            trees_[rel] = tree if tree is not None else b"file " + rel.encode()
        # artifacts never nest in one another
        paths = [p for p in trees_ if not any(p.startswith(q + "/") for q in trees_ if q != p)]
        for side in ("dvc", "cpv"):
            for rel in paths:
                node = trees_[rel]
                target = Path(tmp, side, rel)
                if isinstance(node, bytes):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(node)
                else:
                    materialise(target, node, executable)
                    if links:  # a symlink to a directory (skipped) and one to a file
                        (target / "dir-link").symlink_to(".")
                        files = [n for n, v in node.items() if isinstance(v, bytes)]
                        if files:
                            (target / "file-link").symlink_to(files[0])
            if dvcignore:
                Path(tmp, side).mkdir(parents=True, exist_ok=True)
                Path(tmp, side, ".dvcignore").write_text("\n".join(dvcignore) + "\n")
        dvc_root, cpv_root = Path(tmp, "dvc"), Path(tmp, "cpv")
        try:
            dvc_add(dvc_root, paths)
        except OutputIsIgnoredError:
            reject()  # DVC refuses to track an ignored path: not a case to compare
        cpv_add(cpv_root, paths)
        assert snapshot(cpv_root) == snapshot(dvc_root)
        status = dvc_status(cpv_root)
        assert "uncommitted" not in status  # DVC finds the work tree as the pointers say
        assert status == dvc_status(dvc_root)


FIELDS = """\
  desc: best so far
  type: model
  labels:
  - resnet
  - 'v2: final'
  meta:
    owner: vision
    epochs: 40
  remote: other
meta:
  source: dvc
# a comment DVC keeps
desc: the stage
"""


def legacy_md5(path: Path) -> str:
    """The md5 DVC 2 gave a file or a directory, from dvc_data itself (the oracle)."""
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    _, _, obj = build(
        HashFileDB(fs, os.fspath(path.parent / "odb")), os.fspath(path), fs, "md5-dos2unix"
    )
    return str(obj.hash_info.value)


def write_version(target: Path, version: int, directory: bool) -> None:
    """Text with CRLF (hashed differently by DVC 2) and binary content."""
    text, binary = b"weights v%d\r\n" % version * 50, b"\0weights v%d\n" % version * 70
    if not directory:
        target.write_bytes(text if version == 1 else binary)
        return
    (target / "sub").mkdir(parents=True, exist_ok=True)
    (target / "notes.txt").write_bytes(text)
    (target / "sub" / "w.bin").write_bytes(binary)


@pytest.mark.parametrize("directory", [False, True], ids=["file", "directory"])
@pytest.mark.parametrize("dvc2", [False, True], ids=["dvc3-pointer", "dvc2-pointer"])
def test_pointer_fields_survive_re_add_as_in_dvc(dvc2: bool, directory: bool) -> None:
    """A pointer DVC wrote, with every field a user may add, re-added by DVC and by cpv:
    byte-identical pointers and caches, unchanged data first (a DVC 2 pointer is kept), then
    changed data (a DVC 2 pointer is upgraded)."""
    with tempfile.TemporaryDirectory() as tmp:
        roots = {side: Path(tmp, side) for side in ("dvc", "cpv")}
        for root in roots.values():
            (root / "models").mkdir(parents=True)
            write_version(root / "models" / "w", 1, directory)
        dvc_add(roots["dvc"], ["models/w"])
        text = (roots["dvc"] / "models" / "w.dvc").read_text()
        if dvc2:  # DVC 2 hashed text with CRLF read as LF, and wrote no `hash:`
            md5 = legacy_md5(roots["dvc"] / "models" / "w")
            text = re.sub(r"md5: \w+(\.dir)?", f"md5: {md5}", text.replace("  hash: md5\n", ""))
        text = "# written by hand\n" + text + FIELDS
        for root in roots.values():
            (root / "models" / "w.dvc").write_text(text)
        shutil.rmtree(roots["dvc"] / ".dvc" / "cache")  # as if the pointer came from a clone
        ws = cpv_add(roots["cpv"], ["models/w"])
        for step in ("unchanged", "changed"):
            if step == "changed":
                for root in roots.values():
                    write_version(root / "models" / "w", 2, directory)
            from dvc.repo import Repo

            with Repo(os.fspath(roots["dvc"])) as repo:
                repo.add([os.fspath(roots["dvc"] / "models" / "w")])
            ws.add(list(ws.config.dvc_artifacts))
            got = (roots["cpv"] / "models" / "w.dvc").read_text()
            assert got == (roots["dvc"] / "models" / "w.dvc").read_text()
            assert (got == text) is (step == "unchanged")
            theirs = snapshot(roots["dvc"])
            if step == "changed":  # DVC's check of the old hash leaves a DVC 2 .dir behind
                theirs = {k: v for k, v in theirs.items() if k not in _legacy_listings(roots)}
            assert snapshot(roots["cpv"]) == theirs


def _legacy_listings(roots: dict[str, Path]) -> set[str]:
    """DVC 2 layout .dir objects only DVC wrote."""
    cpv = snapshot(roots["cpv"])
    return {
        k
        for k in snapshot(roots["dvc"])
        if k.endswith(".dir") and "/files/" not in k and k not in cpv
    }


def test_config_levels_are_read_as_dvc_reads_them(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """DVC's four config levels, quoting, inline comments, `~` and relative paths: cpv's
    reading against DVC's own Config."""
    from dvc.config import Config

    from cpv_hooks.dvc.config import load

    levels = {
        "system": "[cache]\n    dir = /srv/dvc-cache\n[core]\n    remote = sys\n"
        "['remote \"sys\"']\n    url = /srv/remote\n",
        "global": "[cache]\n    dir = ~/team-cache  # the team's\n"
        "['remote \"g\"']\n    url = ../rel-remote\n",
        "repo": '[core]\n    remote = "Main"\n[\'remote "main"\']\n    url = s3://bucket/x\n'
        '    endpointurl = "http://127.0.0.1:9"  # local\n    sse = AES256\n'
        "['remote \"other\"']\n    url = ../../storage\n",
        "local": '[\'remote "main"\']\n    profile = dev\n[cache]\n    type = "hardlink,copy"\n'
        "    shared = group\n",
    }
    root = tmp_path / "repo"
    paths = {
        "system": tmp_path / "system" / "config",
        "global": tmp_path / "global" / "config",
        "repo": root / ".dvc" / "config",
        "local": root / ".dvc" / "config.local",
    }
    for level, text in levels.items():
        paths[level].parent.mkdir(parents=True, exist_ok=True)
        paths[level].write_text(text)
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(tmp_path / "system"))
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "global"))
    theirs = Config(dvc_dir=str(root / ".dvc"))
    ours = load(root)
    assert ours["cache"]["dir"] == str(theirs["cache"]["dir"])
    assert ours["cache"]["type"].split(",") == theirs["cache"]["type"]
    assert ours["cache"]["shared"] == theirs["cache"]["shared"]
    assert ours["core"]["remote"] == theirs["core"]["remote"] == "main"
    for name, remote in theirs["remote"].items():
        mine = ours[f"remote:{name}"]
        assert mine == {k: str(remote[k]) for k in mine}  # (DVC adds its defaults too)
    assert {k for k in ours if k.startswith("remote:")} == {f"remote:{n}" for n in theirs["remote"]}
