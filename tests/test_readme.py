"""The README's first command: the quickstart on the embedded default (local remote)."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    commands = [
        line.strip() for line in text.splitlines() if line.startswith("    python3 -m venv")
    ]
    assert commands[0].endswith("bash examples/quickstart.sh")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_quickstart_runs_on_a_fresh_home(tmp_path: Path, isolated_env: Path) -> None:
    (isolated_env / ".gitconfig").write_text("")  # no identity, no default branch
    proc = run("bash", ROOT / "examples" / "quickstart.sh")
    assert "byte-identical to the committed v0.1: OK" in proc.stdout
    assert (isolated_env / ".cpv" / "remotes" / "vision" / "resnet50" / "files").is_dir()
