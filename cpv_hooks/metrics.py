"""Reading metrics from a training log (``metrics.log``)."""

from __future__ import annotations

import re
from typing import Any

from cpv_hooks.dvc.safety import loads_json_limited
from cpv_hooks.errors import ValidationError

METRIC_NAME = re.compile(r"[A-Za-z_][\w./-]*")  # what a metrics.log line can name
_METRIC_RE = re.compile(
    rf"({METRIC_NAME.pattern})(?:\s*[:=]\s*|\s+)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.])"
)
MAX_METRICS = 50


def parse_metrics(text: str) -> dict[str, float]:
    """The last value of each metric in a log (``key: 0.9``, ``key=0.9``, ``key 0.9``, JSON)."""
    found: dict[str, float] = {}
    for line in text.splitlines()[-2000:]:
        line = line.strip()
        items: list[tuple[str, Any]] = []
        if line.startswith("{"):
            try:
                items = list(loads_json_limited(line, "metrics", depth=4).items())
            except (ValidationError, AttributeError):
                items = []
        if not items:
            items = _METRIC_RE.findall(line)
        for key, value in items:
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if key in found or len(found) < MAX_METRICS:
                found[key] = number
    return found
