"""One ticker thread per worker process, running the registered periodic tasks.

Every worker runs one (:mod:`bridge.worker`), so nothing periodic depends on one lucky process
(rq's own scheduler only runs in the worker holding its lock). The composition root registers
the tasks (:meth:`bridge.runtime.Runtime.ticker`)::

    Ticker(r).at_start(inbox.adopt_existing_streams)
             .every(1.0, inbox.move_due)                              # due wake-ups → rq
             .every(3.0, inbox.sweep, lock=…, unless=inbox.idle)      # stranded streams
             .every(30.0, enqueue_automation_sweep, lock=…)           # SLA, hours, reminders

A task with a ``lock`` runs in one worker per interval between all of them: before running it
a ticker takes ``SET lock NX PX 0.9 × interval``; the others skip that round. A task without
a lock runs in every worker and must be safe so (``move_due`` claims each entry atomically).
``unless`` skips a round without touching Redis's keyspace (an idle bridge writes no lock).
A failing task is logged and retried at its next round; it never stops the others, and a Redis
outage is reported once, not every second.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import redis

log = logging.getLogger(__name__)

FIRST_ROUND_S = 1.0  # s after the start when every task first runs (or its interval, if shorter)
LOCK_SHARE = 0.9  # a task's lock lives this share of its interval, so its holder finds it free on its next round


@dataclass
class _Periodic:
    interval: float
    task: Callable[[], object]
    lock: str | None
    unless: Callable[[], bool] | None
    next_at: float = 0.0
    failing: bool = field(default=False)

    @property
    def name(self) -> str:
        return getattr(self.task, "__qualname__", repr(self.task))


class Ticker:
    def __init__(self, r: redis.Redis, *, name: str = "bridge-ticker", clock: Callable[[], float] = time.monotonic):
        self.r = r
        self.name = name
        self.clock = clock
        self._tasks: list[_Periodic] = []
        self._at_start: list[Callable[[], object]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- registration (the composition root, before start) ----------------------------------------
    def every(self, interval: float, task: Callable[[], object], *, lock: str | None = None,
              unless: Callable[[], bool] | None = None) -> "Ticker":
        """Run ``task`` every ``interval`` s; with ``lock`` (a Redis key) in one worker per interval."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval!r}")
        # The first round comes a second after the start (a restarted worker sweeps at once).
        self._tasks.append(_Periodic(interval, task, lock, unless, next_at=self.clock() + min(interval, FIRST_ROUND_S)))
        return self

    def at_start(self, task: Callable[[], object]) -> "Ticker":
        """Run ``task`` once when the thread starts (failures are logged)."""
        self._at_start.append(task)
        return self

    # -- one round --------------------------------------------------------------------------------
    def run_due(self) -> float:
        """Run the tasks whose time has come; returns the seconds until the next one is due."""
        for p in self._tasks:
            if self.clock() >= p.next_at:
                p.next_at = self.clock() + p.interval
                self._run(p)
        return max(0.0, min(p.next_at for p in self._tasks) - self.clock()) if self._tasks else 1.0

    def run_now(self, task: Callable[[], object]) -> bool:
        """Run one registered task now (its lock and ``unless`` apply); True if it ran (tests, admin)."""
        for p in self._tasks:
            if p.task == task:
                return self._run(p)
        raise KeyError(f"{task!r} is not registered")

    def _run(self, p: _Periodic) -> bool:
        try:
            if p.unless is not None and p.unless():
                return False
            if p.lock and not self.r.set(p.lock, str(os.getpid()), nx=True, px=max(1, int(p.interval * 1000 * LOCK_SHARE))):
                return False
            p.task()
            if p.failing:
                log.info("ticker: %s works again", p.name)
            p.failing = False
            return True
        except redis.RedisError as exc:
            if not p.failing:
                log.warning("ticker: %s: Redis unavailable (%s); retrying", p.name, exc)
            p.failing = True
        except Exception:
            log.exception("ticker: %s failed; retried at its next round", p.name)
        return False

    # -- the thread -------------------------------------------------------------------------------
    def start(self) -> "Ticker":
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        for task in self._at_start:
            try:
                task()
            except Exception:
                log.exception("ticker: start-up task %s failed", getattr(task, "__qualname__", task))
        wait = min((p.next_at for p in self._tasks), default=self.clock() + 1.0) - self.clock()
        while not self._stop.wait(max(0.05, wait)):
            wait = self.run_due()
