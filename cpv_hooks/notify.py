"""Webhook notifications (Slack-compatible JSON) when a version is published.

The URL comes from ``$CPV_NOTIFY_WEBHOOK``, else ``cpv config notify --webhook``. A failed
notification is reported as one warning line and never fails the push.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from cpv_hooks.errors import ValidationError

TIMEOUT = 5.0  # seconds: a slow webhook must not hold up a push


def webhook_url() -> str | None:
    """The configured webhook, or None."""
    from cpv_hooks.config import CPVConfig

    stored = CPVConfig().notify
    return os.environ.get("CPV_NOTIFY_WEBHOOK") or (stored.webhook if stored else "") or None


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError(
            f"webhook {parsed.scheme or url[:20]}://... is not an http(s) URL",
            "give the webhook URL your chat tool shows, e.g. https://hooks.slack.com/services/...",
        )
    return url


def message(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The Slack-compatible message for a published version of ``TEAM/MODEL``."""
    kind, tag = entry.get("kind", "model"), entry.get("tag")
    metrics = ", ".join(f"{k}={float(v):g}" for k, v in (entry.get("metrics") or {}).items())
    command = f"cpv {kind} download --registry {name} --tag {tag} -o {name.split('/')[-1]}-{tag}"
    text = (
        f"*{name}* {kind} version *{tag}* published by {entry.get('author')}: "
        f"{entry.get('message')}" + (f" ({metrics})" if metrics else "") + f"\n`{command}`"
    )
    return {"text": text}


def post(url: str, payload: dict[str, Any]) -> str | None:
    """POST ``payload`` as JSON; returns a one-line warning on failure, else None."""
    host = urllib.parse.urlsplit(url).hostname or "?"
    try:
        request = urllib.request.Request(
            check_url(url),
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except (OSError, ValueError, ValidationError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"notification to {host} failed ({reason}): check `cpv config notify`"
    return None


def notify(name: str, entries: list[dict[str, Any]], wanted: bool | None = None) -> list[str]:
    """Send one message per published version; returns the warnings.

    ``wanted``: None announces when a webhook is configured, False never, True requires one.
    """
    url = webhook_url() if wanted is not False else None
    if wanted and not url:
        return ["notify was asked for but no webhook is set: run `cpv config notify --webhook URL`"]
    if not url:
        return []
    return [w for e in entries if (w := post(url, message(name, e)))]
