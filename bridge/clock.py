"""The clock that business hours, SLA alerts, reminders and stats read: ``clock.now()``.

In production it is ``time.time()``. Tests control it across processes (the web app and
the rq worker subprocesses of an end-to-end test) — only when ``BRIDGE_TEST_CLOCK=1`` is
set in the environment, so a production deployment can never be moved in time:

* ``BRIDGE_FAKE_NOW=<epoch seconds>`` fixes "now" for a process (e.g. a CLI run);
* otherwise a fixed "now" written to the Redis key ``keys.clock()`` (by :func:`set_fake_now`)
  is read by every process of the namespace (one GET per call, test runs only).
"""
from __future__ import annotations

import os
import time

import redis

_redis: redis.Redis | None = None
_key = ""


def test_clock_enabled() -> bool:
    return os.environ.get("BRIDGE_TEST_CLOCK") == "1"


def install(r: redis.Redis, key: str) -> None:
    """Let :func:`now` read the shared fake clock of this namespace (called by the runtime)."""
    global _redis, _key
    _redis, _key = r, key


def now() -> float:
    if not test_clock_enabled():
        return time.time()
    fixed = os.environ.get("BRIDGE_FAKE_NOW")
    if fixed:
        return float(fixed)
    if _redis is not None and _key:
        value = _redis.get(_key)
        if value:
            return float(value)
    return time.time()


def set_fake_now(r: redis.Redis, key: str, when: float | None) -> None:
    """Tests: fix "now" for every process of the namespace (None: back to the real clock)."""
    if when is None:
        r.delete(key)
    else:
        r.set(key, repr(float(when)))
