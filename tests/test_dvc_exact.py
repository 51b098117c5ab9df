"""A cpv repo is a DVC repo: the cases of issue 11, each through a real commit/push and DVC."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from conftest import BIN, git, run, write_model

from cpv_hooks.dvc.cache import file_md5
from cpv_hooks.push import verify_remote

CPV_YAML = """team: vision
model: resnet50
artifacts:
  - {path: model.bin, kind: model, store: dvc}
  - {path: data, kind: data, store: dvc}
  - {path: metrics.log, kind: model, store: git}
  - {path: "#best.bin", kind: model, store: dvc}
  - {path: "20240101", kind: data, store: dvc}
  - {path: models/best/model.bin, kind: model, store: dvc}
  - {path: "model[1].bin", kind: model, store: dvc}
"""


def dvc(repo: Path, *args: str) -> str:
    return run(BIN / "dvc", *args, cwd=repo).stdout


def dvc_uncommitted(repo: Path) -> dict[str, object]:
    """What ``dvc data status`` finds changed between the work tree and the pointers."""
    status = json.loads(dvc(repo, "data", "status", "--json", "--granular"))
    return {k: v for k, v in status.items() if k in ("uncommitted", "not_in_cache") and v}


def test_tricky_names_nested_paths_and_globs_are_dvcs(make_repo) -> None:
    """Cases 1-3: quoted names, pointer-relative nested paths, escaped .gitignore entries."""
    repo = make_repo()
    (repo / ".cpv.yaml").write_text(CPV_YAML)
    write_model(repo / "#best.bin", seed=1)
    (repo / "20240101").mkdir()
    (repo / "20240101" / "x.csv").write_text("a,b\n")
    (repo / "models" / "best").mkdir(parents=True)
    write_model(repo / "models" / "best" / "model.bin", seed=2)
    write_model(repo / "model[1].bin", seed=3)
    (repo / "metrics.log").write_text("acc: 0.5\n")
    git(repo, "commit", "-am", "tricky names")

    # 1: DVC's quoting, DVC can parse every pointer
    assert "  path: '#best.bin'\n" in (repo / "#best.bin.dvc").read_text()
    assert "  path: '20240101'\n" in (repo / "20240101.dvc").read_text()
    # 2: the path is relative to the pointer, the .gitignore beside it
    assert "  path: model.bin\n" in (repo / "models/best/model.bin.dvc").read_text()
    assert (repo / "models/best/.gitignore").read_text() == "/model.bin\n"
    # 3: the glob characters are escaped, so git ignores the weights
    assert "/model\\[1\\].bin\n" in (repo / ".gitignore").read_text()
    assert "/\\#best.bin\n" in (repo / ".gitignore").read_text()
    tracked = git(repo, "ls-files").stdout.split("\n")
    assert "model[1].bin.dvc" in tracked and "models/best/model.bin.dvc" in tracked
    assert {"model[1].bin", "#best.bin", "models/best/model.bin", "20240101/x.csv"}.isdisjoint(
        tracked
    )
    assert git(repo, "status", "--porcelain").stdout == ""
    assert dvc_uncommitted(repo) == {}


def test_dvc_fields_remote_and_dvc2_pointers_survive_a_version(make_repo, tmp_path) -> None:
    """Case 4: desc/type/labels/meta/remote kept, the output's remote used at push, DVC 2
    pointers read and left as they are until the data changes (then upgraded, as DVC does)."""
    repo = make_repo()
    other = tmp_path / "other-remote"
    dvc(repo, "remote", "add", "other", str(other))
    v1 = write_model(repo / "model.bin", seed=1)
    md5 = file_md5(repo / "model.bin")
    legacy = (
        "# written by DVC 2\n"
        f"outs:\n- md5: {md5}\n  size: {len(v1)}\n  path: model.bin\n  desc: best so far\n"
        "  type: model\n  labels:\n  - resnet\n  meta:\n    owner: vision\n  remote: other\n"
        "meta:\n  source: dvc2\n"
    )
    (repo / "model.bin.dvc").write_text(legacy)
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-am", "v1 by DVC 2")
    assert (repo / "model.bin.dvc").read_text() == legacy  # unchanged data: kept as it is

    old_md5 = md5
    v2 = write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("acc: 0.2\n")
    git(repo, "commit", "-am", "v2")
    md5 = file_md5(repo / "model.bin")
    assert (repo / "model.bin.dvc").read_text() == (
        "# written by DVC 2\n"
        f"outs:\n- md5: {md5}\n  size: {len(v2)}\n  path: model.bin\n  desc: best so far\n"
        "  type: model\n  labels:\n  - resnet\n  meta:\n    owner: vision\n  remote: other\n"
        "  hash: md5\nmeta:\n  source: dvc2\n"
    )
    assert dvc_uncommitted(repo) == {}
    git(repo, "push", "-q", "origin", "main")
    assert (other / "files" / "md5" / md5[:2] / md5[2:]).read_bytes() == v2
    assert verify_remote(repo) == []  # each pointer's data looked for on its own remote

    # the DVC 2 version comes back from DVC 2's layout on the remote into DVC 2's cache layout
    assert (other / old_md5[:2] / old_md5[2:]).read_bytes() == v1
    legacy = repo / ".dvc" / "cache" / old_md5[:2] / old_md5[2:]
    legacy.unlink()
    git(repo, "checkout", "-q", "HEAD~1")
    assert (repo / "model.bin").read_bytes() == v1 and legacy.read_bytes() == v1
    assert dvc_uncommitted(repo) == {}


def test_local_remote_objects_follow_the_umask(make_repo) -> None:
    """Case 7: objects on a local (shared) remote are readable by the team, as DVC leaves them."""
    repo = make_repo()
    old = os.umask(0o002)
    try:
        write_model(repo / "model.bin", seed=1)
        (repo / "metrics.log").write_text("acc: 0.1\n")
        git(repo, "commit", "-am", "v1")
        git(repo, "push", "-q", "origin", "main")
    finally:
        os.umask(old)
    name = dvc(repo, "config", "core.remote").strip()
    url = dvc(repo, "config", f"remote.{name}.url").strip()  # `remote list` wraps long paths
    remote = (repo / ".dvc" / url).resolve() if not os.path.isabs(url) else Path(url)
    objects = [p for p in remote.rglob("*") if p.is_file()]
    assert objects
    assert {stat.S_IMODE(p.stat().st_mode) for p in objects} == {0o664}


def test_dvc_settings_at_every_level_are_honoured(make_repo, s3, isolated_env) -> None:
    """Case 5: the team cache from the global config, cache.type hardlink with DVC's
    protection, cache.shared group from config.local (quoted, inline comment), S3 encryption
    from the remote's options, and a remote option cpv cannot honour refused in one line."""
    run(BIN / "dvc", "config", "--global", "cache.dir", "~/team-cache", cwd=isolated_env)
    repo = make_repo(s3=s3)
    dvc(repo, "config", "cache.type", "hardlink,copy")
    dvc(repo, "remote", "modify", "myremote", "sse", "AES256")
    (repo / ".dvc" / "config.local").write_text(
        (repo / ".dvc" / "config.local").read_text()
        + '[cache]\n    shared = "group"  # the team shares this machine\n'
    )
    data = write_model(repo / "model.bin", seed=1)
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "commit", "-am", "v1")
    md5 = file_md5(repo / "model.bin")
    obj = isolated_env / "team-cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert obj.read_bytes() == data
    assert not (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).exists()
    assert (repo / "model.bin").stat().st_ino == obj.stat().st_ino  # hard-linked, read-only
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    assert stat.S_IMODE(obj.parent.stat().st_mode) == 0o2775
    assert dvc_uncommitted(repo) == {}

    # training writes a new file (a linked one is read-only): relinked, the old object intact
    (repo / "model.bin").unlink()
    write_model(repo / "model.bin", seed=2)
    (repo / "metrics.log").write_text("acc: 0.2\n")
    git(repo, "commit", "-am", "v2")
    assert file_md5(obj) == md5 and (repo / "model.bin").stat().st_nlink == 2
    git(repo, "checkout", "-q", "HEAD~1")  # the post-checkout hook links v1 back
    assert (repo / "model.bin").stat().st_ino == obj.stat().st_ino
    git(repo, "checkout", "-q", "main")
    git(repo, "push", "-q", "origin", "main")
    key = f"vision/resnet50/files/md5/{md5[:2]}/{md5[2:]}"
    head = s3.server.client().head_object(Bucket=s3.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"

    dvc(repo, "remote", "modify", "myremote", "version_aware", "true")
    (repo / "metrics.log").write_text("acc: 0.3\n")
    git(repo, "commit", "-am", "v3")
    proc = git(repo, "push", "origin", "main", check=False)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "version_aware" in ln]
    assert len(lines) == 1 and "dvc push -r myremote" in lines[0]


def test_dvcignore_default_ignores_and_symlinks_as_dvc(make_repo) -> None:
    """Case 6: .dvcignore patterns and DVC's own ignores leave files out of a data set as
    `dvc add` does; a symlink to a directory is skipped; a .dvcignore inside is refused."""
    repo = make_repo()
    with open(repo / ".dvcignore", "a") as fh:
        fh.write("*.tmp\ncache/\n")
    data = repo / "data"
    (data / "a.csv").write_text("a,b\n")
    (data / "b.tmp").write_text("scratch\n")
    for sub in ("cache", ".git", "x/.hg", "x/.dvc"):
        (data / sub).mkdir(parents=True)
        (data / sub / "f").write_text(sub)
    (repo / "elsewhere").mkdir()
    (data / "dir-link").symlink_to(repo / "elsewhere")
    (repo / "metrics.log").write_text("acc: 0.1\n")
    git(repo, "add", ".dvcignore")
    git(repo, "commit", "-am", "data")
    pointer = (repo / "data.dvc").read_text()
    assert "  nfiles: 2\n" in pointer  # a.csv and the scaffold's .gitkeep
    assert dvc_uncommitted(repo) == {}

    (data / ".dvcignore").write_text("*.csv\n")
    (repo / "metrics.log").write_text("acc: 0.2\n")
    proc = git(repo, "commit", "-am", "nested ignore", check=False)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "DVC refuses a .dvcignore" in ln]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
