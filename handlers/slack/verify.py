"""Slack request verification *before* anything parses the body.

slack-bolt parses the body (JSON, form, the ``payload`` field) while building its request
object, before its own signature middleware runs: an unsigned request with a non-JSON
``payload`` or a non-numeric timestamp made it raise (HTTP 500). This check runs first,
on the raw bytes (Slack's v0 scheme, as slack_sdk's ``SignatureVerifier`` computes it, but
without decoding the body first: that raised on non-UTF-8 bytes); bolt's check still runs after.
"""
from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE = 5 * 60  # Slack's own rule: refuse requests older (or newer) than five minutes


def refusal(signing_secret: str, headers, body: bytes, now: float | None = None) -> str | None:
    """Why the request must be refused (``None`` when it is correctly signed and fresh)."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not timestamp or not signature:
        return "missing signature"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed timestamp"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE:
        return "stale timestamp"
    digest = hmac.new(signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("ascii", errors="replace")):
        return "bad signature"
    return None
