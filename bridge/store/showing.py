"""What waits to be shown in Slack: per triage channel, the conversations whose friend messages
are known (in /pending) but not yet posted, and the channel's saturation notice.

Why: Slack takes one post per second per channel. On a campaign day hundreds of chats wait
for their turn; the team should hear about it once (and that /pending already has them)
instead of watching a backlog build silently. The set is the measure of "how far behind".
"""
from __future__ import annotations

from bridge.store.core import Store

STALE_AFTER = 3600  # s; an entry this old is a post that failed for good (dead-lettered): not waiting any more


def waiting_add(store: Store, channel: str, conv_id: str, since: float) -> None:
    """``conv_id`` has something not yet shown (kept: the oldest time it started waiting)."""
    store.r.zadd(store.keys.slack_waiting(channel=channel), {conv_id: since}, nx=True)


def waiting_done(store: Store, channel: str, conv_id: str) -> int:
    """``conv_id`` is shown; returns how many conversations still wait in ``channel``."""
    key = store.keys.slack_waiting(channel=channel)
    pipe = store.r.pipeline()
    pipe.zrem(key, conv_id)
    pipe.zcard(key)
    return int(pipe.execute()[1])


def waiting_stats(store: Store, channel: str, now: float) -> tuple[int, float]:
    """(how many conversations wait, since when the oldest waits; 0 if none). Stale entries are dropped."""
    key = store.keys.slack_waiting(channel=channel)
    pipe = store.r.pipeline()
    pipe.zremrangebyscore(key, "-inf", f"({now - STALE_AFTER}")
    pipe.zcard(key)
    pipe.zrange(key, 0, 0, withscores=True)
    _, count, oldest = pipe.execute()
    return int(count), (float(oldest[0][1]) if oldest else 0.0)


def notice_get(store: Store, channel: str) -> dict[str, str]:
    return store.r.hgetall(store.keys.saturation(channel=channel))


def notice_claim(store: Store, channel: str, post_key: str, count: int, now: float) -> bool:
    """Start the one saturation notice of ``channel``; False if there is one already."""
    key = store.keys.saturation(channel=channel)
    if not store.r.hsetnx(key, "key", post_key):
        return False
    store.r.hset(key, mapping={"count": str(count), "claimed_at": repr(now)})
    return True


def notice_set(store: Store, channel: str, **fields: str) -> None:
    store.r.hset(store.keys.saturation(channel=channel), mapping=fields)


def notice_clear(store: Store, channel: str, post_key: str) -> bool:
    """Forget the notice (caught up) if it is still ``post_key``'s; True when this caller did."""
    key = store.keys.saturation(channel=channel)
    if store.r.hget(key, "key") != post_key:
        return False
    return bool(store.r.delete(key))  # (a race with a new claim costs at most one more notice)
