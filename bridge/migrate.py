"""Data migrations of the bridge's Redis layout, run at start-up by every process.

v1 → v2 (one LINE account → several): every conversation gets the account ``default``
(today's single-account variables define it). Conversation ids become
``default-<LINE id>``; keys that name a conversation or a LINE message move; queued work
moves to the renamed streams and is woken up; the /pending indexes are rebuilt from the
conversation hashes. Numbers, threads, marks, assignees, notes, the audit trail, the
message map and the idempotency records all survive. The v1 keys are kept for 7 days
(a rollback stays possible), then Redis expires them.

Safe with several processes starting at once: one takes a lock and migrates; the others
wait until it is marked done. Every step is an idempotent copy, so if the migrating
process dies, the next one to take the (expired) lock simply starts over.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable

import redis
from rq import Queue

from bridge.accounts import DEFAULT_ACCOUNT
from bridge.engine import jobs
from bridge.engine.work import LINE_EVENT, SLACK_OP
from bridge.keys import Keys
from bridge.model import conv_key

log = logging.getLogger(__name__)

NAME = "v1-to-v2"
LOCK_TTL = 120
LOG_EVERY = 10.0   # s between the log lines of a process waiting for another one's migration
KEEP_OLD = 7 * 24 * 3600
DROPPED = ("inbox-lock:", "inbox-wakeup:", "inbox-drain-queued:", "inbox-hold:", "inbox-attempts:",
           "parent-refresh:", "backlog:")


def _conv(old_id: str) -> str:
    return conv_key(DEFAULT_ACCOUNT, old_id) if old_id else old_id


def _stream(stream: str) -> str:
    return "line-" + _conv(stream[5:]) if stream.startswith("line-") else stream


def _item(raw: str) -> str:
    item = json.loads(raw)
    item["stream"] = _stream(item.get("stream") or "")
    if item.get("kind") == LINE_EVENT and "event" not in (item.get("payload") or {}):
        item["payload"] = {"account": DEFAULT_ACCOUNT, "event": item.get("payload") or {}}
    elif item.get("kind") == SLACK_OP:
        item["payload"]["conv_id"] = _conv(item["payload"].get("conv_id") or "")
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _map_conv_field(data: dict[str, str]) -> dict[str, str]:
    return {**data, "conv_id": _conv(data["conv_id"])} if data.get("conv_id") else data


def _rename(rest: str) -> tuple[str, Callable[[Any], Any] | None] | None:
    """The v2 name of a v1 key (without prefix) and how its value changes; None to drop it."""
    if rest.startswith(DROPPED):
        return None
    head, _, tail = rest.partition(":")
    if head == "conv":
        return f"conv:{_conv(tail)}", lambda h: {**h, "account": DEFAULT_ACCOUNT, "line_id": tail, "conv_id": _conv(tail)}
    if head == "conv-by-thread":
        return rest, _conv
    if head == "conv-by-number":
        return rest, lambda h: {n: _conv(c) for n, c in h.items()}
    if rest.startswith("msg:line:"):
        return f"msg:line:{DEFAULT_ACCOUNT}:{rest[9:]}", _map_conv_field
    if rest.startswith("msg:slack:"):
        return rest, _map_conv_field
    if head in ("notes", "events"):
        return f"{head}:{_conv(tail)}", None
    if rest.startswith("dedupe:line:"):
        return f"dedupe:line-{DEFAULT_ACCOUNT}:{rest[12:]}", None
    if head == "inbox":
        return f"inbox:{_stream(tail)}", lambda items: [_item(x) for x in items]
    if head == "dead-letters":
        return rest, lambda items: [_item(x) for x in items]
    if rest.startswith("slack-post:line-"):
        return f"slack-post:line-{DEFAULT_ACCOUNT}-{rest[16:]}", None
    if rest.startswith("slack-post:parent-"):
        return f"slack-post:parent-{_conv(rest[18:])}", None
    if head == "profile":
        source, _, user = tail.partition(":")
        return f"profile:{_conv(source)}:{user}", None
    return rest, None  # conv-counter, msg:slack…, slack-post, line-send, caches: unchanged


def _copy(r: redis.Redis, old: str, new: str, change: Callable[[Any], Any] | None) -> None:
    if change is None:
        dumped = r.dump(old)
        if dumped is not None:
            ttl = r.pttl(old)
            r.restore(new, ttl if ttl and ttl > 0 else 0, dumped, replace=True)
        return
    kind = r.type(old)
    ttl = r.pttl(old)
    pipe = r.pipeline()
    pipe.delete(new)
    if kind == "string":
        pipe.set(new, change(r.get(old)))
    elif kind == "hash":
        pipe.hset(new, mapping=change(r.hgetall(old)))
    elif kind == "list":
        values = change(r.lrange(old, 0, -1))
        if values:
            pipe.rpush(new, *values)
    if ttl and ttl > 0:
        pipe.pexpire(new, ttl)
    pipe.execute()


def migrate(r: redis.Redis, namespace: str, queue: Queue | None = None, wait: float = 300.0,
            report: Callable[[str], None] | None = None) -> bool:
    """Run the v1 → v2 migration once per namespace. Returns True if this call migrated anything.

    A process that finds another one migrating waits for it — at most ``wait`` s (then RuntimeError),
    saying so in the log every :data:`LOG_EVERY` s and to ``report`` (the web process's /healthz)."""
    keys = Keys(namespace)
    done_key = keys.migration(name=NAME)
    old_prefix = f"{namespace}:v1:"
    started = time.time()
    deadline = started + wait
    token = uuid.uuid4().hex
    said = 0.0
    while True:
        state = r.get(done_key)
        if state == "done":
            return False
        if r.set(done_key, f"running:{token}", nx=True, ex=LOCK_TTL):
            break
        waited = time.time() - started
        if time.time() > deadline:
            raise RuntimeError(f"Redis migration {NAME} is still running in another process after {wait:.0f} s; try again")
        if report is not None:
            report(f"waiting for the Redis layout migration {NAME} run by another process ({waited:.0f} s)")
        if waited >= said:
            log.warning("waiting for the Redis layout migration %s run by another process (%.0f s of at most %.0f s)",
                        NAME, waited, wait)
            said += LOG_EVERY
        time.sleep(0.2)
    if report is not None:
        report(f"migrating the Redis layout ({NAME})")
    moved, streams = 0, []
    for old in r.scan_iter(match=old_prefix + "*", count=1000):
        rest = old[len(old_prefix):]
        target = _rename(rest)
        if target is None:
            continue
        new_rest, change = target
        _copy(r, old, keys.prefix + new_rest, change)
        if new_rest.startswith("inbox:"):
            streams.append(new_rest[6:])
        moved += 1
        if moved % 1000 == 0:
            r.expire(done_key, LOCK_TTL)  # still alive
    # Old keys stay for a week (rollback), then expire.
    for old in r.scan_iter(match=old_prefix + "*", count=1000):
        if r.pttl(old) < 0 or r.pttl(old) > KEEP_OLD * 1000:
            r.pexpire(old, KEEP_OLD * 1000)
    if queue is not None:
        for stream in streams:
            queue.enqueue(jobs.drain, stream, result_ttl=60)
    r.set(done_key, "done")
    if moved:
        log.warning("migrated %d Redis keys from the single-account layout (v1) to v2", moved)
    return bool(moved)
