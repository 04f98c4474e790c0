"""One-time data backfills of a namespace, run in the background by the workers, resumable.

Why: start-up used to walk every conversation (the archive's transcript ids and
``history_since``, the /friend name index) before a process served anything. On a namespace of
100,000 conversations that took long, and the processes that lost the lock waited for it —
meanwhile the web process did not answer LINE's webhooks. A backfill whose absence only
degrades a feature for a while now runs after start-up, in short slices of an rq job on the
low-priority queue (:func:`bridge.engine.jobs.backfill`), started by the workers' ticker.

State per backfill (:mod:`bridge.keys`)::

    migration(name)       "done" once finished — the marker the start-up versions wrote too, so a
                          namespace they already walked is not walked again
    backfill(name)        hash: cursor (SCAN cursor after the last finished batch), processed,
                          resumes, chain (its token), started_at, updated_at, finished_at
    backfill_lease(name)  the token of the one job chain running it, with a TTL (:data:`LEASE_MS`)

A batch is idempotent, so a chain killed mid-batch (a worker SIGKILLed, a deploy) only redoes
that batch: once its lease expired the ticker starts a new chain, which continues from the saved
cursor instead of restarting. SCAN returns every key present for the whole walk at least once, so
conversations created meanwhile are either seen or were written in the new format anyway.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

import redis

from bridge.keys import Keys

LEASE_MS = 60_000     # a chain's lease: it covers one slice and the wait of the next in the low queue
SCAN_COUNT = 500      # conversations per batch (one SCAN step)
DONE = "done"

# KEYS[1] lease; ARGV[1] token, ARGV[2] ms. Extends the lease only if it is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS[1] lease; ARGV[1] token. Gives it up only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class Slice:
    """What one slice did: whether it ran (it owned the lease), how many conversations it walked,
    and whether more remain (the caller queues the next slice)."""

    ran: bool
    processed: int = 0
    more: bool = False

    def as_dict(self) -> dict:
        return {"ran": self.ran, "processed": self.processed, "more": self.more}


class Backfill:
    """One named backfill over every conversation hash: ``batch(conv_ids)`` does the work of a batch."""

    def __init__(self, r: redis.Redis, keys: Keys, name: str, batch: Callable[[list[str]], object], *,
                 rate: float = 0.0, scan_count: int = SCAN_COUNT, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.r = r
        self.keys = keys
        self.name = name
        self.batch = batch
        self.rate = rate
        self.scan_count = scan_count
        self.clock = clock
        self.sleep = sleep
        self._done_key = keys.migration(name=name)
        self._state = keys.backfill(name=name)
        self._lease = keys.backfill_lease(name=name)
        self._prefix = keys.conv(conv_id="")
        self._renew = r.register_script(_RENEW)
        self._release = r.register_script(_RELEASE)
        self._done = False

    # -- reading -------------------------------------------------------------------------------
    def done(self) -> bool:
        """Finished (remembered in the process once seen: a backfill never becomes undone)."""
        if not self._done:
            self._done = self.r.get(self._done_key) == DONE
        return self._done

    def progress(self) -> dict:
        """``{"done", "processed", "running", "resumes"}`` (for /friend's note, bridge.admin and the tests)."""
        state = self.r.hgetall(self._state)
        return {"done": self.done(), "processed": int(state.get("processed") or 0),
                "running": bool(self.r.exists(self._lease)), "resumes": int(state.get("resumes") or 0)}

    # -- running -------------------------------------------------------------------------------
    def claim(self) -> str | None:
        """Take the lease for a new chain; None if it is done or another chain holds it."""
        if self.done():
            return None
        token = uuid.uuid4().hex
        return token if self.r.set(self._lease, token, nx=True, px=LEASE_MS) else None

    def run_slice(self, token: str, budget_s: float) -> Slice:
        """Walk batches for about ``budget_s`` seconds under the lease ``token``, saving the cursor after
        each batch. A slice whose lease is gone (expired, taken by a newer chain) does nothing."""
        if self.done():
            self._release(keys=[self._lease], args=[token])
            return Slice(False)
        if not self._renew(keys=[self._lease], args=[token, LEASE_MS]):
            return Slice(False)
        cursor = self._start(token)
        started, processed = self.clock(), 0
        while True:
            cursor, found = self.r.scan(cursor, match=self._prefix + "*", count=self.scan_count)
            ids = [key[len(self._prefix):] for key in found]
            if ids:
                self.batch(ids)
            processed += len(ids)
            pipe = self.r.pipeline(transaction=False)
            pipe.hset(self._state, mapping={"cursor": str(cursor), "updated_at": repr(time.time())})
            pipe.hincrby(self._state, "processed", len(ids))
            pipe.execute()
            if int(cursor) == 0:
                self._finish(token)
                return Slice(True, processed, False)
            if not self._renew(keys=[self._lease], args=[token, LEASE_MS]):
                return Slice(True, processed, False)   # a newer chain took over: it goes on
            self._pace(processed, started)
            if self.clock() - started >= budget_s:
                return Slice(True, processed, True)

    def run_all(self, wait: float = 300.0, budget_s: float = 5.0) -> int:
        """Run it to the end in this process (tests, ``python -m bridge.admin``); returns the conversations
        walked (0 when it was done already). Waits up to ``wait`` s for a chain running elsewhere."""
        deadline = time.time() + wait
        while not self.done():
            token = self.claim()
            if token is None:
                if time.time() > deadline:
                    raise RuntimeError(f"backfill {self.name} is still running in another process; try again")
                self.sleep(0.2)
                continue
            total = 0
            while True:
                run = self.run_slice(token, budget_s)
                total += run.processed
                if not run.more:
                    break
            if self.done():
                return total
        return 0

    # -- helpers ----------------------------------------------------------------------------
    def _start(self, token: str) -> int:
        """The cursor to continue from; a fresh walk resets the counters, a resumed one counts the resume."""
        state = self.r.hgetall(self._state)
        cursor = int(state.get("cursor") or 0)
        if cursor == 0:
            pipe = self.r.pipeline(transaction=False)
            pipe.delete(self._state)
            pipe.hset(self._state, mapping={"cursor": "0", "processed": "0", "started_at": repr(time.time())})
            pipe.execute()
        elif state.get("chain") != token:
            self.r.hincrby(self._state, "resumes", 1)   # a new chain continues where a killed one stopped
        self.r.hset(self._state, "chain", token)
        return cursor

    def _finish(self, token: str) -> None:
        pipe = self.r.pipeline()
        pipe.set(self._done_key, DONE)
        pipe.hset(self._state, "finished_at", repr(time.time()))
        pipe.execute()
        self._release(keys=[self._lease], args=[token])
        self._done = True

    def _pace(self, processed: int, started: float) -> None:
        """With ``rate`` (BRIDGE_BACKFILL_RATE), keep to that many conversations per second."""
        if self.rate > 0:
            ahead = processed / self.rate - (self.clock() - started)
            if ahead > 0:
                self.sleep(ahead)


class Backfills:
    """The namespace's backfills by name (built by :attr:`bridge.runtime.Runtime.backfills`)."""

    def __init__(self, items: list[Backfill]):
        self._items = {b.name: b for b in items}

    def get(self, name: str) -> Backfill:
        return self._items[name]

    def __iter__(self):
        return iter(self._items.values())

    def all_done(self) -> bool:
        return all(b.done() for b in self._items.values())
