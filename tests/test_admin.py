"""Operator commands: dead letters are kept and can be replayed without sending twice."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bridge.engine.work import slack_stream
from tests.conftest import HANAKO, ROOT, STAFF, TRIAGE, wait_until


def admin(bridge_env, *args):
    env = {**os.environ, **bridge_env}
    return subprocess.run([sys.executable, "-m", "bridge.admin", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_dead_letters_are_listed_and_replayed(h, bridge_env):
    h.friend_says(HANAKO, "こんにちは")
    thread = h.thread_of(HANAKO)
    message = h.slack.add_user_message(TRIAGE, STAFF, "お待たせしました", thread_ts=thread)
    payload = {"channel": TRIAGE, "ts": message["ts"], "thread_ts": thread, "user": STAFF, "text": "お待たせしました"}
    record = {"id": "slack:EvDEAD", "stream": slack_stream(TRIAGE, thread), "kind": "slack_message",
              "payload": payload, "reason": "LINE push: HTTP 503", "at": time.time()}
    h.store.r.rpush(h.store.keys.dead_letters(), json.dumps(record, ensure_ascii=False))

    listed = admin(bridge_env, "dead-letters")
    assert listed.returncode == 0 and "slack:EvDEAD" in listed.stdout and "HTTP 503" in listed.stdout
    status = admin(bridge_env, "status").stdout
    assert "dead letters: 1" in status and "backfills: archive-v1 " in status and "friend-names " in status

    replayed = admin(bridge_env, "replay-dead-letters")
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout
    assert wait_until(lambda: h.line.deliveries)
    assert h.line.delivered_texts(HANAKO) == ["お待たせしました"]
    assert h.store.r.llen(h.store.keys.dead_letters()) == 0

    # Replaying the same item again (say, an operator runs it twice) sends nothing more.
    h.store.r.rpush(h.store.keys.dead_letters(), json.dumps(record, ensure_ascii=False))
    admin(bridge_env, "replay-dead-letters")
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["お待たせしました"]
