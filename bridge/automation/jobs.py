"""rq job of the automation: the periodic sweep (enqueued by :mod:`bridge.automation.ticker`)."""
from __future__ import annotations

import logging
import os

from bridge import clock
from bridge.runtime import get_runtime

log = logging.getLogger(__name__)

SWEEP_LOCK_MS = 300_000


def sweep() -> dict:
    """SLA breaches → alerts, parents at opening/closing. One sweep at a time; idempotent anyway."""
    rt = get_runtime()
    lock = rt.keys.sweep_lock()
    if not rt.redis.set(lock, str(os.getpid()), nx=True, px=SWEEP_LOCK_MS):
        return {"skipped": True}
    try:
        stats = rt.domain.automation.sweep(clock.now())
    finally:
        rt.redis.delete(lock)
    if stats.get("queued"):
        log.info("automation sweep: %s", stats)
    return stats


def publish_home(user_id: str) -> None:
    """Render one person's App Home (on app_home_opened)."""
    get_runtime().domain.automation.home.publish(user_id)


def set_duty(user_id: str, on: bool) -> None:
    """The App Home's on/off duty switch (fair assignment skips people off duty)."""
    get_runtime().domain.automation.home.set_duty(user_id, bool(on))


def stats_chart(user_id: str, accounts: list[str], days: int, now: float) -> bool:
    """The /stats chart: drawn from the same report as the message and uploaded privately to the asker."""
    return get_runtime().domain.automation.stats_chart.send(user_id, list(accounts), int(days), float(now))
