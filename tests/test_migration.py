"""A Redis written by the single-account (v1) code is migrated to the account layout (v2), once.

The v1 state is ``tests/fixtures/redis_v1_single_account.json``: a namespace dumped after
the v1 code played a week of traffic through its real HTTP endpoints (see its README).
"""
from __future__ import annotations

import json
import threading

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bridge.keys import Keys
from bridge.migrate import NAME, migrate
from bridge.runtime import Runtime
from bridge.store import Store
from bridge.store.backlog import Backlog
from bridge.triage.marks import default_marks
from tests.conftest import STAFF, TRIAGE, cid, wait_until
from tests.fixtures.v1_dump import load_v1_dump, restore_v1_dump

DUMP = load_v1_dump()
EXPECTED = DUMP["header"]["conversations"]


def _restore(r: redis.Redis, namespace: str) -> None:
    restore_v1_dump(r, DUMP, namespace)
    r.delete(Keys(namespace).migration(name=NAME))


def test_every_conversation_survives_with_its_number_thread_mark_assignee_notes_and_history(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    ns = "lsbmig1"
    _restore(r, ns)
    assert migrate(r, ns) is True
    store = Store(r, Keys(ns))
    for exp in EXPECTED:
        conv = store.get_by_number(exp["number"])
        assert conv is not None, exp
        assert (conv.conv_id, conv.account, conv.line_id) == (cid(exp["conv_id"]), "default", exp["conv_id"])
        assert (conv.name, conv.mark, conv.assignee, conv.thread_ts, conv.channel, conv.blocked) == (
            exp["name"], exp["mark"], exp["assignee"], exp["thread_ts"], exp["channel"], exp["blocked"])
        assert bool(conv.waiting_since) == exp["waiting"]
        assert store.get_by_thread(exp["channel"], exp["thread_ts"]).conv_id == conv.conv_id
        assert [n["text"] for n in store.notes(conv.conv_id)] == exp["notes"]
        assert len(store.events(conv.conv_id)) == exp["events"]
    # The message map still finds every LINE message and every Slack message, both ways.
    for entry in DUMP["keys"]:
        key = entry["key"]
        if key.startswith("{ns}:v1:msg:line:"):
            mapped = store.get_line_message("default", key.rsplit(":", 1)[1])
            assert mapped["slack_ts"] == entry["value"]["slack_ts"]
            assert mapped["conv_id"] == cid(entry["value"]["conv_id"])
        if key.startswith("{ns}:v1:msg:slack:"):
            _, _, _, _, channel, ts = key.split(":")
            assert store.get_slack_message(channel, ts)["conv_id"] == cid(entry["value"]["conv_id"])
    # The /pending backlog is rebuilt in the same order as before.
    backlog = Backlog(r, Keys(ns), default_marks(), ["default"])
    backlog.rebuild()
    assert [row.number for row in backlog.query().rows] == [2, 1, 5]
    # Idempotency records of sends survive (a replayed reply is not pushed twice).
    sends = [e for e in DUMP["keys"] if e["key"].startswith("{ns}:v1:line-send:")]
    assert sends and all(store.get_record("line_send", e["key"].split(":", 3)[3]) for e in sends)
    # The old keys are kept for a week (rollback), then expire.
    old = [k for k in r.scan_iter(match=f"{ns}:v1:*")]
    assert old and all(0 < r.pttl(k) <= 7 * 24 * 3600 * 1000 for k in old)


def test_processes_starting_together_migrate_exactly_once(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    ns = "lsbmig2"
    _restore(r, ns)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        barrier.wait()
        results.append(migrate(client, ns))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
    assert migrate(r, ns) is False  # and never again
    assert Store(r, Keys(ns)).get_by_number(1).conv_id == cid(EXPECTED[0]["conv_id"])


def test_queued_v1_work_moves_to_the_new_streams_and_is_woken(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    ns = "lsbmig3"
    _restore(r, ns)
    friend = EXPECTED[0]["conv_id"]
    # A LINE event the v1 web tier accepted but no worker processed yet (v1 item format).
    item = {"id": "line:EvPENDING", "stream": f"line-{friend}", "kind": "line_event", "accepted_at": 1.0,
            "payload": {"type": "message", "webhookEventId": "EvPENDING", "source": {"type": "user", "userId": friend},
                        "message": {"type": "text", "id": "9001", "text": "まだですか"}, "timestamp": 1}}
    r.rpush(f"{ns}:v1:inbox:line-{friend}", json.dumps(item))
    queue = Queue(f"{ns}-q", connection=redis.Redis.from_url(redis_url), serializer=JSONSerializer)
    migrate(r, ns, queue)
    moved = [json.loads(x) for x in r.lrange(f"{ns}:v2:inbox:line-{cid(friend)}", 0, -1)]
    assert moved == [{**item, "stream": f"line-{cid(friend)}", "payload": {"account": "default", "event": item["payload"]}}]
    assert [j.args for j in queue.jobs] == [[f"line-{cid(friend)}"]]


def test_a_migrated_deployment_keeps_working_end_to_end(h, settings):
    """Through the real HTTP stack and workers: old threads keep receiving, numbering continues."""
    r = h.store.r
    _restore(r, settings.namespace)
    Runtime(settings).prepare()
    hanako = EXPECTED[0]
    h.line.add_user(hanako["conv_id"], hanako["name"])
    h.friend_says(hanako["conv_id"], "先日はありがとうございました")
    assert wait_until(lambda: any(m["text"] == "先日はありがとうございました"
                                  for m in h.slack.messages(TRIAGE, hanako["thread_ts"])), timeout=15)
    assert h.slack.messages(TRIAGE) == []  # no second parent: the old thread is reused
    h.staff_says(hanako["thread_ts"], "またのご来店をお待ちしております", user=STAFF)
    assert h.line.wait_for(lambda emu: "またのご来店をお待ちしております" in emu.delivered_texts(hanako["conv_id"]), timeout=15)
    newcomer = "U" + "9" * 32
    h.line.add_user(newcomer, "新しい 友だち")
    h.friend_says(newcomer, "はじめまして")
    h.thread_of(newcomer)
    assert h.conv(newcomer).number == len(EXPECTED) + 1
