"""GET /metrics: Prometheus text with webhook latency, deliveries, queues, dead letters, LINE quota."""
from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid

import requests

from bridge import metrics
from bridge.runtime import Runtime
from tests.conftest import HANAKO, wait_until


def _scrape(h) -> str:
    resp = requests.get(h.url + "/metrics", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    return resp.text


def _value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:]+)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name and all(f'{k}="{v}"' in (m.group(2) or "") for k, v in labels.items()):
            return float(m.group(3))
    return None


def test_metrics_show_webhooks_deliveries_queues_and_quota(h):
    h.line.set_monthly_quota(1000)
    h.friend_says(HANAKO, "こんにちは")
    thread = h.thread_of(HANAKO)
    h.staff_says(thread, "いらっしゃいませ")
    assert wait_until(lambda: "いらっしゃいませ" in h.line.delivered_texts(HANAKO))
    assert wait_until(lambda: (_value(_scrape(h), "bridge_deliveries_total", kind="slack_message", outcome="ok") or 0) >= 1)
    text = _scrape(h)
    assert (_value(text, "bridge_webhook_seconds_count", source="line") or 0) >= 1
    assert (_value(text, "bridge_webhook_seconds_count", source="slack") or 0) >= 1
    assert (_value(text, "bridge_webhook_events_total", source="line", outcome="accepted") or 0) >= 1
    assert (_value(text, "bridge_deliveries_total", kind="line_event", outcome="ok") or 0) >= 1
    assert _value(text, "bridge_queue_depth", direction="line_to_slack") is not None
    assert _value(text, "bridge_queue_oldest_age_seconds", direction="slack_to_line") is not None
    assert _value(text, "bridge_dead_letters_kept") is not None
    assert _value(text, "bridge_line_quota_used", account="default") is not None


def test_queue_depth_and_oldest_age_per_direction(settings):
    rt = Runtime(dataclasses.replace(settings, namespace="lsbmetrics" + uuid.uuid4().hex[:6]))
    try:
        old = json.dumps({"id": "x:1", "kind": "line_event", "payload": {}, "accepted_at": time.time() - 90})
        new = json.dumps({"id": "x:2", "kind": "line_event", "payload": {}, "accepted_at": time.time()})
        rt.redis.rpush(rt.keys.inbox(stream="line-default-U1"), old, new)
        rt.redis.rpush(rt.keys.inbox(stream="slack-C1-1.2"), new)
        rt.redis.set(rt.keys.metrics_quota(account="default"), 42)
        metrics.bind(rt.redis, rt.keys)
        metrics.rate_limit_wait("chat.postMessage", 3.5)
        metrics.dead_letter("slack_message")
        text = metrics.exposition(rt)[0].decode()
        assert _value(text, "bridge_queue_depth", direction="line_to_slack") == 2
        assert _value(text, "bridge_queue_depth", direction="slack_to_line") == 1
        assert 89 <= _value(text, "bridge_queue_oldest_age_seconds", direction="line_to_slack") < 120
        assert _value(text, "bridge_rate_limit_wait_seconds_total", method="chat.postMessage") == 3.5
        assert _value(text, "bridge_rate_limit_waits_total", method="chat.postMessage") == 1
        assert _value(text, "bridge_dead_letters_total", kind="slack_message") == 1
        assert _value(text, "bridge_line_quota_used", account="default") == 42
    finally:
        metrics._redis = None
        for key in rt.redis.scan_iter(match=rt.keys.prefix + "*"):
            rt.redis.delete(key)
