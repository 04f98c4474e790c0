"""The cached quota meter of each account (``quota:<account>``): written by the worker, read by /pending."""
from __future__ import annotations

import json
import time

from bridge.store.core import Store

CACHE_TTL = 40 * 24 * 3600


def save_meter(store: Store, account: str, limit: int | None, used: int, at: float | None = None) -> None:
    """``at``: when LINE reported ``used`` (the /stats forecast's pace is measured up to then)."""
    store.r.set(store.keys.quota(account=account), json.dumps({"limit": limit, "used": used, "at": at or time.time()}),
                ex=CACHE_TTL)


def read_meter(store: Store, account: str) -> dict | None:
    raw = store.r.get(store.keys.quota(account=account))
    return json.loads(raw) if raw else None


def warn_once(store: Store, account: str, month: str, level: int) -> bool:
    """True the first time ``level`` is reached in ``month``."""
    return bool(store.r.set(store.keys.quota_warned(account=account, month=month, level=level), "1", nx=True, ex=CACHE_TTL))
