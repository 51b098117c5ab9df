"""Start-up: the modules every download and push imports load no pydantic, boto3 or rich
(stored settings, the S3 client and progress bars load them when they are used)."""

from __future__ import annotations

import subprocess
import sys


def test_command_modules_import_no_heavy_library() -> None:
    code = (
        "import sys, cpv_hooks.cli, cpv_hooks.checkpoints, cpv_hooks.push, cpv_hooks.storage;"
        "print(sorted({'pydantic', 'boto3', 'rich', 'botocore'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
