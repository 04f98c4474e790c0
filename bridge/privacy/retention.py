"""``retention_days``: archived messages and media older than that are deleted, daily, in bounded batches.

Per account (``retention_days`` in ``[[accounts]]``, ``BRIDGE_RETENTION_DAYS`` for the account of the
single-account variables; unset = keep everything). The worker's ticker enqueues
:func:`bridge.engine.jobs.retention_sweep` once a day; one run deletes at most
:data:`RUN_LIMIT` entries (in batches of :data:`BATCH` per Redis call) and asks for another run
when more are due, so a first run on years of history never holds Redis or a worker for long.
A media file goes when no remaining entry of any conversation refers to it. Counts are logged
and kept per account for /stats.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from bridge.archive.media import MediaArchive
from bridge.privacy.media import discard
from bridge.services import Component, Services

log = logging.getLogger(__name__)

DAY = 86400.0
BATCH = 500          # entries per Redis call
RUN_LIMIT = 20_000   # entries per run; more due → another run is queued
RUN_SECONDS = 60.0   # …or after this long


@dataclass
class RetentionRun:
    entries: dict[str, int] = field(default_factory=dict)   # account -> entries deleted
    media: dict[str, int] = field(default_factory=dict)     # account -> media files deleted
    more: bool = False                                       # stopped at a limit: run again

    def as_dict(self) -> dict:
        return {"entries": self.entries, "media": self.media, "more": self.more}


class Retention(Component):
    def __init__(self, services: Services, archive: MediaArchive | None):
        super().__init__(services)
        self.forgets = services.stores.forget
        self.archive = archive

    def cutoffs(self, now: float) -> dict[str, float]:
        """account -> the time before which its history is deleted (accounts that keep everything: absent)."""
        return {a.key: now - a.retention_days * DAY for a in self.accounts if a.retention_days}

    def run(self, now: float, limit: int = RUN_LIMIT, seconds: float = RUN_SECONDS) -> RetentionRun:
        cutoffs = self.cutoffs(now)
        out = RetentionRun({k: 0 for k in cutoffs}, {k: 0 for k in cutoffs})
        if not cutoffs:
            return out
        started, total = time.monotonic(), 0
        for conv_id in self.forgets.conversations_with_history():
            account = conv_id.partition("-")[0]
            if account not in cutoffs:
                continue
            while True:
                if total >= limit or time.monotonic() - started >= seconds:
                    out.more = True
                    break
                n, gone = self.forgets.expire(conv_id, cutoffs[account], min(BATCH, limit - total))
                total += n
                out.entries[account] += n
                out.media[account] += discard(self.archive, gone)
                if n < BATCH:
                    break
            if out.more:
                break
        for account in cutoffs:
            self.forgets.record_retention(account, out.entries[account], out.media[account], now)
            if out.entries[account] or out.media[account]:
                log.info("retention: account %s: deleted %d archived message(s) and %d media file(s) older than %d day(s)",
                         account, out.entries[account], out.media[account], self.accounts.require(account).retention_days)
        return out
