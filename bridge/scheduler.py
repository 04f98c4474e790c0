"""Wake-ups and the sweeper: what makes every stream move again after a crash, without rq's scheduler.

Two things used to depend on luck after a worker was SIGKILLed:

* delayed work (Retry-After back-offs, delayed parent refreshes) lived in rq's
  ScheduledJobRegistry, which only the worker holding rq's scheduler lock moves; after that
  worker dies another takes the lock only at rq's 10-minute maintenance interval;
* a drain killed mid-item left its stream locked, and rq never re-runs a job whose work
  horse died, so the stream waited for the friend's next event.

Now delayed work is a Redis sorted set of *due* wake-ups (``member -> due time``, Redis's own
clock), and a :class:`Ticker` daemon thread runs in **every** worker process. Each tick it

1. claims the wake-ups that are due (atomically, in Lua: the entry's score is pushed one lease
   ahead, so two workers never both take it, and a ticker that dies before enqueuing loses
   nothing: the entry becomes due again when the lease ends) and enqueues their rq jobs;
2. every few seconds (one worker at a time, by a short lock) sweeps the streams that have
   pending items: a stream whose lock is free, which is not backing off, and which has no
   drain job really waiting in the rq queue gets one. Stream locks are short (10 s) and
   refreshed by a heartbeat while a drain runs (:mod:`bridge.inbox`), so a killed drain's
   stream is free again within seconds.

A stream therefore resumes at most ``LOCK_TTL + SWEEP_INTERVAL`` (~13 s) after its drainer
died, whichever process died, without any new event.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from typing import TYPE_CHECKING, Callable

import redis

if TYPE_CHECKING:  # pragma: no cover
    from bridge.inbox import Inbox

log = logging.getLogger(__name__)

TICK_INTERVAL = 1.0      # s between due-set checks
SWEEP_INTERVAL = 3.0     # s between sweeps of the streams with pending items (one worker sweeps)
CLAIM_LEASE = 10.0       # s a claimed wake-up stays hidden; if it was not enqueued by then (a ticker killed, Redis
                         # restarted between claim and enqueue) it is due again
CLAIM_BATCH = 200

DRAIN = "drain"
REFRESH = "refresh"
ACCEPT = "accept"   # a work item to accept into its stream when due (target: JSON [origin, event_id, stream, kind, payload])

# KEYS[1] due zset; ARGV[1] member; ARGV[2] delay in ms. Keeps the earliest wake-up of a member.
_ADD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'LT', now + tonumber(ARGV[2]), ARGV[1])
return now
"""
# KEYS[1] due zset; ARGV[1] lease ms; ARGV[2] batch. Returns {member, leased score, ...} of due entries.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
local leased = now + tonumber(ARGV[1])
for _, m in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', leased, m)
  table.insert(out, m)
  table.insert(out, tostring(leased))
end
return out
"""
# Remove a claimed entry unless it was re-scheduled (a new, earlier wake-up) since the claim.
_DONE = """
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
"""


class DueSet:
    """Delayed wake-ups, kept in Redis (they survive a restart with AOF on) and moved by every worker's ticker."""

    def __init__(self, r: redis.Redis, key: str):
        self.r = r
        self.key = key
        self._add = r.register_script(_ADD)
        self._claim = r.register_script(_CLAIM)
        self._done = r.register_script(_DONE)

    def add(self, kind: str, target: str, delay: float) -> None:
        """Wake ``target`` (a stream, a conversation) up after ``delay`` s; an earlier pending wake-up wins."""
        self._add(keys=[self.key], args=[f"{kind}\t{target}", max(0, math.ceil(delay * 1000))])

    def accept_later(self, delay: float, origin: str, event_id: str, stream: str, kind: str, payload: dict) -> None:
        """Accept a work item into ``stream`` after ``delay`` s (e.g. "show an incomplete imageSet"): the
        stream is not held meanwhile, and the inbox's dedupe makes a wake-up taken twice harmless."""
        self.add(ACCEPT, json.dumps([origin, event_id, stream, kind, payload], ensure_ascii=False, sort_keys=True), delay)

    def claim(self, lease: float = CLAIM_LEASE, batch: int = CLAIM_BATCH) -> list[tuple[str, str, str]]:
        """Take the due wake-ups: [(kind, target, lease token)]; call :meth:`done` once each is enqueued."""
        flat = self._claim(keys=[self.key], args=[int(lease * 1000), batch])
        out = []
        for member, leased in zip(flat[::2], flat[1::2]):
            kind, _, target = member.partition("\t")
            out.append((kind, target, leased))
        return out

    def done(self, kind: str, target: str, leased: str) -> None:
        self._done(keys=[self.key], args=[f"{kind}\t{target}", leased])

    def pending(self) -> list[tuple[str, float]]:
        """(member, due epoch seconds) of every wake-up (admin status)."""
        return [(m, s / 1000) for m, s in self.r.zrange(self.key, 0, -1, withscores=True)]


class Ticker:
    """Moves due wake-ups into rq and re-enqueues stranded streams. One per worker process."""

    def __init__(self, inbox: "Inbox", refresh: Callable[[str], None], *, tick: float = TICK_INTERVAL,
                 sweep_every: float = SWEEP_INTERVAL):
        self.inbox = inbox
        self.refresh = refresh          # enqueue a parent refresh job now
        self.tick_interval = tick
        self.sweep_every = sweep_every
        self._stop = threading.Event()
        self._last_sweep = 0.0
        self._thread: threading.Thread | None = None

    # -- one round --------------------------------------------------------------------
    def move_due(self) -> int:
        moved = 0
        for kind, target, leased in self.inbox.due.claim():
            try:
                if kind == DRAIN:
                    self.inbox.kick(target, at_front=True)  # it has waited already
                elif kind == REFRESH:
                    self.refresh(target)
                elif kind == ACCEPT:
                    self._accept(target)
                else:
                    log.warning("unknown wake-up %r for %r dropped", kind, target)
            except redis.RedisError:
                raise  # the lease brings it back
            except Exception:
                log.exception("wake-up %s %s could not be enqueued; retried after the lease", kind, target)
                continue
            self.inbox.due.done(kind, target, leased)
            moved += 1
        return moved

    def _accept(self, target: str) -> None:
        """A due work item (:meth:`DueSet.accept_later`) into its stream; a malformed one is dropped, not retried."""
        try:
            origin, event_id, stream, kind, payload = json.loads(target)
        except (ValueError, TypeError):
            log.warning("malformed delayed work item dropped: %.200s", target)
            return
        self.inbox.accept(origin, event_id, stream, kind, payload)

    def sweep(self, force: bool = False) -> int:
        """Kick every stranded stream (at most one worker sweeps per interval)."""
        if not self.inbox.r.exists(self.inbox.active_key):
            return 0  # nothing pending anywhere (and an idle bridge writes no key)
        if not force and not self.inbox.r.set(self.inbox.keys.inbox_sweep_lock(), str(os.getpid()), nx=True,
                                               px=int(self.sweep_every * 1000 * 0.9)):
            return 0
        return len(self.inbox.sweep())

    def run_once(self) -> None:
        self.move_due()
        now = time.monotonic()
        if now - self._last_sweep >= self.sweep_every:
            self._last_sweep = now
            self.sweep()

    # -- the thread -------------------------------------------------------------------
    def start(self) -> "Ticker":
        self._thread = threading.Thread(target=self._run, name="bridge-ticker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            self.inbox.adopt_existing_streams()
        except Exception:
            log.exception("ticker: could not index existing streams")
        failing = False
        while not self._stop.wait(self.tick_interval):
            try:
                self.run_once()
                if failing:
                    log.info("ticker: Redis reachable again")
                failing = False
            except redis.RedisError as exc:
                if not failing:
                    log.warning("ticker: Redis unavailable (%s); retrying", exc)
                failing = True
            except Exception:
                log.exception("ticker round failed")
