"""Start-up stays fast on a big namespace: the one-time data work runs in the background.

The web process answers at once — /healthz, and LINE's webhooks — while the workers backfill
5,000 conversations from before the archive and /friend (transcript ids, ``history_since``, the
name index) in slices on the low queue; what staff read meanwhile reads the same; a worker killed
mid-backfill leaves it to continue, not restart. A web process that finds another process still
migrating the key layout says so on /healthz (503 and why) instead of hanging.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import contextmanager

import redis
import requests

from bridge.history import links
from bridge.keys import Keys
from bridge.migrate import NAME
from bridge.runtime import Runtime
from bridge.settings import Settings
from emulators.line_webhooks import WebhookFactory, send_webhook
from emulators.server import serve_in_thread
from emulators.slack_events import SlackEventSender
from tests.conftest import LINE_SECRET, SLACK_SECRET, STAFF, TRIAGE, wait_until
from tests.helpers import WorkerPool, seed_old_conversations

OLD = 5000


@contextmanager
def deployment_of_old_conversations(bridge_env, name: str, **env):
    """A namespace holding :data:`OLD` old conversations, then the web app started on it (no worker yet)."""
    env = {**bridge_env, "BRIDGE_NAMESPACE": f"lsb{name}" + uuid.uuid4().hex[:8], **env}
    settings = Settings.from_env(env)
    rt = Runtime(settings)
    old = seed_old_conversations(rt.redis, rt.keys, OLD, marks=rt.marks)
    from handlers.app import create_app

    server = serve_in_thread(create_app(settings))
    pool = WorkerPool(env, log_name=name)
    try:
        yield rt, server.url, pool, old
    finally:
        pool.stop_all()
        server.stop()
        rt.store.delete_namespace()


def walked(rt, old: list[dict]) -> int:
    """Old conversations the archive's backfill has reached (they have ``history_since``)."""
    pipe = rt.redis.pipeline(transaction=False)
    for o in old:
        pipe.hexists(rt.keys.conv(conv_id=o["conv_id"]), "history_since")
    return sum(pipe.execute())


def done(rt, name: str) -> bool:
    return rt.redis.get(rt.keys.migration(name=name)) == "done"


def history_page(base: str, settings: Settings, conv_id: str) -> str:
    url = links.history_url(settings, conv_id, STAFF, "")
    resp = requests.get(base + url[len(settings.public_base_url.rstrip("/")):], timeout=10)
    assert resp.status_code == 200
    return resp.text


def friend_search(base: str, slack_emu, text: str) -> str:
    sender = SlackEventSender(base + "/slack/events", slack_emu, signing_secret=SLACK_SECRET)
    return json.dumps(sender.command("/friend", text, user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)


def test_the_bridge_answers_at_once_while_old_conversations_are_backfilled_in_the_background(
        bridge_server, bridge_env, line_emu, slack_emu):
    with deployment_of_old_conversations(bridge_env, "boot", BRIDGE_BACKFILL_RATE="800") as (rt, base, pool, old):
        assert requests.get(base + "/healthz", timeout=10).json() == {"ok": True, "redis": "ok"}
        pool.start(1)
        assert wait_until(lambda: walked(rt, old) > 0, timeout=60)
        # While the workers backfill: the health check and a friend's webhook are answered at once,
        # and the friend's message reaches Slack (relay jobs go before the backfill's next slice).
        assert requests.get(base + "/healthz", timeout=2).status_code == 200
        friend, text = "U" + uuid.uuid4().hex, f"はじめまして {uuid.uuid4().hex[:6]}"
        line_emu.add_user(friend, "新しい 友だち")
        factory = WebhookFactory(line_emu)
        resp = send_webhook(base + "/line/webhook", LINE_SECRET, factory.body([factory.text(friend, text)]), timeout=2)
        assert resp.status_code == 200
        assert not done(rt, "archive-v1") and not done(rt, "friend-names")   # accepted while the backfill went on
        assert wait_until(lambda: any(text in json.dumps(m, ensure_ascii=False) for m in slack_emu.messages(TRIAGE)),
                          timeout=30)
        # Meanwhile an old conversation's history reads as it will afterwards (its old note included),
        # and /friend says that names of older conversations are still being made searchable.
        pending = next(o for o in reversed(old) if not rt.redis.hget(rt.keys.conv(conv_id=o["conv_id"]), "history_since"))
        page = history_page(base, rt.settings, pending["conv_id"])
        assert f"昔の質問 {pending['number']}" in page and f"昔のメモ {pending['number']}" in page
        if not done(rt, "friend-names"):
            assert "準備中" in friend_search(base, slack_emu, "旧友")
        # The backfill completes: every old conversation is found by name, its history starts where it did.
        assert wait_until(lambda: done(rt, "archive-v1") and done(rt, "friend-names"), timeout=120)
        sample = old[OLD // 2]
        found = friend_search(base, slack_emu, sample["name"])
        assert f"#{sample['number']} {sample['name']}" in found and "準備中" not in found
        page = history_page(base, rt.settings, sample["conv_id"])
        assert f"昔の答え {sample['number']}" in page and f"昔のメモ {sample['number']}" in page
        assert "この会話の記録は" in page
        assert walked(rt, old) == OLD


def test_a_worker_killed_mid_backfill_leaves_it_to_be_continued_not_restarted(bridge_server, bridge_env, slack_emu):
    with deployment_of_old_conversations(bridge_env, "bootkill", BRIDGE_BACKFILL_RATE="800") as (rt, base, pool, old):
        state = rt.keys.backfill(name="archive-v1")
        first = pool.start(1)
        assert wait_until(lambda: walked(rt, old) >= 1000, timeout=60)
        pool.kill(first)                                     # SIGKILL, mid-slice: no clean-up runs
        assert not done(rt, "archive-v1") and walked(rt, old) < OLD
        before = int(rt.redis.hget(state, "processed") or 0)
        # Its lease outlives it (no second chain runs beside a slow one); let it expire as 60 s would.
        rt.redis.pexpire(rt.keys.backfill_lease(name="archive-v1"), 1)
        pool.start(1)
        assert wait_until(lambda: done(rt, "archive-v1"), timeout=120)
        assert walked(rt, old) == OLD
        assert int(rt.redis.hget(state, "resumes") or 0) >= 1
        assert int(rt.redis.hget(state, "processed")) < before + OLD   # continued from its cursor, not from the start
        sample = old[7]
        page = history_page(base, rt.settings, sample["conv_id"])
        assert page.count(f"昔のメモ {sample['number']}") == 1  # the batch redone after the kill added nothing twice


def test_a_web_process_waiting_for_another_process_migration_says_why_and_refuses_work_until_done(
        bridge_server, bridge_env, line_emu):
    env = {**bridge_env, "BRIDGE_NAMESPACE": "lsbwait" + uuid.uuid4().hex[:8]}
    settings = Settings.from_env(env)
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    done_key = Keys(settings.namespace).migration(name=NAME)
    r.set(done_key, "running:another-process", ex=120)      # another process is migrating the layout
    from handlers.app import create_app

    built: dict = {}
    thread = threading.Thread(target=lambda: built.update(app=create_app(settings)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout=15)
    assert "app" in built and time.monotonic() - started < 15  # it serves instead of waiting up to 300 s
    server = serve_in_thread(built["app"])
    try:
        health = requests.get(server.url + "/healthz", timeout=2)
        assert health.status_code == 503
        assert "waiting for the Redis layout migration v1-to-v2" in health.json()["starting"]
        friend = "U" + uuid.uuid4().hex
        factory = WebhookFactory(line_emu)
        body = factory.body([factory.text(friend, "こんにちは")])
        refused = send_webhook(server.url + "/line/webhook", LINE_SECRET, body, timeout=2)
        assert refused.status_code == 503 and refused.headers.get("Retry-After")   # LINE delivers it again
        r.set(done_key, "done")                              # the other process finished
        assert wait_until(lambda: requests.get(server.url + "/healthz", timeout=2).status_code == 200, timeout=15)
        assert send_webhook(server.url + "/line/webhook", LINE_SECRET, body, timeout=2).status_code == 200
    finally:
        server.stop()
        for key in r.scan_iter(match=Keys(settings.namespace).pattern()):
            r.delete(key)


def test_a_webhook_that_arrives_during_a_normal_start_waits_for_it_instead_of_a_503(bridge_env, line_emu, monkeypatch):
    """The start-up work usually takes well under a second, but on a loaded host it can outlast
    create_app's grace: a webhook arriving then waits for it (within LINE's 2 s) and is accepted."""
    env = {**bridge_env, "BRIDGE_NAMESPACE": "lsbslow" + uuid.uuid4().hex[:8]}
    settings = Settings.from_env(env)
    prepare, release = Runtime.prepare, threading.Event()

    def held_prepare(self, *args, **kwargs):
        release.wait(30)   # the start-up work is slow today
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(Runtime, "prepare", held_prepare)
    from handlers.app import create_app

    app = create_app(settings)
    assert not app.config["BRIDGE_BOOT"].ready.is_set()   # still starting when it begins to serve
    server = serve_in_thread(app)
    try:
        factory = WebhookFactory(line_emu)
        body = factory.body([factory.text("U" + uuid.uuid4().hex, "こんにちは")])
        answers: list = []
        sender = threading.Thread(target=lambda: answers.append(
            send_webhook(server.url + "/line/webhook", LINE_SECRET, body, timeout=5).status_code))
        sender.start()
        threading.Timer(0.3, release.set).start()   # the start-up work ends while the webhook waits
        sender.join(10)
        assert answers == [200]
    finally:
        release.set()
        server.stop()
        r = redis.Redis.from_url(settings.redis_url)
        for key in r.scan_iter(match=Keys(settings.namespace).pattern()):
            r.delete(key)
