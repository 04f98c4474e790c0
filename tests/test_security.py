"""Unsigned, stale and oversized requests; who may use /pending's "more"; secrets never logged."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

import requests

from bridge.slack_ui.pending import MORE_ACTION_ID, PendingFilter
from emulators.line_webhooks import send_webhook
from emulators.slack_events import sign
from tests.conftest import HANAKO, LINE_SECRET, ROOT, SLACK_SECRET, STAFF, TRIAGE, run_log, wait_until

CRASHING_BOLT = [  # bodies that made bolt raise while parsing, before its signature check (HTTP 500)
    (b"payload=not-json", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    (b"[1, 2]", "application/json"),
    (b"\xff\xfe", "application/json"),
]


def _post_slack(h, body: bytes, ctype: str, headers: dict[str, str]):
    return requests.post(h.url + "/slack/events", data=body, headers={"Content-Type": ctype, **headers}, timeout=10)


def test_unsigned_and_malformed_slack_requests_are_refused_before_parsing(h, caplog):
    caplog.set_level(logging.WARNING, logger="handlers.app")
    now = str(int(time.time()))
    for body, ctype in CRASHING_BOLT:
        for headers in ({}, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
                        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
                        {"X-Slack-Request-Timestamp": "1" * 40, "X-Slack-Signature": "v0=x"}):
            resp = _post_slack(h, body, ctype, headers)
            assert resp.status_code == 401, (body, headers, resp.status_code, resp.text[:200])
    assert "Slack request refused" in caplog.text


def test_stale_slack_requests_are_refused_even_when_correctly_signed(h):
    thread = h.thread_of(h.friend_says(HANAKO, "こんにちは")["source"]["userId"])
    old = int(time.time()) - 6 * 60
    _, resp = h.slack_sender.user_message(TRIAGE, STAFF, "古いリクエスト", thread_ts=thread, timestamp=old)
    assert resp.status_code == 401
    _, fresh = h.slack_sender.user_message(TRIAGE, STAFF, "新しいリクエスト", thread_ts=thread)
    assert fresh.status_code == 200
    assert wait_until(lambda: "新しいリクエスト" in h.line.delivered_texts(HANAKO))
    assert "古いリクエスト" not in h.line.delivered_texts(HANAKO)


def test_signed_bodies_bolt_cannot_parse_get_4xx_not_5xx(h):
    for body, ctype in CRASHING_BOLT:
        ts = int(time.time())
        resp = _post_slack(h, body, ctype, {"X-Slack-Request-Timestamp": str(ts),
                                            "X-Slack-Signature": sign(SLACK_SECRET, ts, body)})
        assert 400 <= resp.status_code < 500, (body, resp.status_code)


def test_oversized_bodies_get_413(h):
    big = b'{"events": [' + b'"' + b"x" * (3 * 1024 * 1024) + b'"]}'
    assert send_webhook(h.url + "/line/webhook", LINE_SECRET, big).status_code == 413
    ts = int(time.time())
    resp = _post_slack(h, big, "application/json", {"X-Slack-Request-Timestamp": str(ts),
                                                    "X-Slack-Signature": sign(SLACK_SECRET, ts, big)})
    assert resp.status_code == 413


def test_unsigned_line_webhooks_are_refused(h):
    body = h.webhooks.body([h.webhooks.text(HANAKO, "偽物")])
    assert send_webhook(h.url + "/line/webhook", LINE_SECRET, body, signature="AAAA").status_code == 400
    assert send_webhook(h.url + "/line/webhook", "wrong-secret", body).status_code == 400


def test_pending_more_button_checks_membership(h):
    h.friend_says(HANAKO, "こんにちは")
    thread = h.thread_of(HANAKO)
    value = PendingFilter(offset=0).encode()
    h.slack.responses.clear()
    assert h.slack_sender.block_action("UOUTSIDER1", "COTHER01", thread, MORE_ACTION_ID, value=value).status_code == 200
    assert wait_until(lambda: h.slack.responses)
    refused = json.dumps(h.slack.responses[-1], ensure_ascii=False)
    assert "メンバーだけ" in refused and "山田" not in refused
    h.slack.responses.clear()
    assert h.slack_sender.block_action(STAFF, TRIAGE, thread, MORE_ACTION_ID, value=value).status_code == 200
    assert wait_until(lambda: h.slack.responses)
    assert "山田 花子" in json.dumps(h.slack.responses[-1], ensure_ascii=False)


def test_no_secret_in_any_log_line_of_an_end_to_end_run(redis_url):
    """The Procfile's web + worker at LOG_LEVEL=DEBUG (the sandbox demo): grep their logs for every secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_CHANNEL", "SLACK_", "BRIDGE_"))}
    log = run_log("security-demo-procs.log")
    env.update(REDIS_URL=redis_url, LOG_LEVEL="DEBUG", PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
               DEMO_PROCS_LOG=str(log))
    run = subprocess.run([sys.executable, "-m", "devtools.demo"], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=150)
    assert run.returncode == 0, run.stdout + run.stderr
    logs = log.read_text(encoding="utf-8", errors="replace") + run.stdout + run.stderr
    assert " DEBUG " in logs or '"level": "DEBUG"' in logs  # the run really logged at DEBUG
    for secret in ("demo-line-secret", "demo-line-token", "xoxb-demo", "demo-signing-secret"):
        assert secret not in logs, f"{secret!r} appears in the logs"


def test_redaction_masks_secrets_logged_by_mistake(settings, capsys):
    from bridge.logs import RedactingFormatter

    fmt = RedactingFormatter("%(message)s", secrets=[settings.slack_bot_token, settings.slack_signing_secret])
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s secret %s header %s",
                               (settings.slack_bot_token, settings.slack_signing_secret,
                                "Authorization: Bearer abc.def-ghi"), None)
    out = fmt.format(record)
    assert settings.slack_bot_token not in out and settings.slack_signing_secret not in out and "abc.def" not in out
