"""The cached quota meter of each account: written by the worker, read by /pending.

LINE's quota and consumption are read at most once a minute per account (``quota-read``
lease); the pushes made in between are counted here (``quota-pushes``) and added to the
usage LINE last reported, so the meter and its warnings stay current without two extra
LINE calls per push.
"""
from __future__ import annotations

import json
import time

from bridge.store.core import Store

CACHE_TTL = 40 * 24 * 3600
READ_INTERVAL = 60  # s: LINE's quota endpoints are read at most this often per account


def save_meter(store: Store, account: str, limit: int | None, used: int, counted_before: int = 0,
               at: float | None = None) -> None:
    """Store what LINE reported; the ``counted_before`` local pushes (counted before the read) are in ``used``
    now. ``at``: when LINE reported ``used`` (the /stats forecast's pace is measured up to then)."""
    pipe = store.r.pipeline()
    pipe.set(store.keys.quota(account=account), json.dumps({"limit": limit, "used": used, "at": at or time.time()}),
             ex=CACHE_TTL)
    if counted_before:
        pipe.decrby(store.keys.quota_pushes(account=account), counted_before)
    pipe.execute()


def claim_read(store: Store, account: str) -> bool:
    """True for the one caller per account and minute that may read LINE's quota endpoints."""
    return bool(store.r.set(store.keys.quota_read(account=account), "1", nx=True, ex=READ_INTERVAL))


def count_push(store: Store, account: str) -> None:
    """One push (one message against the quota, whatever the number of bubbles) since the last read."""
    key = store.keys.quota_pushes(account=account)
    pipe = store.r.pipeline()
    pipe.incr(key)
    pipe.expire(key, CACHE_TTL)
    pipe.execute()


def pushes_since_read(store: Store, account: str) -> int:
    return max(0, int(store.r.get(store.keys.quota_pushes(account=account)) or 0))


def read_meter(store: Store, account: str) -> dict | None:
    """``{limit, used, at}``: LINE's last reading plus the pushes counted since."""
    raw = store.r.get(store.keys.quota(account=account))
    if not raw:
        return None
    meter = json.loads(raw)
    meter["used"] = int(meter.get("used") or 0) + pushes_since_read(store, account)
    return meter


def warn_once(store: Store, account: str, month: str, level: int) -> bool:
    """True the first time ``level`` is reached in ``month`` — and again while its warning is unsaid."""
    key = store.keys.quota_warned(account=account, month=month, level=level)
    return bool(store.r.set(key, "1", nx=True, ex=CACHE_TTL)) or _is_unsaid(store.r.get(key))


def warn_unsaid(store: Store, account: str, month: str, level: int) -> bool:
    """The warning of ``level`` was claimed but could not be posted yet (Slack made it wait)."""
    return _is_unsaid(store.r.get(store.keys.quota_warned(account=account, month=month, level=level)))


def warned(store: Store, account: str, month: str, level: int, said: bool) -> None:
    """The claimed warning of ``level`` was posted (``said``), or has to wait for its turn."""
    store.r.set(store.keys.quota_warned(account=account, month=month, level=level), "1" if said else "unsaid", ex=CACHE_TTL)


def _is_unsaid(value) -> bool:
    return value in ("unsaid", b"unsaid")
