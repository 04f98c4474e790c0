"""Moving spooled media into the archive, and telling people when the archive fails or recovers.

Every worker's ticker runs :func:`flush_round` (no lock: each host flushes its own spool; a
local archive's spool is shared and moves are atomic). The archive's state is kept in Redis
(:mod:`bridge.store.archive`): ``python -m bridge.doctor`` and ``/metrics`` read it, and the
triage channel gets one line when the archive starts failing and one when it recovers.
"""
from __future__ import annotations

import datetime as dt
import logging
import socket
import time

from bridge.accounts import AccountSet
from bridge.archive.media import FlushResult, MediaArchive
from bridge.i18n import t
from bridge.ports import SlackPort
from bridge.store import Store
from bridge.store.archive import health, pending_total, report_flush

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 5.0


class ArchiveFlusher:
    def __init__(self, archive: MediaArchive, store: Store, slack: SlackPort, accounts: AccountSet, lang: str,
                 host: str | None = None):
        self.archive = archive
        self.store = store
        self.slack = slack
        self.accounts = accounts
        self.lang = lang
        self.host = host or socket.gethostname()

    def flush_round(self) -> FlushResult:
        result = self.archive.flush()
        change = report_flush(self.store, self.host, result.pending, result.error, time.time())
        if change:
            self.tell(change, result.error)
        return result

    def tell(self, change: str, error: str) -> None:
        """One line in each triage channel (once per change: the HSETNX/HDEL in report_flush)."""
        text = t(f"archive.{change}", self.lang, error=error[:120])
        stamp = int(time.time())
        for channel in sorted(self.accounts.channels()):
            try:
                self.slack.post_once(f"archive-{change}-{stamp}", channel, text)
            except Exception as exc:  # Slack down too: the doctor and /metrics still say it
                log.warning("archive %s notice not posted in %s: %s", change, channel, exc)


def describe(store: Store) -> dict:
    """The archive's state for the doctor and /metrics: failing (bool), since (ISO), error, pending."""
    values = health(store)
    since = float(values.get("failing_since") or 0)
    return {"failing": bool(since), "error": values.get("error", ""), "pending": pending_total(values),
            "since": dt.datetime.fromtimestamp(since, dt.timezone.utc).isoformat(timespec="seconds") if since else ""}
