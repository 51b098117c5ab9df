"""The gate for data-borne input (cpv_hooks/dvc/safety.py), checked against independent oracles."""

from __future__ import annotations

import os
import posixpath
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpv_hooks.dvc.safety import (
    check_md5,
    check_relpath,
    check_size,
    load_yaml_safe,
    loads_json_limited,
    resolve_inside,
)
from cpv_hooks.errors import CPVError, ValidationError, printable


def _md5_oracle(value: str, allow_dir: bool) -> bool:
    digest = value[:-4] if allow_dir and value.endswith(".dir") else value
    try:
        return len(digest) == 32 and bytes.fromhex(digest).hex() == digest
    except ValueError:
        return False


@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[0-9a-fA-F]{30,34}(\.dir)?", fullmatch=True),
        st.binary(min_size=16, max_size=16).map(lambda b: b.hex() + ".dir"),
    ),
    st.booleans(),
)
def test_md5_accepted_exactly_when_it_is_a_hex_digest(value: str, allow_dir: bool) -> None:
    try:
        check_md5(value, "x", allow_dir=allow_dir)
        accepted = True
    except ValidationError as exc:
        accepted = False
        assert "\n" not in str(exc) and str(exc).startswith("x: md5")
    assert accepted == _md5_oracle(value, allow_dir)


def _escapes(rel: str) -> bool:
    """Whether ``rel`` could name something outside its base or inside git's/DVC's own dirs."""
    root = "/base/dir"
    joined = posixpath.normpath(posixpath.join(root, rel))
    win = PureWindowsPath(rel)
    parts = {p.lower() for p in PurePosixPath(rel).parts}
    if os.sep == "\\":  # a back-slash separates paths only there
        parts |= {p.lower() for p in win.parts}
    drive = os.sep == "\\" and bool(win.drive or win.root)
    return (
        not joined.startswith(root + "/")
        or drive
        or bool(parts & {"..", ".git", ".dvc"})
        or "\0" in rel
    )


segments = st.text(
    st.characters(blacklist_characters="/\\\0", blacklist_categories=("Cs",)), min_size=1
).filter(lambda s: s not in (".", "..") and s.lower() not in (".git", ".dvc"))
hostile = st.lists(
    st.one_of(segments, st.sampled_from(["..", ".", "", ".git", ".DVC", "C:", "\\..", "a\0"])),
    min_size=1,
    max_size=5,
).map("/".join)


@given(st.one_of(hostile, st.text(max_size=30)))
def test_no_accepted_path_escapes(rel: str) -> None:
    try:
        check_relpath(rel, "listing")
    except ValidationError as exc:
        assert str(exc).startswith("listing: path") and "\n" not in str(exc)
        return
    assert not _escapes(rel)


@given(st.lists(segments, min_size=1, max_size=5))
def test_plain_relative_paths_are_accepted(parts: list[str]) -> None:
    rel = "/".join(parts)
    if _has_drive(rel):
        return
    assert check_relpath(rel, "listing") == rel


def _has_drive(rel: str) -> bool:  # "C:x" is a drive path where Windows reads it so
    return os.sep == "\\" and bool(PureWindowsPath(rel).drive)


def test_resolve_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    os.symlink(tmp_path, root / "data" / "out")
    os.symlink(root / "data", root / "in")
    assert resolve_inside(root, "in/x", "w") == root / "in/x"
    with pytest.raises(ValidationError, match="leads outside the repo"):
        resolve_inside(root, "data/out/x", "w")


@pytest.mark.parametrize("value", [-1, 1.0, float("inf"), True, "12", 1 << 60, None])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ValidationError, match="not a whole number"):
        check_size(value, "p")


def test_yaml_alias_bomb_and_deep_json_are_refused() -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    with pytest.raises(ValidationError, match="aliases"):
        load_yaml_safe(bomb, "m.dvc")
    with pytest.raises(ValidationError, match="over the limit"):
        load_yaml_safe("a: 1\n" * 300_000, "m.dvc")
    with pytest.raises(ValidationError, match="nests deeper"):
        loads_json_limited("[" * 100_000 + "]" * 100_000, "listing")
    assert loads_json_limited('[{"relpath": "[[[[", "md5": "x"}]', "l", depth=2)[0]["md5"] == "x"


@given(st.text())
def test_printed_text_holds_no_control_characters(text: str) -> None:
    shown = printable(text)
    assert all(c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs") for c in shown)
    shown.encode("utf-8")  # never a UnicodeEncodeError on a UTF-8 terminal


@given(
    st.sampled_from(["https", "http", "ssh", "git+ssh"]),
    st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9._~!$&'()*+,;=-]{6,20}", fullmatch=True),
)
def test_url_credentials_never_reach_an_error(scheme: str, user: str, secret: str) -> None:
    url = f"{scheme}://{user}:{secret}@host.example/x.git"
    shown = f"{scheme}://***@" if scheme.startswith("http") else f"{scheme}://{user}:***@"
    out = str(CPVError(f"could not fetch from {url}: fatal: denied"))
    assert out == f"could not fetch from {shown}host.example/x.git: fatal: denied"
