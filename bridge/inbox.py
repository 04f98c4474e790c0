"""Per-conversation ordered work queues on top of rq.

Why: rq runs jobs on any free worker, so two webhook events of the same chat could be
processed concurrently and reach Slack out of order. Instead every accepted event is
appended to a Redis list for its *stream* (one per conversation and direction) and an rq
job ``bridge.jobs.drain(stream)`` is enqueued. ``drain`` takes the stream's lock and
processes items strictly head-first; a worker that finds the lock taken leaves the work
to the holder, which re-checks the list after releasing the lock, so nothing is stranded.

An item is removed only after it was processed (at-least-once); the domain makes every
side effect idempotent, so re-processing after a crash never duplicates a message.
Transient failures (:class:`~bridge.model.RetryLater`) keep the item at the head and
schedule a delayed drain (honouring ``Retry-After``), which needs ``rq worker --with-scheduler``.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
import uuid
from datetime import timedelta
from typing import Any, Callable

import redis
from rq import Queue

from bridge.keys import Keys
from bridge.model import DeliveryFailed, RetryLater
from bridge.work import JOB_DRAIN

log = logging.getLogger(__name__)

LOCK_TTL_MS = 120_000          # longer than any single item may take (SDK timeouts are 15 s)
MAX_ATTEMPTS = 10              # ≈ 8.5 minutes of backoff (1+2+…+256 s), then dead-lettered and reported
MAX_BACKOFF = 300.0

# Append the item unless the event was seen before. Dedupe and append are one atomic step,
# so an event is either queued exactly once or not at all. Returns 0 for a duplicate, 2 when
# a drain job must be enqueued, 1 when one is already waiting in the rq queue (KEYS[3]):
# a burst of 1,000 events for 50 chats then costs ~50 drain jobs, not 1,000 (each empty
# job is a fork plus rq bookkeeping, and other chats' work would wait behind them).
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then return 2 end
  return 1
end
return 0
"""
DRAIN_QUEUED_TTL = 300  # a lost enqueue can delay a stream by at most this much
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_POP_IF_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) return 1 end
return 0
"""


def enqueue_later(queue: Queue, delay: float, func: str, *args: Any, **kwargs: Any) -> None:
    """``queue.enqueue_in`` that never runs early.

    rq's ScheduledJobRegistry stores the run time in whole seconds (truncated), so a job
    due in 3.7 s may run after 3.0 s; a Retry-After must be honoured, so round up.
    """
    queue.enqueue_in(timedelta(seconds=math.ceil(delay) + 1), func, *args, **kwargs)


class Inbox:
    def __init__(self, r: redis.Redis, keys: Keys, queue: Queue, dedupe_ttl: int = 3 * 24 * 3600):
        self.r = r
        self.keys = keys
        self.queue = queue
        self.dedupe_ttl = dedupe_ttl
        self._accept = r.register_script(_ACCEPT)
        self._release = r.register_script(_RELEASE)
        self._refresh = r.register_script(_REFRESH)
        self._pop_if_head = r.register_script(_POP_IF_HEAD)

    # -- producer side (web process) ---------------------------------------------
    def accept(self, origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue one event for ``stream`` unless ``(origin, event_id)`` was already accepted.

        Returns False for a duplicate (a LINE redelivery or a Slack retry).
        """
        item = json.dumps({"id": f"{origin}:{event_id}", "stream": stream, "kind": kind, "payload": payload,
                           "accepted_at": time.time()},
                          ensure_ascii=False, separators=(",", ":"))
        dedupe_key = self.keys.dedupe(origin=origin, event_id=event_id)
        inbox_key = self.keys.inbox(stream=stream)
        queued_key = self.keys.inbox_drain_queued(stream=stream)
        result = self._accept(keys=[dedupe_key, inbox_key, queued_key], args=[self.dedupe_ttl, item, DRAIN_QUEUED_TTL])
        if result == 0:
            # A duplicate. If an earlier enqueue of the drain job failed the item may still
            # be waiting: kick the stream (cheap, and a no-op when it is empty).
            if self.r.llen(inbox_key):
                self._enqueue_drain(stream)
            return False
        if result == 2:
            try:
                self._enqueue_drain(stream)
            except Exception:
                self.r.delete(queued_key)  # let the next event (or LINE's redelivery) enqueue it
                raise
        return True

    def _enqueue_drain(self, stream: str, delay: float = 0.0) -> None:
        if delay > 0:
            enqueue_later(self.queue, delay, JOB_DRAIN, stream, failure_ttl=7 * 24 * 3600)
        else:
            self.queue.enqueue(JOB_DRAIN, stream, result_ttl=60, failure_ttl=7 * 24 * 3600)

    def schedule_wakeup(self, stream: str, delay: float, *, coalesce: bool = True) -> None:
        """Schedule a delayed drain of ``stream``; with ``coalesce`` at most one is pending at a time."""
        if not coalesce or self.r.set(self.keys.inbox_wakeup(stream=stream), "1", nx=True, px=max(1000, int(delay * 1000))):
            self._enqueue_drain(stream, delay=max(delay, 0.01))

    def kick(self, stream: str) -> None:
        """Enqueue a drain of ``stream`` now (a no-op when it is empty or drained elsewhere)."""
        self._enqueue_drain(stream)

    def hold(self, stream: str, delay: float) -> None:
        """Pause the stream for ``delay`` seconds (a platform asked us to back off) and wake it up then."""
        self.r.set(self.keys.inbox_hold(stream=stream), repr(time.time() + delay), px=max(1, int(delay * 1000)))
        self.schedule_wakeup(stream, delay, coalesce=False)

    def pending(self, stream: str) -> int:
        return int(self.r.llen(self.keys.inbox(stream=stream)))

    # -- consumer side (worker) ------------------------------------------------------
    def drain(self, stream: str, process: Callable[[dict[str, Any]], None],
              on_dead_letter: Callable[[dict[str, Any], str], None]) -> int:
        """Process the stream's items in order while holding its lock. Returns how many were processed."""
        inbox_key = self.keys.inbox(stream=stream)
        lock_key = self.keys.inbox_lock(stream=stream)
        attempts_key = self.keys.inbox_attempts(stream=stream)
        token = uuid.uuid4().hex
        done = 0
        # From now on a new event must enqueue another drain: this one may already be past it.
        self.r.delete(self.keys.inbox_drain_queued(stream=stream))
        while True:
            if not self.r.set(lock_key, token, nx=True, px=LOCK_TTL_MS):
                # Someone else drains it. If that worker died, its lock expires: make sure a
                # drain runs again after that (one pending wake-up per stream at most).
                ttl_ms = self.r.pttl(lock_key)
                if ttl_ms and ttl_ms > 0:
                    self.schedule_wakeup(stream, ttl_ms / 1000 + 0.5)
                return done
            self.r.delete(self.keys.inbox_wakeup(stream=stream))
            held_until = float(self.r.get(self.keys.inbox_hold(stream=stream)) or 0)
            if held_until > time.time():
                # Backing off (Retry-After): the wake-up scheduled by hold() resumes the stream;
                # one more coalesced wake-up covers clock skew between scheduler and Redis.
                self._release(keys=[lock_key], args=[token])
                self.schedule_wakeup(stream, held_until - time.time() + 0.05)
                return done
            stop = False
            try:
                while True:
                    raw = self.r.lindex(inbox_key, 0)
                    if raw is None:
                        break
                    item = json.loads(raw)
                    try:
                        process(item)
                    except RetryLater as exc:
                        if exc.throttled:
                            # Backpressure, not failure: wait as asked (plus jitter, so many
                            # throttled streams don't all come back in the same instant).
                            attempts = 0
                            delay = exc.delay + random.uniform(0, 0.25 * max(exc.delay, 1.0))
                        elif self._failed(attempts_key, item, raw, inbox_key, exc.reason, on_dead_letter):
                            continue
                        else:
                            attempts = int(self.r.hget(attempts_key, item["id"]) or 1)
                            delay = max(exc.delay, min(MAX_BACKOFF, 2.0 ** (attempts - 1)))
                        log.warning("stream %s: %s; retrying item %s in %.1fs (attempt %d)", stream, exc.reason, item["id"], delay, attempts)
                        self.hold(stream, delay)
                        stop = True
                        break
                    except DeliveryFailed as exc:
                        # Retrying cannot cure it: set the item aside at once, visibly.
                        self._give_up(item, raw, inbox_key, attempts_key, f"{exc.reason}: {exc.detail}", on_dead_letter)
                        continue
                    except Exception as exc:  # a bug or an unexpected platform answer
                        log.exception("stream %s: item %s failed", stream, item["id"])
                        if self._failed(attempts_key, item, raw, inbox_key, f"{type(exc).__name__}: {exc}", on_dead_letter):
                            continue
                        attempts = int(self.r.hget(attempts_key, item["id"]) or 1)
                        self.hold(stream, min(MAX_BACKOFF, 2.0 ** attempts))
                        stop = True
                        break
                    self._pop_if_head(keys=[inbox_key], args=[raw])
                    self.r.hdel(attempts_key, item["id"])
                    self._refresh(keys=[lock_key], args=[token, LOCK_TTL_MS])
                    done += 1
            finally:
                self._release(keys=[lock_key], args=[token])
            if stop or not self.r.llen(inbox_key):
                return done
            # Items arrived between our last look and the release: go round again.

    def _failed(self, attempts_key: str, item: dict[str, Any], raw: str, inbox_key: str, reason: str,
                on_dead_letter: Callable[[dict[str, Any], str], None]) -> bool:
        """Count a failed attempt; past MAX_ATTEMPTS dead-letter the item and return True."""
        attempts = self.r.hincrby(attempts_key, item["id"], 1)
        if attempts < MAX_ATTEMPTS:
            return False
        log.error("dead-lettering item %s after %d attempts: %s", item["id"], attempts, reason)
        self._give_up(item, raw, inbox_key, attempts_key, reason, on_dead_letter)
        return True

    def _give_up(self, item: dict[str, Any], raw: str, inbox_key: str, attempts_key: str, reason: str,
                 on_dead_letter: Callable[[dict[str, Any], str], None]) -> None:
        try:
            on_dead_letter(item, reason)
        except Exception:
            log.exception("reporting dead letter %s failed", item["id"])
        self._pop_if_head(keys=[inbox_key], args=[raw])
        self.r.hdel(attempts_key, item["id"])
