"""The inbox: per-conversation ordered work queues on top of rq — the engine's one front door.

Why: rq runs jobs on any free worker, so two webhook events of the same chat could be
processed concurrently and reach Slack out of order. Instead every accepted event is appended
to a Redis list for its *stream* (one per conversation and direction) and an rq job
:func:`bridge.engine.jobs.drain` of the stream is enqueued (at most one waits per stream). The
drain takes the stream's lock and hands the items, head first, to a
:class:`~bridge.engine.drain.Processor` (the domain).

The parts, each with its guarantees stated where it lives:

* :mod:`bridge.engine.streams` — accept (dedupe and append in one atomic step: exactly once or
  not at all), schedule (an item that waits for its time in its stream, in order), kick, hold, wake;
* :mod:`bridge.engine.drain` — the ordered, leased, fair drain with retries and dead letters;
* :mod:`bridge.engine.due` — delayed work (wake-ups, parent refreshes, delayed accepts) in Redis;
* :mod:`bridge.engine.sweep` — re-enqueues streams nobody drains after a crash;
* :mod:`bridge.engine.ticker` — runs the periodic tasks (``move_due``, ``sweep``, …) in every worker.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import redis
from rq import Queue

from bridge.engine import jobs
from bridge.engine.drain import Drainer, Processor
from bridge.engine.due import ACCEPT, DRAIN, REFRESH, DueSet
from bridge.engine.streams import Streams
from bridge.engine.sweep import Sweeper
from bridge.keys import Keys

log = logging.getLogger(__name__)


class Inbox:
    """Accepting, scheduling and draining work; the periodic tasks a worker's ticker runs."""

    def __init__(self, r: redis.Redis, keys: Keys, queue: Queue, low_queue: Queue, dedupe_ttl: int = 3 * 24 * 3600):
        self.keys = keys
        self.queue = queue
        self.low_queue = low_queue  # parent refreshes: after a burst they must not delay new friends' messages
        self.due = DueSet(r, keys.due())
        self.streams = Streams(r, keys, queue, self.due, dedupe_ttl)
        self.active_key = self.streams.active_key
        self._drainer = Drainer(self.streams)
        self._sweeper = Sweeper(self.streams)

    # -- producers (web process, domain) ----------------------------------------------------
    def accept(self, origin: str, event_id: str, stream: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue one work item unless ``(origin, event_id)`` was accepted before (False: a duplicate)."""
        return self.streams.accept(origin, event_id, stream, kind, payload)

    def accept_many(self, entries: list[tuple[str, str, str, str, dict[str, Any]]]) -> list[bool]:
        """:meth:`accept` for many ``(origin, event_id, stream, kind, payload)``, in one round trip."""
        return self.streams.accept_many(entries)

    def accept_later(self, delay: float, origin: str, event_id: str, stream: str, kind: str, payload: dict) -> None:
        """Accept a work item after ``delay`` s; its stream is not held meanwhile (later items may pass it)."""
        self.due.accept_later(delay, origin, event_id, stream, kind, payload)

    def refresh_parent(self, conv_id: str, delay: float = 0.0) -> None:
        """Re-render a conversation's thread parent now, or after ``delay`` s (coalesced: the earliest wins)."""
        if delay > 0:
            self.due.add(REFRESH, conv_id, delay)
        else:
            self.low_queue.enqueue(jobs.refresh_parent, conv_id, result_ttl=60, failure_ttl=86400)

    def kick(self, stream: str, at_front: bool = False) -> bool:
        return self.streams.kick(stream, at_front=at_front)

    def hold(self, stream: str, delay: float) -> None:
        self.streams.hold(stream, delay)

    def pending(self, stream: str) -> int:
        return self.streams.pending(stream)

    # -- the consumer (an rq job) --------------------------------------------------------------
    def drain(self, stream: str, processor: Processor) -> int:
        """Process the stream's items in order (see :mod:`bridge.engine.drain`); returns how many."""
        return self._drainer.drain(stream, processor)

    # -- the ticker's periodic tasks (every worker) --------------------------------------------
    def move_due(self) -> int:
        """Enqueue the due delayed work (claimed atomically: two workers never both take an entry)."""
        moved = 0
        for kind, target, leased in self.due.claim():
            try:
                if kind == DRAIN:
                    self.streams.kick(target, at_front=True)  # it has waited already
                elif kind == REFRESH:
                    self.refresh_parent(target)
                elif kind == ACCEPT:
                    self._accept_due(target)
                else:
                    log.warning("unknown wake-up %r for %r dropped", kind, target)
            except redis.RedisError:
                raise  # the lease brings it back
            except Exception:
                log.exception("wake-up %s %s could not be enqueued; retried after the lease", kind, target)
                continue
            self.due.done(kind, target, leased)
            moved += 1
        return moved

    def _accept_due(self, target: str) -> None:
        """A due work item (:meth:`accept_later`) into its stream; a malformed one is dropped, not retried."""
        try:
            origin, event_id, stream, kind, payload = json.loads(target)
        except (ValueError, TypeError):
            log.warning("malformed delayed work item dropped: %.200s", target)
            return
        self.streams.accept(origin, event_id, stream, kind, payload)

    def idle(self) -> bool:
        """No stream has pending items (the sweep is skipped without writing its lock)."""
        return self._sweeper.idle()

    def sweep(self) -> list[str]:
        """Re-enqueue the streams nobody drains, nor will (see :mod:`bridge.engine.sweep`)."""
        return self._sweeper.sweep()

    def adopt_existing_streams(self) -> int:
        """Index streams queued before the active set existed (an upgrade); once per worker start."""
        return self._sweeper.adopt_existing_streams()
