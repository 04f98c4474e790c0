"""The web process's start-up work, run beside serving instead of before it.

Why: gunicorn's worker builds the app with :func:`handlers.app.create_app`; while that runs, the
process answers nothing — not LINE's webhooks (LINE wants an answer within 2 s, retries and marks
the webhook failing) and not the health check. The start-up work that must come before any
request is handled (:meth:`bridge.runtime.Runtime.prepare`: the key layout migration, which may
mean waiting for another process running it) runs here in a thread. Until it is done the app
answers ``/healthz`` with 503 and what it is waiting for; every other request waits for it up to
1.5 s (a normal start is never seen) and then gets 503 (LINE and Slack deliver again), never silence. A failure (Redis unavailable, the wait for
another process's migration ran out) is logged and retried; the reason stays visible.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import redis

log = logging.getLogger(__name__)

RETRY_S = 2.0   # s between attempts after a failure (Redis unavailable, another process still migrating)


class Boot:
    def __init__(self, prepare: Callable[[Callable[[str], None]], None], *, retry_s: float = RETRY_S):
        self._prepare = prepare
        self.retry_s = retry_s
        self.reason = "starting"
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Boot":
        self._thread = threading.Thread(target=self._run, name="bridge-boot", daemon=True)
        self._thread.start()
        return self

    def report(self, reason: str) -> None:
        """What start-up is doing now (public: /healthz shows it; no addresses, no secrets)."""
        self.reason = reason

    def _run(self) -> None:
        started, failing = time.monotonic(), ""
        while True:
            try:
                self._prepare(self.report)
                self.reason = ""
                self.ready.set()
                log.info("start-up work done in %.1f s: serving", time.monotonic() - started)
                return
            except redis.RedisError as exc:
                why = "Redis unavailable"
                if failing != why:   # the error names Redis' host: the log only, once
                    log.warning("start-up work waits for Redis (%s: %s)", type(exc).__name__, exc)
            except Exception as exc:  # noqa: BLE001 - e.g. another process's migration outlived our wait
                why = str(exc) or type(exc).__name__
                log.error("start-up work not done yet: %s; retrying", why)
            failing = why
            self.report(why)
            time.sleep(self.retry_s)
