"""A local emulator of the Slack Web API, one module per method family.

The unmodified ``slack_sdk.WebClient(token=..., base_url=emulator_url + "/api/")`` (and slack-bolt
apps built on it) can talk to :class:`SlackEmulator`.  Every call is recorded
(:attr:`SlackEmulator.calls`), validated against Slack's documented argument rules and answered
with Slack's real response shapes and error codes.  Failures (rate limits, HTTP 5xx, API errors,
slow answers, "performed but the response was lost") can be injected with
:meth:`SlackEmulator.fail_next`; Slack's own rate limits can be switched on with
:meth:`SlackEmulator.set_rate_limits`.

Reference: https://docs.slack.dev/reference/methods (one page per method, "Errors" section).

Wire-format notes (as the real Web API behaves):

* Methods are ``POST /api/<method>`` (``GET`` with a query string also works).  Bodies may be
  ``application/x-www-form-urlencoded``, ``multipart/form-data`` or ``application/json``; with a
  form body, structured arguments (``blocks``, ``attachments``, ``metadata``, ``view``, ``files``)
  are JSON strings.  https://docs.slack.dev/apis/web-api/#posting-json
* Application-level errors are HTTP 200 with ``{"ok": false, "error": "<code>"}``; rate limiting
  is HTTP 429 with a ``Retry-After`` header.  https://docs.slack.dev/apis/web-api/rate-limits
* Warnings are returned as a top-level comma separated ``warning`` string *and* as
  ``response_metadata.warnings``.
  https://api.slack.com/changelog/2016-09-28-response-metadata-is-on-the-way

Modules: :mod:`.core` (state, public API), :mod:`.http` (dispatch, auth, faults, recording),
:mod:`.control` (``/_emulator/...``), :mod:`.store` (message storage), :mod:`.ratelimit`,
:mod:`.blockkit`, and the method families :mod:`.chat`, :mod:`.reactions`, :mod:`.directory`,
:mod:`.views`, :mod:`.files`.

Run stand-alone with ``python -m emulators.slack_api --host 127.0.0.1 --port 9002``.
"""
from __future__ import annotations

# Importing the method-family modules registers their Web API methods.
from emulators.slack import chat, directory, files, reactions, views  # noqa: F401
from emulators.slack.cli import main
from emulators.slack.core import SlackEmulator
from emulators.slack.ratelimit import RateLimitStats, TokenBucket
from emulators.slack.util import DEFAULT_SCOPES, RecordedCall, rich_text_blocks

__all__ = ["DEFAULT_SCOPES", "RateLimitStats", "RecordedCall", "SlackEmulator", "TokenBucket", "main",
           "rich_text_blocks"]
