"""The README's first command: the quickstart on the embedded default (local remote)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import BIN, ROOT, S3, run


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    commands = [
        line.strip() for line in text.splitlines() if line.startswith("    python3 -m venv")
    ]
    assert commands[0].endswith("bash examples/quickstart.sh")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_quickstart_runs_on_a_fresh_home(tmp_path: Path, isolated_env: Path, s3: S3) -> None:
    """No git identity, and S3 configured for the team: the demo still uses its own remote."""
    (isolated_env / ".gitconfig").write_text("")  # no identity, no default branch
    run(BIN / "cpv", "aws-config", "--bucket", s3.bucket, "--endpoint-url", s3.endpoint)
    proc = run("bash", ROOT / "examples" / "quickstart.sh")
    assert "byte-identical to the committed v0.1: OK" in proc.stdout
    assert (isolated_env / ".cpv" / "remotes" / "vision" / "resnet50" / "files").is_dir()
    assert s3.list_keys() == set()
    script = (ROOT / "examples" / "quickstart.sh").read_text()
    assert "md5sum" not in script  # absent on macOS


def test_every_install_line_names_the_distribution() -> None:
    """`cpv` on PyPI is someone else's project: nothing may tell a user to install it."""
    wrong = re.compile(r"pip[x]? install (-\S+ )*cpv\b(?!-hooks)")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    found = [
        f"{name}:{n}"
        for name in files
        if (ROOT / name).is_file()
        for n, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        if wrong.search(line)
    ]
    assert found == []
    dist = re.search(r'^name = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert dist and dist.group(1) == "cpv-hooks"


def test_ci_runs_the_test_command_on_three_systems() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert set(job["strategy"]["matrix"]["os"]) == {
        "ubuntu-latest",
        "macos-latest",
        "windows-latest",
    }
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])


def test_portable_file_helpers(tmp_path: Path) -> None:
    """A read-only cache object can be deleted; a file system without inodes still signs."""
    import os
    from types import SimpleNamespace

    from cpv_hooks.fsutil import inode, remove

    obj = tmp_path / "obj"
    obj.write_bytes(b"x")
    os.chmod(obj, 0o444)
    remove(obj)
    assert not obj.exists()
    remove(obj)  # already gone: fine
    assert inode(SimpleNamespace(st_ino=0, st_ctime_ns=42)) == 42  # type: ignore[arg-type]
    assert inode(os.stat(tmp_path)) == os.stat(tmp_path).st_ino != 0
