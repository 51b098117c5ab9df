"""The one error boundary: known errors, Ctrl-C and bugs, in the CLI and the hooks."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, git, posix_only, write_model

from cpv_hooks.cli import main
from cpv_hooks.config import CPVConfig
from cpv_hooks.hooks import report


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom\nsecond line")  # stands in for a bug: nothing real raises it


def test_unexpected_error_is_one_line_naming_the_log(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(CPVConfig, "setup_aws_profile", _boom)
    assert main(["aws-config", "--bucket", "b"]) == 70
    err = capsys.readouterr().err
    log = isolated_env / ".cpv" / "logs" / "crash.log"
    assert err.count("\n") == 1 and str(log) in err and "-v" in err and "Traceback" not in err
    assert "RuntimeError: boom" in log.read_text() and "Traceback" in log.read_text()

    assert report(lambda: int(_boom() or 0), prefix="cpv") == 70  # the hooks' boundary
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(log) in err


@posix_only
def test_ctrl_c_is_interrupted_130_and_changes_nothing(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """cpv blocks reading a metrics FIFO; once it has opened it, it gets SIGINT."""
    repo = make_repo()
    model = tmp_path / "m.bin"
    write_model(model, seed=4)
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    before = (git(repo, "rev-parse", "HEAD").stdout, git(repo, "tag", "-l").stdout)
    proc = subprocess.Popen(
        [str(BIN / "cpv"), "model", "upload", str(model), "--metrics-file", str(fifo)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with open(fifo, "w"):  # returns once cpv has opened the FIFO: it is inside the command
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "cpv: interrupted\n"
    assert (git(repo, "rev-parse", "HEAD").stdout, git(repo, "tag", "-l").stdout) == before
    assert git(repo, "status", "--porcelain").stdout == ""
