"""Follows and unfollows of LINE friends, kept whether or not the friend ever wrote.

Why: a campaign brings hundreds of new friends in an hour, and a new friend is not a chat to
answer (LINE's greeting message answers them). With quiet follows the bridge opens no thread
for a follow; what staff need later — since when this person is a friend, whether they came
back after blocking, whether they block the account now — is kept here and shown on the
parent once the friend writes, and /stats and App Home count the follows.

Keys (:mod:`bridge.keys`)::

    follow(conv_id)               hash: followed_at, unblocked ("1"/"0"), blocked ("1"/"0"), unfollowed_at, account
    stats(account, what=follow)   zset: one JSON record per follow event, scored by its time

A redelivered or retried event is the same zset member (it carries the webhook event id), so
it is counted once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from bridge.store.core import Store

KEEP = 400 * 24 * 3600   # s; follow records older than this leave the /stats zset (as the other /stats records)


@dataclass(frozen=True)
class FollowRecord:
    followed_at: float = 0.0     # the friend's last follow (LINE's event time); 0: none recorded
    unblocked: bool = False      # that follow was an unblock (the friend had blocked the account)
    blocked: bool = False        # the friend blocks the account now (an unfollow after the last follow)
    unfollowed_at: float = 0.0


def follow_record(store: Store, conv_id: str) -> FollowRecord:
    raw = store.r.hgetall(store.keys.follow(conv_id=conv_id))
    return FollowRecord(followed_at=_float(raw.get("followed_at")), unblocked=raw.get("unblocked") == "1",
                        blocked=raw.get("blocked") == "1", unfollowed_at=_float(raw.get("unfollowed_at")))


def record_follow(store: Store, account: str, conv_id: str, at: float, unblocked: bool, event_id: str) -> None:
    """The friend added the account (``unblocked``: again, after blocking it)."""
    stats = store.keys.stats(account=account, what="follow")
    member = json.dumps({"conv": conv_id, "unblocked": unblocked, "ev": event_id, "at": at}, separators=(",", ":"))
    pipe = store.r.pipeline()
    pipe.hset(store.keys.follow(conv_id=conv_id), mapping={
        "followed_at": repr(at), "unblocked": "1" if unblocked else "0", "blocked": "0", "account": account})
    pipe.zadd(stats, {member: at})
    pipe.zremrangebyscore(stats, "-inf", at - KEEP)
    pipe.execute()


def record_unfollow(store: Store, account: str, conv_id: str, at: float) -> None:
    """The friend blocked the account: nothing can be sent to them until they follow again."""
    store.r.hset(store.keys.follow(conv_id=conv_id), mapping={"blocked": "1", "unfollowed_at": repr(at), "account": account})


def follows_between(store: Store, account: str, since: float, until: float) -> list[dict]:
    """The follow records of ``account`` in [since, until], oldest first."""
    raw = store.r.zrangebyscore(store.keys.stats(account=account, what="follow"), since, until)
    return [json.loads(m) for m in raw]


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0
