"""A small ticker in each rq worker process that enqueues the periodic sweep.

Every ``BRIDGE_SWEEP_INTERVAL`` seconds (default 30) each worker tries ``SET NX PX`` on one
Redis key; the one that wins enqueues :data:`bridge.work.JOB_SWEEP` on the low-priority
queue, so several workers enqueue one sweep per interval between them. The sweep itself is
idempotent (see :mod:`bridge.automation.sla`), so a duplicate or a lost tick costs nothing
but a delay. Kept apart so a shared "due set" scheduler can replace it.
"""
from __future__ import annotations

import logging
import os
import threading

from bridge.work import JOB_SWEEP

log = logging.getLogger(__name__)


def interval() -> float:
    try:
        return max(0.2, float(os.environ.get("BRIDGE_SWEEP_INTERVAL") or 30))
    except ValueError:
        return 30.0


def tick(rt) -> bool:
    """Enqueue one sweep unless another worker did within the interval. True if this call did."""
    every = interval()
    if not rt.redis.set(rt.keys.sweep_tick(), str(os.getpid()), nx=True, px=int(every * 1000)):
        return False
    rt.low_queue.enqueue(JOB_SWEEP, result_ttl=60, failure_ttl=86400, job_timeout=600)
    return True


def start(rt) -> threading.Thread:
    """Start the ticker thread (daemon: it dies with the worker)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval()):
            try:
                tick(rt)
            except Exception as exc:  # noqa: BLE001 - Redis down: try again next tick
                log.warning("automation tick failed: %s", exc)

    thread = threading.Thread(target=loop, name="automation-ticker", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
