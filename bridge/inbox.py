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
schedule a wake-up (honouring ``Retry-After``) in the due set of :mod:`bridge.scheduler`.

Crash safety: the stream lock is short (``LOCK_TTL_MS``) and refreshed by a heartbeat thread
while a drain runs, so a SIGKILLed drain frees its stream within seconds; every stream with
pending items is listed in an "active" set, which each worker's ticker sweeps to re-enqueue
streams nobody drains (see :mod:`bridge.scheduler`).
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from typing import Any, Callable

import redis
from rq import Queue

from bridge.keys import Keys
from bridge.model import DeliveryFailed, RetryLater
from bridge.safe_json import clean
from bridge.scheduler import DRAIN, DueSet
from bridge.work import JOB_DRAIN

log = logging.getLogger(__name__)

LOCK_TTL_MS = 10_000           # a dead drainer's stream is free again after at most this long
HEARTBEAT_S = 2.5              # the live drainer refreshes its lock this often (a thread: outlives a 15 s SDK call)
FLAG_TRUST_S = 10.0            # a drain-queued flag younger than this is trusted without looking at the rq queue
MAX_ATTEMPTS = 10              # ≈ 8.5 minutes of backoff (1+2+…+256 s), then dead-lettered and reported
MAX_BACKOFF = 300.0
BATCH_MAX = 20                 # head items offered at once to a batching drain (bridge.relay.batch)
SLICE_S = 2.0                  # a drain yields its worker after this long (fairness: back of the queue)…
SLICE_UNITS = 5                # …or after this many units of work (an item, or a batch of texts)
WAKE_TTL = 30                  # s an early wake-up (Inbox.wake) is remembered by a drainer about to pause

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
DRAIN_QUEUED_TTL = 300
# Leave the active set only when the stream is really empty (atomic with _ACCEPT's SADD).
_FORGET = """
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) return 1 end
return 0
"""
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
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
# Remove the n processed head items (ARGV[1..n]) and their attempt counters (ARGV[n+1..2n]) in ONE
# step, only if they are still the head: a crash (or a Redis restart) between popping the items of a
# batch one by one used to leave its tail at the head, posted again under its own post key.
_POP_HEAD_N = """
local n = #ARGV / 2
local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
for i = 1, n do if head[i] ~= ARGV[i] then return 0 end end
redis.call('LTRIM', KEYS[1], n, -1)
redis.call('HDEL', KEYS[2], unpack(ARGV, n + 1, 2 * n))
return n
"""


def new_job_id(prefix: str = "drain") -> str:
    """rq job ids may only hold [A-Za-z0-9_-]."""
    return f"{prefix}-{uuid.uuid4().hex}"


class _Heartbeat(threading.Thread):
    """Keeps a stream lock alive while its drain runs; notices when the lock was lost."""

    def __init__(self, refresh: Callable[..., Any], lock_key: str, token: str):
        super().__init__(name="inbox-heartbeat", daemon=True)
        self.refresh, self.lock_key, self.token = refresh, lock_key, token
        self.done = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        while not self.done.wait(HEARTBEAT_S):
            try:
                if not self.refresh(keys=[self.lock_key], args=[self.token, LOCK_TTL_MS]):
                    log.warning("lock %s was lost; this drain stops after its current item", self.lock_key)
                    self.lost.set()
                    return
            except redis.RedisError as exc:  # Redis restarting: keep trying, the lock survives with AOF
                log.warning("lock heartbeat failed: %s", exc)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


def _encode_item(origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> str:
    # clean(): a lone surrogate (valid JSON, not UTF-8) would make Redis refuse the item, and one nested a
    # thousand levels deep would fail to decode in the worker, blocking its stream.
    return json.dumps({"id": f"{origin}:{event_id}", "stream": stream, "kind": kind, "payload": clean(payload),
                       "accepted_at": time.time()}, ensure_ascii=False, separators=(",", ":"))


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
        self._pop_head_n = r.register_script(_POP_HEAD_N)
        self._forget = r.register_script(_FORGET)
        self._delete_if = r.register_script(_DELETE_IF)
        self.due = DueSet(r, keys.due())
        self.active_key = keys.inbox_active()

    # -- producer side (web process) ---------------------------------------------
    def accept(self, origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue one event for ``stream`` unless ``(origin, event_id)`` was already accepted.

        Returns False for a duplicate (a LINE redelivery or a Slack retry).
        """
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
            self.queue.enqueue(JOB_DRAIN, stream, job_id=job_id, result_ttl=60, failure_ttl=7 * 24 * 3600,
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
        """Pause the stream for ``delay`` seconds (a platform asked us to back off) and wake it up then."""
        self.r.set(self.keys.inbox_hold(stream=stream), repr(time.time() + delay), px=max(1, int(delay * 1000)))
        self.schedule_wakeup(stream, delay)

    def wake(self, stream: str) -> bool:
        """Drain ``stream`` now, cutting short a hold (e.g. a reply's undo window the author skipped).

        Only for holds the bridge set itself: a platform's back-off would just be met again. A
        drainer that is about to pause the stream (its item raised a throttled RetryLater while we
        woke it) finds the wake flag and runs the item once more instead.
        """
        self.r.set(self.keys.inbox_wake(stream=stream), "1", ex=WAKE_TTL)
        self.r.delete(self.keys.inbox_hold(stream=stream))
        return self.kick(stream, at_front=True)

    # -- the sweeper's side (bridge.scheduler) -------------------------------------------
    def sweep(self) -> list[str]:
        """Enqueue a drain for every stream with pending items that nobody drains, nor will.

        Skipped: streams whose lock is held (a live drainer's heartbeat keeps it), streams
        backing off (their wake-up is in the due set; if that was lost the hold expires and
        the next sweep takes them), and streams whose drain job really waits in the rq queue.
        Every mark is a lease: the lock lives LOCK_TTL_MS past its holder's last heartbeat, a hold
        only as long as its back-off, and a drain-queued flag is believed for FLAG_TRUST_S only;
        after that it must name a job listed in the rq queue with its job hash. A flag naming
        anything else (a worker died after dequeuing it, a BLPOP answer was lost in a Redis restart,
        the enqueue failed half-way) is replaced.
        """
        streams = sorted(self.r.smembers(self.active_key))
        if not streams:
            return []
        pipe = self.r.pipeline(transaction=False)
        for stream in streams:
            pipe.llen(self.keys.inbox(stream=stream))
            pipe.exists(self.keys.inbox_lock(stream=stream))
            pipe.pttl(self.keys.inbox_hold(stream=stream))
            pipe.get(self.keys.inbox_drain_queued(stream=stream))
            pipe.pttl(self.keys.inbox_drain_queued(stream=stream))
        res = pipe.execute()
        kicked: list[str] = []
        suspects: list[tuple[str, str]] = []
        for i, stream in enumerate(streams):
            length, locked, hold_ms, flag, flag_ms = res[5 * i:5 * i + 5]
            if not length:
                self._forget(keys=[self.keys.inbox(stream=stream), self.active_key], args=[stream])
            elif locked or hold_ms > 0:
                continue
            elif flag is None:
                if self.kick(stream, at_front=True):
                    kicked.append(stream)
            elif DRAIN_QUEUED_TTL - flag_ms / 1000 > FLAG_TRUST_S:
                suspects.append((stream, flag))
        if suspects:
            live = self._waiting_jobs([flag for _, flag in suspects])
            for stream, flag in suspects:
                if flag not in live:
                    self._delete_if(keys=[self.keys.inbox_drain_queued(stream=stream)], args=[flag])
                    if self.kick(stream, at_front=True):
                        kicked.append(stream)
        if kicked:
            log.info("sweeper: %d stranded stream(s) re-enqueued: %s", len(kicked), ", ".join(kicked[:10]))
        return kicked

    def _waiting_jobs(self, job_ids: list[str]) -> set[str]:
        """The ids among ``job_ids`` of drain jobs that really wait: listed in the rq queue AND with
        their job hash (a worker skips a listed id whose hash is gone, so such a flag is as stale as
        one whose job a killed worker or a lost BLPOP answer took out of the list)."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.lpos(self.queue.key, job_id)
            pipe.exists(self.queue.job_class.key_for(job_id))
        res = pipe.execute()
        return {job_id for i, job_id in enumerate(job_ids) if res[2 * i] is not None and res[2 * i + 1]}

    def adopt_existing_streams(self) -> int:
        """List streams queued before the active set existed (an upgrade) in it, once per worker start."""
        found = []
        prefix = self.keys.inbox(stream="")
        for key in self.r.scan_iter(match=prefix + "*", count=1000):
            found.append(key[len(prefix):])
        if found:
            self.r.sadd(self.active_key, *found)
        return len(found)

    def pending(self, stream: str) -> int:
        return int(self.r.llen(self.keys.inbox(stream=stream)))

    # -- consumer side (worker) ------------------------------------------------------
    def drain(self, stream: str, process: Callable[[dict[str, Any]], None],
              on_dead_letter: Callable[[dict[str, Any], str], None],
              batch: Callable[[list[dict[str, Any]]], int] | None = None) -> int:
        """Process the stream's items in order while holding its lock. Returns how many were processed.

        With ``batch``, it is called instead of ``process`` with up to BATCH_MAX head items and
        processes the first n of them as one unit, returning n (≥ 1); all n are removed after success.
        """
        inbox_key = self.keys.inbox(stream=stream)
        lock_key = self.keys.inbox_lock(stream=stream)
        attempts_key = self.keys.inbox_attempts(stream=stream)
        token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"  # the pid tells operators (and tests) who holds it
        done = 0
        # From now on a new event must enqueue another drain: this one may already be past it.
        self.r.delete(self.keys.inbox_drain_queued(stream=stream))
        while True:
            if not self.r.set(lock_key, token, nx=True, px=LOCK_TTL_MS):
                # Someone else drains it and re-checks the list after releasing; if that worker
                # dies its lock expires within LOCK_TTL_MS and the sweeper re-enqueues the stream.
                return done
            hold_ms = self.r.pttl(self.keys.inbox_hold(stream=stream))
            if hold_ms > 0:
                # Backing off (Retry-After): the wake-up scheduled by hold() resumes the stream;
                # one more (coalesced) wake-up covers a lost one.
                self._release(keys=[lock_key], args=[token])
                self.schedule_wakeup(stream, hold_ms / 1000 + 0.05)
                return done
            stop = yielded = False
            units, started = 0, time.monotonic()
            heartbeat = _Heartbeat(self._refresh, lock_key, token)
            heartbeat.start()
            try:
                while not heartbeat.lost.is_set():
                    raws = self.r.lrange(inbox_key, 0, (BATCH_MAX if batch else 1) - 1)
                    if not raws:
                        break
                    raw = raws[0]
                    item = json.loads(raw)
                    try:
                        if batch:  # it may take several head items as one unit (see bridge.relay.batch)
                            taken = raws[:max(1, batch([item] + [json.loads(x) for x in raws[1:]]))]
                        else:
                            process(item)
                            taken = [raw]
                    except RetryLater as exc:
                        if exc.throttled and self.r.delete(self.keys.inbox_wake(stream=stream)):
                            continue  # woken while it was deciding to wait (Inbox.wake): look again now
                        if exc.throttled:
                            # Backpressure, not failure: wait as asked (plus jitter, so many
                            # throttled streams don't all come back in the same instant; none
                            # for a turn our own rate limiter reserved: it is already unique).
                            attempts = 0
                            delay = exc.delay if exc.paced else exc.delay + random.uniform(0, 0.25 * max(exc.delay, 1.0))
                        elif self._failed(attempts_key, item, raw, inbox_key, exc.reason, on_dead_letter):
                            continue
                        else:
                            attempts = int(self.r.hget(attempts_key, item["id"]) or 1)
                            delay = max(exc.delay, min(MAX_BACKOFF, 2.0 ** (attempts - 1)))
                        log.log(logging.INFO if exc.paced else logging.WARNING, "stream %s: %s; retrying item %s in %.1fs (attempt %d)",
                                stream, exc.reason, item["id"], delay, attempts)
                        self.hold(stream, delay)
                        stop = True
                        break
                    except (redis.ConnectionError, redis.TimeoutError):
                        # Our own Redis restarting is not the item's fault: no attempt is counted and no
                        # back-off set; the lock is released (or expires) and the sweeper resumes the stream.
                        raise
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
                    self._pop_head_n(keys=[inbox_key, attempts_key], args=[*taken, *(json.loads(x)["id"] for x in taken)])
                    done += len(taken)
                    units += 1
                    if (units >= SLICE_UNITS or time.monotonic() - started >= SLICE_S) and self.r.llen(inbox_key):
                        yielded = True  # fairness: other conversations' drains go first
                        break
            finally:
                heartbeat.stop()
                self._release(keys=[lock_key], args=[token])
            if yielded:
                self.kick(stream)  # to the back of the queue (a no-op when a drain is queued already)
                return done
            if stop or heartbeat.lost.is_set():
                return done
            if self._forget(keys=[inbox_key, self.active_key], args=[stream]):
                return done  # empty, and off the sweeper's list
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
