"""Every rq entry point of the bridge, in one module.

rq runs a job by importing the function named in the job hash, in a work horse forked from
the worker (:mod:`bridge.worker`). So jobs are importable module-level functions taking
primitives only (the queues use rq's JSON serializer), and callers enqueue them **by
reference** (``queue.enqueue(jobs.drain, stream)``): rq derives the stored name
(``bridge.engine.jobs.drain``) from the function, so no job name is typed as a string anywhere.

A job reaches Redis, the store and the gateways through the process's runtime. The runtime
(the composition root, :mod:`bridge.runtime`) imports the engine, so the engine does not
import it back: the runtime hands its accessor to :func:`serve` when it is imported (the
worker imports it before taking any job, and every horse is forked from the worker).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable

from bridge import clock

log = logging.getLogger(__name__)

AUTOMATION_SWEEP_LOCK_MS = 300_000  # one automation sweep at a time (it is idempotent anyway)
RETENTION_LOCK_MS = 600_000  # one retention run at a time (a run stops after a minute; this outlives it)
BACKFILL_SLICE_S = 1.0  # s one backfill job walks before queueing the next: relay jobs go first in between

_runtime: Callable[[], Any] | None = None


def serve(runtime: Callable[[], Any]) -> None:
    """Let the entry points reach this process's runtime through ``runtime()`` (bridge.runtime.get_runtime)."""
    global _runtime
    _runtime = runtime


def _rt() -> Any:
    if _runtime is None:
        raise RuntimeError("no bridge runtime in this process: jobs run in bridge.worker.BridgeWorker, "
                           "which imports bridge.runtime")
    return _runtime()


# -- the queue engine's own -----------------------------------------------------------------
def drain(stream: str) -> int:
    """Process the queued work of one stream, in order (see :mod:`bridge.engine.drain`)."""
    rt = _rt()
    return rt.inbox.drain(stream, rt.domain)


def refresh_parent(conv_id: str) -> None:
    """Re-render a conversation's thread parent (coalesced, see bridge.relay.portal.ParentRefresh.request)."""
    _rt().domain.portals.run_parent_refresh(conv_id)


# -- the automation (business hours, SLA, App Home, /stats) ---------------------------------
def automation_sweep() -> dict:
    """SLA breaches → alerts, parents at opening/closing, reminders. Enqueued by the worker's
    ticker every ``BRIDGE_SWEEP_INTERVAL`` s; one sweep at a time, idempotent anyway."""
    rt = _rt()
    lock = rt.keys.sweep_lock()
    if not rt.redis.set(lock, str(os.getpid()), nx=True, px=AUTOMATION_SWEEP_LOCK_MS):
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
    _rt().domain.automation.home.publish(user_id)


def set_duty(user_id: str, on: bool) -> None:
    """The App Home's on/off duty switch (fair assignment skips people off duty)."""
    _rt().domain.automation.home.set_duty(user_id, bool(on))


def stats_chart(user_id: str, accounts: list[str], days: int, now: float) -> bool:
    """The /stats chart: drawn from the same report as the message and uploaded privately to the asker."""
    return _rt().domain.automation.stats_chart.send(user_id, list(accounts), int(days), float(now))


# -- retention (bridge.privacy.retention) ------------------------------------------------------
def retention_sweep() -> dict:
    """Delete archived messages and media older than each account's ``retention_days``, in bounded
    batches; a run that stopped at its limit queues the next one. Enqueued daily by the worker's ticker."""
    rt = _rt()
    lock = rt.keys.retention_lock()
    if not rt.redis.set(lock, str(os.getpid()), nx=True, px=RETENTION_LOCK_MS):
        return {"skipped": True}
    try:
        run = rt.domain.retention.run(clock.now())
    finally:
        rt.redis.delete(lock)
    if run.more:
        rt.low_queue.enqueue(retention_sweep, result_ttl=60, failure_ttl=86400, job_timeout=600)
    return run.as_dict()


# -- one-time data backfills (bridge.store.backfill) ------------------------------------------
def backfill(name: str, token: str) -> dict:
    """One slice of a backfill's job chain (``token``: its lease). Queues the next slice on the low
    queue while more remains, so a worker takes relay work between slices. Started by the ticker."""
    rt = _rt()
    job = rt.backfills.get(name)
    run = job.run_slice(token, BACKFILL_SLICE_S)
    if run.more:
        rt.low_queue.enqueue(backfill, name, token, result_ttl=60, failure_ttl=86400, job_timeout=600)
    elif run.ran and job.done():
        log.info("backfill %s finished (%s)", name, job.progress())
    return run.as_dict()
