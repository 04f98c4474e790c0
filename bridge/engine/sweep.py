"""The sweeper: what makes every stream move again after a crash, without any new event.

A drain killed mid-item (SIGKILL, OOM, a lost host) leaves its stream with pending items, and
rq never re-runs a job whose work horse died; a drain job can also be lost with its worker or
in a Redis restart. Every stream with pending items is listed in an "active" set (added
atomically with the item, removed only when the stream is really empty), and one worker at a
time sweeps it every few seconds (:class:`~bridge.engine.ticker.Ticker`): a stream whose lock
is free, which is not waiting (back-off or scheduled item), and whose drain job does not really
wait in the rq queue gets a new drain job, at the front.

A stream therefore resumes at most ``LOCK_TTL + sweep interval`` (~13 s) after its drainer
died, whichever process died.
"""
from __future__ import annotations

import logging

from bridge.engine.streams import DRAIN_QUEUED_TTL, Streams

log = logging.getLogger(__name__)

FLAG_TRUST_S = 10.0            # a drain-queued flag younger than this is trusted without looking at the rq queue


class Sweeper:
    def __init__(self, streams: Streams):
        self.streams = streams
        self.r = streams.r
        self.keys = streams.keys

    def idle(self) -> bool:
        """True when no stream has pending items (then a sweep has nothing to do and writes no key)."""
        return not self.r.exists(self.streams.active_key)

    def sweep(self) -> list[str]:
        """Enqueue a drain for every stream with pending items that nobody drains, nor will.

        Skipped: streams whose lock is held (a live drainer's heartbeat keeps it), streams
        backing off (their wake-up is in the due set; if that was lost the hold expires and
        the next sweep takes them), and streams whose drain job really waits in the rq queue.
        Every mark is a lease: the lock lives the lock TTL past its holder's last heartbeat, a hold
        only as long as its back-off, and a drain-queued flag is believed for FLAG_TRUST_S only;
        after that it must name a job listed in the rq queue with its job hash. A flag naming
        anything else (a worker died after dequeuing it, a BLPOP answer was lost in a Redis restart,
        the enqueue failed half-way) is replaced.
        """
        streams = sorted(self.r.smembers(self.streams.active_key))
        if not streams:
            return []
        pipe = self.r.pipeline(transaction=False)
        for stream in streams:
            pipe.llen(self.keys.inbox(stream=stream))
            pipe.exists(self.keys.inbox_lock(stream=stream))
            pipe.pttl(self.keys.inbox_hold(stream=stream))
            pipe.get(self.keys.inbox_drain_queued(stream=stream))
            pipe.pttl(self.keys.inbox_drain_queued(stream=stream))
        res = pipe.execute()
        kicked: list[str] = []
        suspects: list[tuple[str, str]] = []
        for i, stream in enumerate(streams):
            length, locked, hold_ms, flag, flag_ms = res[5 * i:5 * i + 5]
            if not length:
                self.streams.forget(stream)
            elif locked or hold_ms > 0:
                continue
            elif flag is None:
                if self.streams.kick(stream, at_front=True):
                    kicked.append(stream)
            elif DRAIN_QUEUED_TTL - flag_ms / 1000 > FLAG_TRUST_S:
                suspects.append((stream, flag))
        if suspects:
            live = self._waiting_jobs([flag for _, flag in suspects])
            for stream, flag in suspects:
                if flag not in live:
                    self.streams.delete_if(self.keys.inbox_drain_queued(stream=stream), flag)
                    if self.streams.kick(stream, at_front=True):
                        kicked.append(stream)
        if kicked:
            log.info("sweeper: %d stranded stream(s) re-enqueued: %s", len(kicked), ", ".join(kicked[:10]))
        return kicked

    def _waiting_jobs(self, job_ids: list[str]) -> set[str]:
        """The ids among ``job_ids`` of drain jobs that really wait: listed in the rq queue AND with
        their job hash (a worker skips a listed id whose hash is gone, so such a flag is as stale as
        one whose job a killed worker or a lost BLPOP answer took out of the list)."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.lpos(self.streams.queue.key, job_id)
            pipe.exists(self.streams.queue.job_class.key_for(job_id))
        res = pipe.execute()
        return {job_id for i, job_id in enumerate(job_ids) if res[2 * i] is not None and res[2 * i + 1]}

    def adopt_existing_streams(self) -> int:
        """List streams queued before the active set existed (an upgrade) in it, once per worker start."""
        found = []
        prefix = self.keys.inbox(stream="")
        for key in self.r.scan_iter(match=prefix + "*", count=1000):
            found.append(key[len(prefix):])
        if found:
            self.r.sadd(self.streams.active_key, *found)
        return len(found)
