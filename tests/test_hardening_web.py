"""What the bridge shows to the outside and to operators: no secrets, no infrastructure details,
bounded metrics, and no replayed webhook events.

* ``/healthz`` is public: it says Redis is unavailable, not where Redis is or what failed.
* ``/metrics`` needs ``BRIDGE_METRICS_TOKEN`` (or a direct loopback request); its labels are bounded.
* A ``REDIS_URL`` whose password contains ``@`` is shown as ``redis://user:[redacted]@host:port/db``.
* The log formatter also masks ``BRIDGE_MEDIA_SECRET`` and forwarding URLs.
* A correctly signed LINE event older than ``BRIDGE_EVENT_MAX_AGE`` (a replay) is not processed.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bridge import metrics
from bridge.runtime import Runtime
from bridge.settings import Settings, SettingsError
from emulators.server import serve_in_thread
from tests.conftest import HANAKO, ROOT, ready_app, wait_until


@pytest.fixture()
def serve(settings):
    """Serve a web app built from ``settings`` changed by ``changes`` (its own namespace)."""

    servers = []

    def start(ready: bool = True, **changes):
        """``ready=False``: serve at once, as the process does while its start-up work still waits."""
        from handlers.app import create_app

        app_settings = dataclasses.replace(settings, namespace="lsbweb" + uuid.uuid4().hex[:6], **changes)
        servers.append(serve_in_thread((ready_app if ready else create_app)(app_settings)))
        return servers[-1].url
    yield start
    for server in servers:
        server.stop()


# -- /healthz ------------------------------------------------------------------------------------
def test_healthz_does_not_tell_where_redis_is_or_what_failed(serve, caplog):
    caplog.set_level(logging.WARNING)
    url = serve(ready=False, redis_url="redis://127.0.0.1:1/0")   # never ready: start-up waits for Redis
    resp = requests.get(url + "/healthz", timeout=10)
    assert resp.status_code == 503
    assert resp.json() == {"ok": False, "redis": "unavailable"}
    assert "127.0.0.1" not in resp.text and ":1" not in resp.text
    assert any("127.0.0.1:1" in r.getMessage() for r in caplog.records if r.name.startswith("handlers"))  # for operators


# -- /metrics ------------------------------------------------------------------------------------
def test_metrics_need_the_bearer_token_when_one_is_set(serve):
    token = "metrics-" + uuid.uuid4().hex
    url = serve(metrics_token=token) + "/metrics"
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(url, headers={"Authorization": "Bearer wrong-" + token}, timeout=10).status_code == 403
    assert requests.get(url, headers={"Authorization": token}, timeout=10).status_code == 403
    resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200 and "bridge_queue_depth" in resp.text


def test_metrics_without_a_token_answer_only_a_direct_loopback_request(serve):
    url = serve() + "/metrics"
    assert requests.get(url, timeout=10).status_code == 200   # a scraper on the same host
    for proxied in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
        resp = requests.get(url, headers=proxied, timeout=10)   # relayed by a reverse proxy: from anywhere
        assert resp.status_code == 403 and "bridge_" not in resp.text


def test_a_short_metrics_token_stops_start_up(bridge_env):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**bridge_env, "BRIDGE_METRICS_TOKEN": "short"})
    assert "BRIDGE_METRICS_TOKEN" in str(err.value) and "short" not in str(err.value)


def test_metric_labels_carry_no_ids_or_urls_and_stay_bounded(settings):
    rt = Runtime(dataclasses.replace(settings, namespace="lsbmetrics" + uuid.uuid4().hex[:6]))
    message_id = "548937512345678"
    try:
        metrics.bind(rt.redis, rt.keys)
        # The reasons the domain passes as "method" when a platform makes it wait (bridge.domain).
        for _ in range(3):
            metrics.rate_limit_wait(f"LINE content {message_id} is still processing", 3)
            metrics.rate_limit_wait(f"LINE content {int(message_id) + 1} is still processing", 3)
        metrics.rate_limit_wait("forward", 2)
        metrics.count("deliveries", kind="U" + "4f" * 16, outcome="https://tool.example/hook/s3cr3t-path?key=q")
        for i in range(metrics.MAX_SERIES + 50):   # series recorded by an older version
            rt.redis.hincrbyfloat(rt.keys.metrics(), f"legacy|id=U{i:032x}", 1)
        text = metrics.exposition(rt)[0].decode()
        assert 'bridge_rate_limit_waits_total{method="LINE content"} 6.0' in text
        assert 'bridge_rate_limit_waits_total{method="forward"} 1.0' in text
        assert message_id not in text and "4f4f4f4f" not in text and "s3cr3t" not in text and "tool.example" not in text
        assert len([line for line in text.splitlines() if line.startswith("bridge_legacy_total{")]) == metrics.MAX_SERIES
    finally:
        metrics._redis = None
        for key in rt.redis.scan_iter(match=rt.keys.prefix + "*"):
            rt.redis.delete(key)


# -- REDIS_URL with "@" in its password ----------------------------------------------------------------
PASSWORD = "p@ss:w0rd-" + uuid.uuid4().hex[:6]


def test_a_bad_redis_url_with_an_at_sign_in_its_password_is_shown_redacted(bridge_env):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**bridge_env, "REDIS_URL": f"http://:{PASSWORD}@redis.example:6379/0"})
    assert "http://:[redacted]@redis.example:6379/0" in str(err.value)
    assert "w0rd" not in str(err.value) and "ss@" not in str(err.value)
    # Not percent-encoded, a '/' ends the host part early for URL parsers: the password still never shows.
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**bridge_env, "REDIS_URL": "redis+sentinel://:pa/ssw0rd@s1:26379,s2:26379/svc"})
    assert "REDIS_URL" in str(err.value) and "pa/" not in str(err.value) and "ssw0rd" not in str(err.value), str(err.value)
    from bridge.redisconn import redacted

    assert redacted("redis://:pa/ssw0rd@redis.example:6379/0") == "redis://:[redacted]@redis.example:6379/0"


@pytest.fixture()
def redis_user(settings):
    """A Redis ACL user whose password contains '@' and ':' (redis-py splits at the last '@')."""
    import redis as redis_lib

    admin = redis_lib.Redis.from_url(settings.redis_url)
    name = "lsbuser" + uuid.uuid4().hex[:6]
    admin.acl_setuser(name, enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"], channels=["*"], categories=["+@all"])
    parts = urlsplit(settings.redis_url)
    url = f"redis://{name}:{PASSWORD}@{parts.hostname}:{parts.port}{parts.path}"
    assert redis_lib.Redis.from_url(url).ping()   # the URL really works as written
    yield name, url, f"redis://{name}:[redacted]@{parts.hostname}:{parts.port}{parts.path}"
    admin.acl_deluser(name)


def test_redis_url_password_with_an_at_sign_is_redacted_in_doctor_admin_and_logs(redis_user, settings, bridge_env):
    from bridge.doctor import check_redis
    from bridge.logs import RedactingFormatter, configured_secrets

    name, url, shown = redis_user
    lines = [c.line() for c in check_redis(Runtime(dataclasses.replace(settings, redis_url=url)), "en")]
    assert any(shown in line for line in lines), lines
    env = {**os.environ, **bridge_env, "REDIS_URL": url, "BRIDGE_LANGUAGE": "en"}
    out = subprocess.run([sys.executable, "-m", "bridge.admin", "status"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and shown in out.stdout, out.stdout + out.stderr
    formatter = RedactingFormatter("%(message)s", configured_secrets({**bridge_env, "REDIS_URL": url}))
    record = logging.LogRecord("bridge.x", logging.DEBUG, __file__, 1, "connecting to %s (password %s)", (url, PASSWORD), None)
    logged = formatter.format(record)
    for text in ("\n".join(lines), out.stdout + out.stderr, logged):
        assert "w0rd" not in text and "p@ss" not in text


# -- log redaction: media secret, forwarding URLs ---------------------------------------------------------
def test_the_log_formatter_masks_the_media_secret_and_forwarding_urls(bridge_env):
    from bridge.logs import RedactingFormatter, configured_secrets

    media_secret = "media-" + uuid.uuid4().hex
    forward = f"https://tool.example/hook/{uuid.uuid4().hex}?key=q{uuid.uuid4().hex[:12]}"
    env = {**bridge_env, "BRIDGE_MEDIA_SECRET": media_secret, "LINE_FORWARD_URLS": forward}
    formatter = RedactingFormatter("%(message)s", configured_secrets(env))
    path_and_query = forward.split("tool.example", 1)[1]
    for message in (f"signing with {media_secret}", f"POST {forward} failed", f"url: {path_and_query}",
                    f"key={forward.split('key=')[1]}"):
        record = logging.LogRecord("bridge.x", logging.DEBUG, __file__, 1, message, None, None)
        text = formatter.format(record)
        assert media_secret not in text and forward.split("/hook/")[1].split("?")[0] not in text
        assert forward.split("key=")[1] not in text


# -- replayed LINE events -----------------------------------------------------------------------------------
def test_a_replayed_old_unfollow_does_not_block_replies(h):
    h.friend_says(HANAKO, "予約の件です")
    thread = h.thread_of(HANAKO)
    replay = h.webhooks.unfollow(HANAKO)   # a signed body, replayed after the dedupe window forgot it
    replay["timestamp"] = int((time.time() - 4 * 86400) * 1000)
    resp = h.send_line(replay)
    assert resp.status_code == 200   # answered, so LINE (or whoever replays) does not insist
    h.friend_says(HANAKO, "まだ友だちです")   # the same conversation's stream, after the replay
    assert wait_until(lambda: any("まだ友だちです" in (m.get("text") or "") for m in h.thread_messages(thread)))
    h.staff_says(thread, "ご連絡ありがとうございます")
    assert wait_until(lambda: "ご連絡ありがとうございます" in h.line.delivered_texts(HANAKO))
    assert not h.conv(HANAKO).blocked


def test_a_redelivery_within_the_window_is_still_processed(h):
    late = h.webhooks.text(HANAKO, "二日遅れで届きました", redelivery=True)   # LINE redelivering after an outage
    late["timestamp"] = int((time.time() - 2 * 86400) * 1000)
    assert h.send_line(late).json()["accepted"] == 1
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: any("二日遅れで届きました" in (m.get("text") or "") for m in h.thread_messages(thread)
                                  + h.slack.messages("CTRIAGE01")))


# -- how a URL is shown -------------------------------------------------------------------------------------
def test_a_url_is_shown_by_scheme_and_host_only():
    from bridge.urls import scrub_urls, shown_url

    assert shown_url("https://user:pa55@tool.example:8443/hook/t0ken?key=k3y#frag") == "https://tool.example:8443"
    assert shown_url("http://[::1]:9000/x") == "http://[::1]:9000"
    assert shown_url("not a url") == "(invalid URL)" and shown_url("http://[::1/x") == "(invalid URL)"
    reason = "forward_gave_up: https://tool.example/hook/t0ken?key=k3y: HTTP 503 (see http://u:p@h:1/a)."
    assert scrub_urls(reason) == "forward_gave_up: https://tool.example: HTTP 503 (see http://h:1)."


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(alphabet=st.characters(min_codepoint=0)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=60)


@hypothesis_settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(value=_json_values, ascii_only=st.booleans(), depth=st.integers(0, 40))
def test_a_body_said_to_need_no_cleaning_decodes_to_exactly_what_cleaning_would_store(value, ascii_only, depth):
    """The LINE webhook skips the inbox's clean() walk for a body that needs none: such a body must never hold a
    lone surrogate, a non-finite number or nesting past MAX_DEPTH (everything else may fall back to cleaning)."""
    from bridge.safe_json import clean, loads_noting_cleanliness

    for _ in range(depth):
        value = {"e": [value]} if depth % 2 else [value]
    text = json.dumps({"events": [value]}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    decoded, needs_no_cleaning = loads_noting_cleanliness(text)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(json.loads(text), sort_keys=True)
    if needs_no_cleaning:
        assert json.dumps(clean(decoded), sort_keys=True) == json.dumps(decoded, sort_keys=True)


def test_an_ordinary_line_text_event_needs_no_cleaning_and_hostile_ones_do():
    from bridge.safe_json import loads_noting_cleanliness
    from emulators.line_webhooks import WebhookFactory

    factory = WebhookFactory(emulator=None)
    user = "U" + "e310fe28" * 4  # hex ids contain "e" and digits: not a number's exponent
    assert loads_noting_cleanliness(factory.body([factory.text(user, "明日の予約を15時に変更できますか？ 1e999")]))[1]
    for hostile in ('{"events":[{"t":"a\\ud800"}]}', '{"events":[{"t":NaN}]}', '{"events":[{"t":-Infinity}]}',
                    '{"events":[{"t":1e999}]}', '{"events":[{"t":1' + "0" * 400 + '.0}]}', "[" * 40 + "]" * 40):
        assert not loads_noting_cleanliness(hostile.encode())[1], hostile
    assert not loads_noting_cleanliness('{"events":[{"t":"a\ud800"}]}'.encode("utf-8", "surrogatepass"))[1]
    with pytest.raises(ValueError):
        loads_noting_cleanliness(b'{"events": [}')
