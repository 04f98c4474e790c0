"""The drain: one worker at a time processes a stream's items strictly head-first.

Why: rq runs jobs on any free worker, so two webhook events of the same chat could be processed
concurrently and reach Slack out of order. A drain (:func:`bridge.engine.jobs.drain`) takes the
stream's lock and processes items head-first; a worker that finds the lock taken leaves the
work to the holder, which re-checks the list after releasing the lock, so nothing is stranded.

Guarantees:

* **At-least-once, effectively exactly-once.** An item is removed only after it was processed
  (a batch of n head items in one atomic step, only if they are still the head); the domain
  makes every side effect idempotent, so re-processing after a crash never duplicates a message.
* **Retries without blocking others.** A transient failure (:class:`~bridge.model.RetryLater`)
  keeps the item at the head and holds the stream with a wake-up in the due set (honouring
  ``Retry-After``); after ``MAX_ATTEMPTS`` failures, or at once for a
  :class:`~bridge.model.DeliveryFailed`, the item is dead-lettered (kept and reported).
  Throttling (backpressure) is never counted as a failure.
* **Leases.** The stream lock is short (``LOCK_TTL_MS``) and refreshed by a heartbeat thread
  while the drain runs, so a SIGKILLed drain frees its stream within seconds and the sweeper
  (:mod:`bridge.engine.sweep`) re-enqueues it.
* **Fairness.** A drain yields its worker after ``SLICE_S`` seconds or ``SLICE_UNITS`` units of
  work and re-queues its stream at the back of the rq queue.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from typing import Any, Callable, Protocol

import redis

from bridge.engine.streams import Streams
from bridge.model import DeliveryFailed, RetryLater

log = logging.getLogger(__name__)

LOCK_TTL_MS = 10_000           # a dead drainer's stream is free again after at most this long
HEARTBEAT_S = 2.5              # the live drainer refreshes its lock this often (a thread: outlives a 15 s SDK call)
MAX_ATTEMPTS = 10              # ≈ 8.5 minutes of backoff (1+2+…+256 s), then dead-lettered and reported
MAX_BACKOFF = 300.0
BATCH_MAX = 20                 # head items offered at once to the processor (bridge.relay.batch)
SLICE_S = 2.0                  # a drain yields its worker after this long (fairness: back of the queue)…
SLICE_UNITS = 5                # …or after this many units of work (an item, or a batch of texts)

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


class Processor(Protocol):
    """What a drain hands the work to (:class:`bridge.domain.Domain` is one)."""

    def process_item(self, item: dict[str, Any]) -> None:
        """Process one work item; raise RetryLater / DeliveryFailed to retry or set it aside."""

    def process_head(self, items: list[dict[str, Any]]) -> int:
        """Process the first n ≥ 1 of the stream's head items as one unit and return n (a processor
        that never batches calls :meth:`process_item` with ``items[0]`` and returns 1). The drain
        calls this one; all n items are removed together after it returned."""

    def dead_letter(self, item: dict[str, Any], reason: str) -> None:
        """An item that kept failing, or cannot succeed: keep it for inspection and tell people."""


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


class Drainer:
    def __init__(self, streams: Streams):
        self.streams = streams
        self.r = streams.r
        self.keys = streams.keys
        self._refresh = self.r.register_script(_REFRESH)
        self._pop_if_head = self.r.register_script(_POP_IF_HEAD)
        self._pop_head_n = self.r.register_script(_POP_HEAD_N)

    def drain(self, stream: str, processor: Processor) -> int:
        """Process the stream's items in order while holding its lock. Returns how many were processed."""
        lock_key = self.keys.inbox_lock(stream=stream)
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
                # Backing off (Retry-After) or waiting for a paced turn: the wake-up scheduled by
                # hold() resumes the stream; one more (coalesced) wake-up covers a lost one.
                self.streams.delete_if(lock_key, token)
                self.streams.schedule_wakeup(stream, hold_ms / 1000 + 0.05)
                return done
            heartbeat = _Heartbeat(self._refresh, lock_key, token)
            heartbeat.start()
            try:
                outcome, n = self._run(stream, processor, heartbeat)
            finally:
                heartbeat.stop()
                self.streams.delete_if(lock_key, token)
            done += n
            if outcome == "yielded":
                self.streams.kick(stream)  # to the back of the queue (a no-op when a drain is queued already)
                return done
            if outcome == "paused" or heartbeat.lost.is_set():
                return done
            if self.streams.forget(stream):
                return done  # empty, and off the sweeper's list
            # Items arrived between our last look and the release: go round again.

    def _run(self, stream: str, processor: Processor, heartbeat: _Heartbeat) -> tuple[str, int]:
        """Process head items under the lock until the stream is empty ("empty"), must wait
        ("paused") or has had its time slice ("yielded"). Returns the outcome and items processed."""
        inbox_key = self.keys.inbox(stream=stream)
        attempts_key = self.keys.inbox_attempts(stream=stream)
        done = units = 0
        started = time.monotonic()
        while not heartbeat.lost.is_set():
            raws = self.r.lrange(inbox_key, 0, BATCH_MAX - 1)
            if not raws:
                break
            raw, items = raws[0], [json.loads(x) for x in raws]
            item = items[0]
            try:
                taken = raws[:max(1, min(len(items), processor.process_head(items)))]
            except RetryLater as exc:
                if exc.throttled:
                    # Backpressure, not failure: wait as asked (plus jitter, so many throttled
                    # streams don't all come back in the same instant; none for a turn our own
                    # rate limiter reserved: it is already unique).
                    attempts = 0
                    delay = exc.delay if exc.paced else exc.delay + random.uniform(0, 0.25 * max(exc.delay, 1.0))
                elif self._failed(attempts_key, item, raw, inbox_key, exc.reason, processor):
                    continue
                else:
                    attempts = int(self.r.hget(attempts_key, item["id"]) or 1)
                    delay = max(exc.delay, min(MAX_BACKOFF, 2.0 ** (attempts - 1)))
                log.log(logging.INFO if exc.paced else logging.WARNING, "stream %s: %s; retrying item %s in %.1fs (attempt %d)",
                        stream, exc.reason, item["id"], delay, attempts)
                self.streams.hold(stream, delay)
                return "paused", done
            except (redis.ConnectionError, redis.TimeoutError):
                # Our own Redis restarting is not the item's fault: no attempt is counted and no
                # back-off set; the lock is released (or expires) and the sweeper resumes the stream.
                raise
            except DeliveryFailed as exc:
                # Retrying cannot cure it: set the item aside at once, visibly.
                self._give_up(item, raw, inbox_key, attempts_key, f"{exc.reason}: {exc.detail}", processor)
                continue
            except Exception as exc:  # a bug or an unexpected platform answer
                log.exception("stream %s: item %s failed", stream, item["id"])
                if self._failed(attempts_key, item, raw, inbox_key, f"{type(exc).__name__}: {exc}", processor):
                    continue
                attempts = int(self.r.hget(attempts_key, item["id"]) or 1)
                self.streams.hold(stream, min(MAX_BACKOFF, 2.0 ** attempts))
                return "paused", done
            self._pop_head_n(keys=[inbox_key, attempts_key], args=[*taken, *(json.loads(x)["id"] for x in taken)])
            done += len(taken)
            units += 1
            if (units >= SLICE_UNITS or time.monotonic() - started >= SLICE_S) and self.r.llen(inbox_key):
                return "yielded", done  # fairness: other conversations' drains go first
        return "empty", done

    def _failed(self, attempts_key: str, item: dict[str, Any], raw: str, inbox_key: str, reason: str,
                processor: Processor) -> bool:
        """Count a failed attempt; past MAX_ATTEMPTS dead-letter the item and return True."""
        attempts = self.r.hincrby(attempts_key, item["id"], 1)
        if attempts < MAX_ATTEMPTS:
            return False
        log.error("dead-lettering item %s after %d attempts: %s", item["id"], attempts, reason)
        self._give_up(item, raw, inbox_key, attempts_key, reason, processor)
        return True

    def _give_up(self, item: dict[str, Any], raw: str, inbox_key: str, attempts_key: str, reason: str,
                 processor: Processor) -> None:
        try:
            processor.dead_letter(item, reason)
        except Exception:
            log.exception("reporting dead letter %s failed", item["id"])
        self._pop_if_head(keys=[inbox_key], args=[raw])
        self.r.hdel(attempts_key, item["id"])
