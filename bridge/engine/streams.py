"""Streams: the producer side of the inbox — accept work, keep one drain job queued per stream.

Every accepted event is appended to a Redis list for its *stream* (one per conversation and
direction; names in :mod:`bridge.engine.work`) and at most one rq job
:func:`bridge.engine.jobs.drain` of that stream waits in the rq queue. This module holds the
stream-level state every other part of the engine goes through: the dedupe, the drain-queued
flag, the hold (back-off) of a stream and its early wake-up. The drain loop is
:mod:`bridge.engine.drain`, the sweeper of stranded streams :mod:`bridge.engine.sweep`.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import redis
from rq import Queue

from bridge.engine import jobs
from bridge.engine.due import DRAIN, DueSet
from bridge.keys import Keys
from bridge.safe_json import clean

log = logging.getLogger(__name__)

DRAIN_QUEUED_TTL = 300         # s a drain-queued flag lives at most (the sweeper distrusts it after FLAG_TRUST_S)

# Append the item unless the event was seen before. Dedupe and append are one atomic step,
# so an event is either queued exactly once or not at all. Returns 0 for a duplicate, 2 when
# a drain job must be enqueued, 1 when one is already waiting in the rq queue (KEYS[3]):
# a burst of 1,000 events for 50 chats then costs ~50 drain jobs, not 1,000 (each empty
# job is a fork plus rq bookkeeping, and other chats' work would wait behind them).
# The stream is also added to the active set (KEYS[4]) the sweeper watches; the drain-queued
# flag holds the id of the drain job (ARGV[4]) so the sweeper can tell a lost job from a waiting one.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[5])
  if redis.call('SET', KEYS[3], ARGV[4], 'NX', 'EX', ARGV[3]) then return 2 end
  return 1
end
return 0
"""
# Leave the active set only when the stream is really empty (atomic with _ACCEPT's SADD).
_FORGET = """
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) return 1 end
return 0
"""
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Delete a key only if it still holds our token (a drain-queued flag, a stream lock).
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def new_job_id(prefix: str = "drain") -> str:
    """rq job ids may only hold [A-Za-z0-9_-]."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _encode_item(origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> str:
    # clean(): a lone surrogate (valid JSON, not UTF-8) would make Redis refuse the item, and one nested a
    # thousand levels deep would fail to decode in the worker, blocking its stream.
    item = {"id": f"{origin}:{event_id}", "stream": stream, "kind": kind, "payload": clean(payload),
            "accepted_at": time.time()}
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


class Streams:
    """Accepting work into streams and the per-stream marks (drain-queued flag, hold)."""

    def __init__(self, r: redis.Redis, keys: Keys, queue: Queue, due: DueSet, dedupe_ttl: int):
        self.r = r
        self.keys = keys
        self.queue = queue
        self.due = due
        self.dedupe_ttl = dedupe_ttl
        self.active_key = keys.inbox_active()
        self._accept = r.register_script(_ACCEPT)
        self._forget = r.register_script(_FORGET)
        self._delete_if = r.register_script(_DELETE_IF)

    # -- producer side (web process) ---------------------------------------------
    def accept(self, origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue one event for ``stream`` unless ``(origin, event_id)`` was already accepted.

        Returns False for a duplicate (a LINE redelivery or a Slack retry).
        """
        return self._append(origin, event_id, stream, kind, payload)

    def _append(self, origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> bool:
        item = _encode_item(origin, event_id, stream, kind, payload)
        dedupe_key = self.keys.dedupe(origin=origin, event_id=event_id)
        inbox_key = self.keys.inbox(stream=stream)
        queued_key = self.keys.inbox_drain_queued(stream=stream)
        job_id = new_job_id()
        result = self._accept(keys=[dedupe_key, inbox_key, queued_key, self.active_key],
                              args=[self.dedupe_ttl, item, DRAIN_QUEUED_TTL, job_id, stream])
        if result == 0:
            # A duplicate. If an earlier enqueue of the drain job failed the item may still
            # be waiting: kick the stream (cheap, and a no-op when a drain is queued).
            if self.r.llen(inbox_key):
                self.kick(stream)
            return False
        if result == 2:
            self._enqueue_flagged(stream, job_id)
        return True

    def _enqueue_flagged(self, stream: str, job_id: str, at_front: bool = False) -> None:
        try:
            pipe = self.queue.connection.pipeline()  # one round trip (rq alone makes two)
            self.queue.enqueue(jobs.drain, stream, job_id=job_id, result_ttl=60, failure_ttl=7 * 24 * 3600,
                               at_front=at_front, pipeline=pipe)
            pipe.execute()
        except Exception:
            # Let the next event, LINE's redelivery or the sweeper enqueue it.
            self._delete_if(keys=[self.keys.inbox_drain_queued(stream=stream)], args=[job_id])
            raise

    def accept_many(self, entries: list[tuple[str, str, str, str, dict[str, Any]]]) -> list[bool]:
        """:meth:`accept` for many ``(origin, event_id, stream, kind, payload)`` at once, in one
        pipelined round trip (a LINE webhook may carry hundreds of events and must be answered
        within 2 seconds). Same guarantees, item by item, in order."""
        # One event (most webhooks) is one EVALSHA; a pipeline would first ask SCRIPT EXISTS: two round trips.
        pipe = self.r.pipeline(transaction=False) if len(entries) > 1 else None
        job_ids, results = [], []
        for origin, event_id, stream, kind, payload in entries:
            job_ids.append(new_job_id())
            results.append(self._accept(
                keys=[self.keys.dedupe(origin=origin, event_id=event_id), self.keys.inbox(stream=stream),
                      self.keys.inbox_drain_queued(stream=stream), self.active_key],
                args=[self.dedupe_ttl, _encode_item(origin, event_id, stream, kind, payload), DRAIN_QUEUED_TTL,
                      job_ids[-1], stream], client=pipe))
        if pipe is not None:
            results = pipe.execute()
        flagged: dict[str, str] = {}
        for (_, _, stream, _, _), res, job_id in zip(entries, results, job_ids):
            if res == 2:
                flagged.setdefault(stream, job_id)
        for stream, job_id in flagged.items():
            self._enqueue_flagged(stream, job_id)
        for stream in dict.fromkeys(e[2] for e, res in zip(entries, results) if res == 0):
            if stream not in flagged and self.r.llen(self.keys.inbox(stream=stream)):
                self.kick(stream)  # as in accept(): a duplicate may find its drain lost
        return [res != 0 for res in results]

    def kick(self, stream: str, at_front: bool = False) -> bool:
        """Make sure a drain of ``stream`` waits in the rq queue (at most one). True if one was enqueued.

        ``at_front``: a stream that waited (a back-off, a dead drainer) goes before fresh work.
        """
        job_id = new_job_id()
        if not self.r.set(self.keys.inbox_drain_queued(stream=stream), job_id, nx=True, ex=DRAIN_QUEUED_TTL):
            return False
        self._enqueue_flagged(stream, job_id, at_front=at_front)
        return True

    def schedule_wakeup(self, stream: str, delay: float) -> None:
        """Drain ``stream`` after ``delay`` s (the earliest pending wake-up of a stream wins)."""
        self.due.add(DRAIN, stream, delay)

    def hold(self, stream: str, delay: float) -> None:
        """Pause the stream for ``delay`` seconds (a back-off) and wake it up then."""
        self.r.set(self.keys.inbox_hold(stream=stream), repr(time.time() + delay), px=max(1, int(delay * 1000)))
        self.schedule_wakeup(stream, delay)

    def pending(self, stream: str) -> int:
        return int(self.r.llen(self.keys.inbox(stream=stream)))

    def forget(self, stream: str) -> bool:
        """Take an empty stream off the sweeper's list (atomic with accept's SADD); False if it has items."""
        return bool(self._forget(keys=[self.keys.inbox(stream=stream), self.active_key], args=[stream]))

    def delete_if(self, key: str, token: str) -> bool:
        """Delete ``key`` (a stream lock, a drain-queued flag) only if it still holds ``token``."""
        return bool(self._delete_if(keys=[key], args=[token]))
