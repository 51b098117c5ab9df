"""A hostile repo cannot hurt a teammate (docs/RELIABILITY.md, security).

An attacker with push access crafts content; a victim clones and runs the usual commands.
Each refusal is one line; nothing outside the victim's clone changes.
"""

from __future__ import annotations

from pathlib import Path

from conftest import BIN, git, run


def test_no_code_from_the_repo_runs(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    marker = tmp_path / "ran"
    for module in ("json", "tokenize", "subprocess"):
        (repo / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write('{module}')\n")
    git(repo, "add", "json.py", "tokenize.py", "subprocess.py")
    git(repo, "commit", "-m", "modules named like the standard library")
    assert not marker.exists()
    # values given to cpv init stay literal: cookiecutter does not render them as Jinja
    url = "/tmp/x{{7*7}}'{% raw %}.git"
    run(BIN / "cpv", "init", "-t", "vision", "-m", "literal", "--git-remote-url", url)
    assert git(tmp_path / "literal", "remote", "get-url", "origin").stdout.strip() == url
