"""Operation logs under ``<config dir>/logs/``, with anything that looks like a secret redacted."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

_SECRETS = [
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(
        r"(?i)(secret[_-]?access[_-]?key|session[_-]?token|password|secret)"
        r"(\s*[=:]\s*|\"\s*:\s*\")[^\s\"']+"
    ),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
]


def redact(text: str) -> str:
    """``text`` with access keys, secrets and private keys replaced by ``***``."""
    for pattern in _SECRETS:
        text = pattern.sub(
            lambda m: (m.group(1) + m.group(2) + "***") if m.lastindex == 2 else "***", text
        )
    return text


class RedactingFilter(logging.Filter):
    """Redacts every record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup(path: Path, verbose: bool = False) -> None:
    """Send the ``cpv`` logger to ``path`` (0600, rotated), redacted."""
    logger = logging.getLogger("cpv")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 << 20, backupCount=3)
        os.chmod(path, 0o600)
    except OSError:
        return  # logging must never break an operation
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
