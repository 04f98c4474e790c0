"""The due set: delayed work kept in Redis, moved by every worker's ticker.

Why not rq's scheduler: delayed jobs in rq's ScheduledJobRegistry are only moved by the worker
holding rq's scheduler lock; after that worker is SIGKILLed another takes the lock only at rq's
10-minute maintenance interval. Here delayed work is a Redis sorted set (``member -> due time``,
Redis's own clock, so workers' clocks never matter) and **every** worker's
:class:`~bridge.engine.ticker.Ticker` claims what is due.

Guarantees: a claim is atomic (Lua) and pushes the entry's score one lease ahead, so two
tickers never both take it, and a ticker that dies between claim and enqueue loses nothing:
the entry is due again when the lease ends. Adding keeps the *earliest* pending time of a
member, so repeated wake-ups of one stream coalesce. Members are ``kind\ttarget``:

* ``drain\t<stream>`` — enqueue a drain of the stream (a back-off is over);
* ``refresh\t<conv_id>`` — enqueue a (coalesced) parent refresh;
* ``accept\t<JSON>`` — accept a work item into its stream (:meth:`DueSet.accept_later`).
"""
from __future__ import annotations

import json
import math

import redis

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
