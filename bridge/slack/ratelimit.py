"""Pacing Slack Web API calls before Slack has to refuse them: one shared limiter in Redis.

Slack limits ``chat.postMessage`` to about one message per second per channel (short bursts
allowed) and ``chat.update`` / ``reactions.*`` per workspace (Tier 3, ~50/min); beyond that it
answers HTTP 429 with ``Retry-After``. https://docs.slack.dev/apis/web-api/rate-limits

Every worker asks :meth:`SlackRateLimiter.acquire` before such a call. Each (tier, scope) pair
(scope = channel for posts, the workspace otherwise) is a GCRA token bucket ("generic cell rate
algorithm": the bucket is one number, the *theoretical arrival time*), kept in one Redis hash and
changed by one Lua script, so all workers share it and see Redis' clock.

Fairness: a caller that must wait more than ``max_sleep`` gets a *ticket*: the next free slot is
reserved for it (keyed by ``owner``, e.g. the post key, which is stable across retries) and it is
told when to come back. Tickets are handed out in the order callers asked, one slot each, so the
callers form a FIFO line with distinct turns: no thundering herd, and a stream that was told to
wait gets its turn instead of losing the race to newcomers. When the holder comes back, its ticket
is redeemed (a short remaining wait is slept).

On a real 429 :meth:`penalize` pushes the whole line back by ``Retry-After`` (every worker then
waits) and gives the refused caller the first slot after it.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import redis

from bridge.keys import Keys

log = logging.getLogger(__name__)

POST = "post"          # chat.postMessage: per channel
UPDATE = "update"      # chat.update: Tier 3, per workspace
REACTIONS = "reactions"  # reactions.add / reactions.remove: Tier 3, per workspace
PER_CHANNEL = {POST}


@dataclass(frozen=True)
class Limit:
    rate: float    # calls per second
    burst: float   # calls allowed back to back after a quiet spell

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        return (self.burst - 1.0) * self.interval


# Slack documents "1 per second per channel, short bursts allowed" for chat.postMessage (the burst size is
# not published; 4 stays one call below the emulator's/observed 5, a margin for wake-up jitter) and
# Tier 3 (50+/min) for chat.update and reactions.*.
DEFAULT_LIMITS: dict[str, Limit] = {
    POST: Limit(1.0, 4.0),
    UPDATE: Limit(50 / 60, 5.0),
    REACTIONS: Limit(50 / 60, 5.0),
}
ENV_OF_TIER = {POST: "SLACK_RATE_POST", UPDATE: "SLACK_RATE_UPDATE", REACTIONS: "SLACK_RATE_REACTIONS"}
# s; a caller sleeps a wait up to this long in its worker, a longer one is handed back (RetryLater) and its turn
# kept as a ticket. Short on purpose: a sleeping worker takes no other job, and a reply storm's new chats must
# reach /pending (their state step, in the next drain job) within a second while every post waits its turn.
MAX_SLEEP = 0.3
JUMP_MAX_SLEEP = 3.0   # s; the most a notice that goes before the line (jump) sleeps for the next call slot
TICKET_GRACE = 120     # s; an unredeemed ticket (its holder gave up or crashed) expires this long after its slot

# Every script's first lines: ARGV[1] is "now" (s), or < 0 for Redis' own clock.
_NOW = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS[1] bucket hash {tat, shift, blocked, ctat}, KEYS[2] ticket of the owner ("" owner: ARGV[5] = 0).
# ARGV: now (< 0: Redis' clock), interval, tolerance, max_sleep, has_owner, ticket grace.
# Returns {granted, wait}: granted = 1 -> call after sleeping `wait`; 0 -> come back in `wait` s
# (with an owner, its slot is then reserved as a ticket).
_ACQUIRE = _NOW + """
local T, tau, max_sleep = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tat', 'shift', 'blocked', 'ctat')
local tat = math.max(tonumber(state[1] or '0'), now)
local shift = tonumber(state[2] or '0')
local blocked = tonumber(state[3] or '0')
local ctat = math.max(tonumber(state[4] or '0'), now)
-- Turns are reserved by `tat`; the calls themselves (`ctat`) must also stay within rate and burst:
-- holders who come back late (a busy queue) would otherwise all call at once.
local call_at = math.max(now, ctat - tau, blocked)
local function go(at)
  redis.call('HSET', KEYS[1], 'ctat', tostring(math.max(ctat, at) + T))
end
if ARGV[5] == '1' then
  local ticket = redis.call('GET', KEYS[2])
  if ticket then
    local sep = string.find(ticket, ' ')
    local slot = tonumber(string.sub(ticket, 1, sep - 1)) + shift - tonumber(string.sub(ticket, sep + 1))
    local at = math.max(slot, call_at)
    if at - now <= max_sleep then
      redis.call('DEL', KEYS[2])
      go(at)
      return {1, tostring(at - now)}
    end
    return {0, tostring(at - now)}
  end
end
local slot = math.max(now, tat - tau, blocked)
local at = math.max(slot, call_at)
if at - now > max_sleep and ARGV[5] ~= '1' then
  return {0, tostring(at - now)}
end
local new_tat = math.max(tat, slot) + T
redis.call('HSET', KEYS[1], 'tat', tostring(new_tat), 'shift', tostring(shift))
redis.call('PEXPIRE', KEYS[1], math.ceil((new_tat - now + 3600) * 1000))
if at - now <= max_sleep then
  go(at)
  return {1, tostring(at - now)}
end
redis.call('SET', KEYS[2], tostring(slot) .. ' ' .. tostring(shift), 'EX', math.ceil(slot - now + tonumber(ARGV[6])))
return {0, tostring(at - now)}
"""

# A real 429: nothing may go before now + Retry-After. The line of tickets moves back by as much
# as the block grew (plus one slot for the refused caller, who gets the first turn after it), and
# the bucket restarts without a burst. KEYS as above; ARGV: now, interval, tolerance, retry_after,
# has_owner, ticket grace.
_PENALIZE = _NOW + """
local T, tau, ra = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tat', 'shift', 'blocked')
local tat = math.max(tonumber(state[1] or '0'), now)
local shift = tonumber(state[2] or '0')
local blocked = tonumber(state[3] or '0')
local until_ = now + ra
local slot = math.max(until_, blocked)
if until_ > blocked then
  local delta = until_ - math.max(blocked, now) + T
  shift = shift + delta
  tat = math.max(tat + delta, until_ + T + tau)
  blocked = until_
end
-- calls restart one per interval after the block, without a burst
local ctat = math.max(tonumber(redis.call('HGET', KEYS[1], 'ctat') or '0'), until_ + tau)
redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'shift', tostring(shift), 'blocked', tostring(blocked),
           'ctat', tostring(ctat))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now + 3600) * 1000))
if ARGV[5] == '1' then
  redis.call('SET', KEYS[2], tostring(slot) .. ' ' .. tostring(shift), 'EX', math.ceil(slot - now + tonumber(ARGV[6])))
end
return tostring(slot - now)
"""

# After sleeping a granted wait: did a 429 block the bucket meanwhile? Then take a turn right after
# the block instead of calling into it. KEYS as above; ARGV: now, interval, ticket grace.
# Returns the wait (> 0: blocked, a ticket was set) or 0.
_RECHECK = _NOW + """
local state = redis.call('HMGET', KEYS[1], 'blocked', 'shift')
local blocked = tonumber(state[1] or '0')
if blocked <= now then return '0' end
local slot = blocked + tonumber(ARGV[2])
redis.call('SET', KEYS[2], tostring(slot) .. ' ' .. (state[2] or '0'), 'EX', math.ceil(slot - now + tonumber(ARGV[3])))
return tostring(slot - now)
"""


# A call that goes before everyone waiting (one short notice about the wait itself): it takes the next
# call slot, and every reserved turn (ticket) and the line behind them move back by one interval, so
# rate and burst still hold and nobody loses their place. KEYS[1] bucket; ARGV: now, interval,
# tolerance. Returns the wait before the call.
_JUMP = _NOW + """
local T, tau = tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tat', 'shift', 'blocked', 'ctat')
local tat = math.max(tonumber(state[1] or '0'), now)
local shift = tonumber(state[2] or '0')
local blocked = tonumber(state[3] or '0')
local ctat = math.max(tonumber(state[4] or '0'), now)
local at = math.max(now, ctat - tau, blocked)
redis.call('HSET', KEYS[1], 'tat', tostring(tat + T), 'shift', tostring(shift + T),
           'ctat', tostring(math.max(ctat, at) + T))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat + T - now + 3600) * 1000))
return tostring(at - now)
"""


def parse_limit(value: str) -> Limit:
    """``"<calls per second>,<burst>"`` (e.g. ``"1,4"``, ``"0.83,5"``)."""
    rate_s, sep, burst_s = value.partition(",")
    rate, burst = float(rate_s), float(burst_s if sep else 1)
    if not (rate > 0 and burst >= 1):
        raise ValueError(f"rate must be > 0 and burst >= 1 (got {value!r})")
    return Limit(rate, burst)


def limits_from_env(env: Mapping[str, str] | None = None) -> dict[str, Limit] | None:
    """The limits, with ``SLACK_RATE_POST`` / ``_UPDATE`` / ``_REACTIONS`` overriding the defaults;
    None when ``SLACK_RATE_LIMITS=off`` (no pacing: every call goes straight to Slack)."""
    env = os.environ if env is None else env
    if (env.get("SLACK_RATE_LIMITS") or "").strip().lower() in ("off", "0", "false", "no"):
        return None
    limits = dict(DEFAULT_LIMITS)
    for tier, name in ENV_OF_TIER.items():
        raw = (env.get(name) or "").strip()
        if raw:
            try:
                limits[tier] = parse_limit(raw)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}; expected '<calls per second>,<burst>', e.g. '1,4'") from None
    return limits


class SlackRateLimiter:
    def __init__(self, r: redis.Redis, keys: Keys, limits: Mapping[str, Limit] | None = None,
                 clock: Callable[[], float] | None = None, max_sleep: float = MAX_SLEEP):
        self.r = r
        self.keys = keys
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.clock = clock  # None: Redis' clock (shared by every worker)
        self.max_sleep = max_sleep
        self._acquire = r.register_script(_ACQUIRE)
        self._penalize = r.register_script(_PENALIZE)
        self._recheck = r.register_script(_RECHECK)
        self._jump = r.register_script(_JUMP)

    def _keys(self, tier: str, scope: str, owner: str) -> list[str]:
        scope = scope if tier in PER_CHANNEL else "workspace"
        return [self.keys.rate_bucket(tier=tier, scope=scope),
                self.keys.rate_ticket(tier=tier, scope=scope, owner=owner or "-")]

    def _now(self) -> float:
        return self.clock() if self.clock else -1.0

    def acquire(self, tier: str, scope: str, owner: str = "") -> tuple[bool, float]:
        """Ask for a call of ``tier`` on ``scope`` (the channel; ignored for workspace tiers).

        ``(True, wait)``: make the call after sleeping ``wait`` (≤ ``max_sleep``) seconds.
        ``(False, wait)``: don't call now; come back in ``wait`` seconds. With an ``owner`` its
        turn is then reserved (a ticket), so asking again with the same owner at that time succeeds.
        """
        limit = self.limits.get(tier)
        if limit is None:
            return True, 0.0
        granted, wait = self._acquire(keys=self._keys(tier, scope, owner),
                                      args=[repr(self._now()), repr(limit.interval), repr(limit.tolerance),
                                            repr(self.max_sleep), "1" if owner else "0", TICKET_GRACE])
        return bool(int(granted)), float(wait)

    def jump(self, tier: str, scope: str, sleep: Callable[[float], None] = time.sleep) -> None:
        """Go before everyone waiting for ``tier`` on ``scope`` (sleeping until the next call slot).

        For one short notice about the wait itself (the channel's saturation notice): telling the
        team that posts are queued is only useful before the queue has drained. Every reserved
        turn moves back by one interval, so the limit still holds and the order of the line is kept.
        """
        limit = self.limits.get(tier)
        if limit is None:
            return
        wait = float(self._jump(keys=self._keys(tier, scope, "")[:1],
                                args=[repr(self._now()), repr(limit.interval), repr(limit.tolerance)]))
        if wait > 0:
            sleep(min(wait, JUMP_MAX_SLEEP))

    def penalize(self, tier: str, scope: str, retry_after: float, owner: str = "") -> float:
        """Slack answered 429 with ``Retry-After``: every caller of the bucket waits that long; the
        refused ``owner`` gets the first turn after it. Returns the owner's wait in seconds."""
        limit = self.limits.get(tier)
        if limit is None:
            return retry_after
        wait = self._penalize(keys=self._keys(tier, scope, owner),
                              args=[repr(self._now()), repr(limit.interval), repr(limit.tolerance),
                                    repr(float(retry_after)), "1" if owner else "0", TICKET_GRACE])
        log.warning("Slack refused a %s call on %s (429, Retry-After %ss): every worker backs off", tier,
                    scope, retry_after)
        return float(wait)

    def wait_or_raise(self, tier: str, scope: str, owner: str, sleep: Callable[[float], None] = time.sleep):
        """Acquire; sleep a short wait here, or raise :class:`RetryLater` with the reserved turn."""
        from bridge.model import RetryLater

        granted, wait = self.acquire(tier, scope, owner)
        if granted:
            if wait > 0:
                sleep(wait)
                limit = self.limits[tier]
                wait = float(self._recheck(keys=self._keys(tier, scope, owner),
                                           args=[repr(self._now()), repr(limit.interval), TICKET_GRACE]))
                if wait > 0:  # another worker's call was refused (429) while we slept: honour its Retry-After
                    raise RetryLater(f"Slack {tier} on {scope}: blocked by Retry-After", delay=max(0.0, wait - 1.0),
                                     throttled=True, paced=True)
            return
        # Come back up to max_sleep early (the due set wakes a stream up to a tick late); a remaining wait is
        # slept then, and a late return is made up by the burst the call slots allow (the turn itself is kept).
        raise RetryLater(f"Slack {tier} on {scope}: paced, turn in {wait:.1f}s",
                         delay=max(0.0, wait - self.max_sleep), throttled=True, paced=True)
