"""Redis state of the automation (business hours, SLA sweep, 返信待ち reminders).

Keys come from :mod:`bridge.keys`; the SLA candidates are read straight from the
/pending indexes (:mod:`bridge.store.backlog`), whose per-mark sorted sets are scored
``rank * 1e11 + waiting_since``: "waiting since at most X" is one ZRANGEBYSCORE.
"""
from __future__ import annotations

import json

import redis

from bridge.keys import Keys
from bridge.store.backlog import NOT_WAITING_OFFSET, RANK_STRIDE, UNASSIGNED, Backlog

BREACH_TTL = 400 * 24 * 3600

# ARGV[1] key prefix, ARGV[2..] suffixes -> 1/0 per suffix
_EXISTS_MANY = """
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('EXISTS', ARGV[1] .. ARGV[i]) end
return out
"""
# ARGV[1..3] prefixes of inbox / drain-queued / lock keys, ARGV[4..] streams -> 1 when stranded
_STRANDED = """
local out = {}
for i = 4, #ARGV do
  local s = ARGV[i]
  local stranded = 0
  if redis.call('LLEN', ARGV[1] .. s) > 0 and redis.call('EXISTS', ARGV[2] .. s) == 0
     and redis.call('EXISTS', ARGV[3] .. s) == 0 then stranded = 1 end
  out[i - 3] = stranded
end
return out
"""


class AutomationStore:
    def __init__(self, r: redis.Redis, keys: Keys, backlog: Backlog):
        self.r = r
        self.keys = keys
        self.backlog = backlog
        # Like the backlog's script, these build key names from prefixes (standalone Redis, or a hash tag).
        self._exists_many = r.register_script(_EXISTS_MANY)
        self._stranded = r.register_script(_STRANDED)

    # -- once-only claims --------------------------------------------------------------
    def claim_once(self, key: str, owner: str, ttl: int) -> bool:
        """True for the first claimant of ``key`` — and again for the same ``owner`` (a retried job)."""
        if self.r.set(key, owner, nx=True, ex=max(1, int(ttl))):
            return True
        return self.r.get(key) == owner

    def claim_closed_reply(self, conv_id: str, period: str, owner: str, ttl: int) -> bool:
        """Whether ``owner`` (the friend message's event) sends the closed period's auto-reply of the conversation."""
        return self.claim_once(self.keys.closed_reply(conv_id=conv_id, period=period), owner, ttl)

    def try_lock(self, key: str, ttl_ms: int, owner: str = "1") -> bool:
        return bool(self.r.set(key, owner, nx=True, px=max(1, int(ttl_ms))))

    def unlock(self, key: str) -> None:
        self.r.delete(key)

    # -- SLA ----------------------------------------------------------------------------
    def waiting_between(self, account: str, mark: str, after: float, upto: float) -> list[tuple[str, float]]:
        """Conversations of ``account`` with effective mark ``mark`` waiting since a time in (after, upto]."""
        if upto <= 0 or upto <= after:
            return []
        base = self.backlog.marks.rank(mark) * RANK_STRIDE  # the mark's score band
        lo, hi = self.backlog.score(mark, max(after, 1e-3)), self.backlog.score(mark, upto)
        rows = self.r.zrangebyscore(self.keys.backlog_mark(account=account, mark=mark), f"({lo}", hi, withscores=True)
        return [(conv_id, score - base) for conv_id, score in rows]

    def already_queued(self, origin: str, event_ids: list[str]) -> list[bool]:
        """Which of these work items the inbox has accepted already (its dedupe keys): one script call."""
        if not event_ids:
            return []
        found = self._exists_many(args=[self.keys.dedupe(origin=origin, event_id=""), *event_ids])
        return [bool(x) for x in found]

    def stranded(self, streams: list[str]) -> list[bool]:
        """Streams holding work with no drain job queued and nobody draining them (a worker died
        between accepting and enqueueing): they need a kick. One script call."""
        if not streams:
            return []
        prefixes = [self.keys.inbox(stream=""), self.keys.inbox_drain_queued(stream=""), self.keys.inbox_lock(stream="")]
        return [bool(x) for x in self._stranded(args=[*prefixes, *streams])]

    def record_breach(self, account: str, conv_id: str, level: int, waiting_since: float, at: float) -> None:
        key = self.keys.sla_breaches(account=account)
        pipe = self.r.pipeline()
        pipe.zadd(key, {f"{conv_id}:{level}:{waiting_since!r}": at})
        pipe.zremrangebyscore(key, "-inf", at - BREACH_TTL)
        pipe.execute()

    def breaches(self, account: str, since: float, until: float) -> list[tuple[str, float]]:
        return self.r.zrangebyscore(self.keys.sla_breaches(account=account), since, until, withscores=True)

    # -- business hours transitions -----------------------------------------------------------
    def swap_hours_state(self, account: str, state: str) -> str:
        """Record ``state`` ("open"/"closed") for ``account``; returns the previous one ("" the first time)."""
        key = self.keys.hours_state()
        pipe = self.r.pipeline()
        pipe.hget(key, account)
        pipe.hset(key, account, state)
        return pipe.execute()[0] or ""

    def note_closed_shown(self, account: str) -> None:
        """A parent of ``account`` was rendered with 🌙 営業時間外: it must be refreshed at the next opening."""
        self.r.sadd(self.keys.hours_closed_shown(), account)

    def take_closed_shown(self, account: str) -> bool:
        """Whether a parent was rendered closed since the last opening (and forget it)."""
        return bool(self.r.srem(self.keys.hours_closed_shown(), account))

    def waiting_in(self, account: str, mark: str) -> list[str]:
        """Conversations of ``mark`` somebody waits in (the parents that show 営業時間外)."""
        return [c for c, _ in self.waiting_between(account, mark, 0.0, NOT_WAITING_OFFSET - 1)]

    # -- 返信待ち reminders -----------------------------------------------------------------
    def reminder_state(self, conv_id: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.reminder(conv_id=conv_id))

    def set_reminder_state(self, conv_id: str, **fields: object) -> None:
        self.r.hset(self.keys.reminder(conv_id=conv_id), mapping={k: str(v) for k, v in fields.items()})

    def reset_reminders(self, conv_id: str) -> None:
        """The friend wrote or the mark changed: the reminder count starts again (the off switch stays)."""
        self.r.hdel(self.keys.reminder(conv_id=conv_id), "count", "period", "since")

    # -- /stats records ------------------------------------------------------------------------
    def record_stat(self, account: str, kind: str, record: dict, at: float) -> None:
        key = self.keys.stats(account=account, what=kind)
        pipe = self.r.pipeline()
        pipe.zadd(key, {json.dumps({**record, "at": at}, separators=(",", ":")): at})
        pipe.zremrangebyscore(key, "-inf", at - BREACH_TTL)
        pipe.execute()

    def stats_between(self, account: str, kind: str, since: float, until: float) -> list[tuple[str, float]]:
        return self.r.zrangebyscore(self.keys.stats(account=account, what=kind), since, until, withscores=True)

    def set_episode(self, conv_id: str, at: float) -> None:
        self.r.hset(self.keys.episode(), conv_id, repr(at))

    def take_episode(self, conv_id: str) -> float:
        pipe = self.r.pipeline()
        pipe.hget(self.keys.episode(), conv_id)
        pipe.hdel(self.keys.episode(), conv_id)
        raw = pipe.execute()[0]
        return float(raw) if raw else 0.0

    # -- fair assignment ------------------------------------------------------------------------
    def unassigned_in(self, account: str, mark: str) -> list[str]:
        """Open conversations of ``mark`` nobody owns (the mark's band of the "unassigned" index)."""
        base = self.backlog.marks.rank(mark) * RANK_STRIDE
        return self.r.zrangebyscore(self.keys.backlog_assignee(account=account, assignee=UNASSIGNED),
                                    base, f"({base + RANK_STRIDE}")

    def next_turn(self, account: str) -> int:
        return int(self.r.incr(self.keys.assign_turn(account=account))) - 1

    def off_duty(self, people: list[str]) -> set[str]:
        values = self.r.hmget(self.keys.duty(), people) if people else []
        return {p for p, v in zip(people, values) if v == "off"}

    def set_duty(self, person: str, on: bool) -> None:
        if on:
            self.r.hdel(self.keys.duty(), person)
        else:
            self.r.hset(self.keys.duty(), person, "off")

    def members_of_mark(self, account: str, mark: str) -> list[str]:
        return self.r.zrange(self.keys.backlog_mark(account=account, mark=mark), 0, -1)
