"""Log formatting: secrets are never printed, JSON lines on request, one trace id per item.

* Every line goes through :class:`RedactingFormatter`: the configured secrets (channel
  secrets, access tokens, the bot token, the signing secret, ``BRIDGE_MEDIA_SECRET``,
  ``BRIDGE_METRICS_TOKEN``, Redis' password, and the secret-bearing parts of forwarding
  URLs: path, query, credentials) and anything shaped like a Slack token or an
  ``Authorization`` header are replaced by ``[redacted]`` — at every level, in messages
  and in tracebacks alike. Code shows those URLs through :mod:`bridge.urls` in the first
  place; this is the second line of defence.
* ``LOG_FORMAT=json`` prints one JSON object per line (``ts``, ``level``, ``logger``,
  ``msg``, ``trace``, ``exc``) for log pipelines.
* ``trace`` is the work item's id (``line-default:<webhookEventId>``, ``slack:<event_id>``):
  the web process logs it when it accepts the event, the worker while it processes the
  item, so one id follows an event from the webhook to its delivery.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from typing import Iterable

TRACE: contextvars.ContextVar[str] = contextvars.ContextVar("bridge_trace", default="")
_PATTERNS = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+")
MASK = "[redacted]"


def configured_secrets(env=None) -> list[str]:
    """The secrets of the configuration (all accounts), for redaction. Never raises."""
    env = os.environ if env is None else env
    from bridge.urls import url_secrets

    found = [env.get(n, "") for n in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_BOT_TOKEN",
                                      "SLACK_SIGNING_SECRET", "BRIDGE_MEDIA_SECRET", "BRIDGE_METRICS_TOKEN")]
    found += [s for u in (env.get("LINE_FORWARD_URLS") or "").split(",") if u.strip() for s in url_secrets(u.strip())]
    found += _redis_password(env.get("REDIS_URL") or "")
    try:
        from bridge.settings import Settings

        settings = Settings.from_env(env)
        found += [settings.slack_bot_token, settings.slack_signing_secret, settings.media_secret, settings.metrics_token]
        found += [s for a in settings.accounts for s in (a.secret, a.token)]
        found += [s for a in settings.accounts for u in a.forward for s in url_secrets(u)]
    except Exception:  # noqa: BLE001 - a broken configuration is reported elsewhere
        pass
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def _redis_password(url: str) -> list[str]:
    """Redis' password in ``REDIS_URL`` (the credentials end at the last ``@`` before the host)."""
    from urllib.parse import parse_qsl, unquote

    rest, _, query = url.partition("://")[2].partition("?")
    found = [v for k, v in parse_qsl(query) if k.lower() in ("password", "sentinel_password")]
    if "@" in rest:
        password = rest.rpartition("@")[0].partition(":")[2]
        found += [password, unquote(password)]
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _PATTERNS.sub(MASK, text)


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = (), json_lines: bool = False):
        super().__init__(fmt)
        self.secrets = list(secrets)
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        trace = getattr(record, "trace", "") or TRACE.get()
        if not self.json_lines:
            line = super().format(record)
            return redact(f"{line} [trace={trace}]" if trace else line, self.secrets)
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "msg": record.getMessage(), "pid": record.process}
        if trace:
            out["trace"] = trace
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, ensure_ascii=False), self.secrets)


def formatter() -> RedactingFormatter:
    """The formatter for this process's handlers (``LOG_FORMAT=json`` for JSON lines)."""
    json_lines = os.environ.get("LOG_FORMAT", "").strip().lower() == "json"
    return RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", configured_secrets(), json_lines)


def install(handlers: Iterable[logging.Handler]) -> None:
    fmt = formatter()
    for handler in handlers:
        handler.setFormatter(fmt)
