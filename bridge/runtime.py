"""Wiring: build the per-process objects from :class:`Settings` (and its configuration) once.

Jobs run in rq worker processes and only receive primitives; they call
:func:`get_runtime` to reach Redis, the store and the gateways.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bridge.accounts import AccountSet
from bridge.config import BridgeConfig
from bridge.config.automation_model import AutomationConfig
from bridge.friends.config import CrmConfig
from bridge.engine import jobs
from bridge.engine.inbox import Inbox
from bridge.engine.ticker import Ticker
from bridge.keys import Keys
from bridge.redisconn import connect
from bridge.settings import Settings
from bridge.store import Store
from bridge.triage.marks import MarkSet


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def redis(self) -> redis.Redis:
        """Our client (str values). rq needs its own bytes client: :attr:`rq_redis`."""
        return connect(self.settings.redis_url, decode_responses=True, health_check_interval=30)

    @cached_property
    def rq_redis(self) -> redis.Redis:
        return connect(self.settings.redis_url, health_check_interval=30)

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.namespace)

    @cached_property
    def store(self) -> Store:
        from bridge import clock

        clock.install(self.redis, self.keys.clock())  # read only when BRIDGE_TEST_CLOCK=1 (tests)
        return Store(self.redis, self.keys)

    @cached_property
    def queue(self) -> Queue:
        # JSON, not pickle: job arguments are primitives and stay readable in Redis.
        return Queue(self.settings.queue_name, connection=self.rq_redis, serializer=JSONSerializer)

    @cached_property
    def low_queue(self) -> Queue:
        return Queue(self.settings.low_queue_name, connection=self.rq_redis, serializer=JSONSerializer)

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(self.redis, self.keys, self.queue, self.low_queue, dedupe_ttl=self.settings.event_max_age)

    @cached_property
    def accounts(self) -> AccountSet:
        return self.settings.account_set

    @property
    def config(self) -> BridgeConfig:
        """BRIDGE_CONFIG's sections, read and validated once by :meth:`Settings.from_env`."""
        return self.settings.config

    @property
    def marks(self) -> MarkSet:
        return self.config.marks

    @property
    def automation(self) -> AutomationConfig:
        """[hours], [sla], [reminders], [assignment], [[auto_replies]] (bridge.config.automation)."""
        return self.config.automation

    @property
    def crm(self) -> CrmConfig:
        """友だち情報 fields, 定型文 and admins (bridge.config.crm)."""
        return self.config.crm

    @cached_property
    def backlog(self):
        from bridge.store.backlog import Backlog

        return Backlog(self.redis, self.keys, self.marks, self.accounts.keys())

    @cached_property
    def stores(self):
        """Friends, 定型文, automation, broadcast and held-send state (bridge.store.stores)."""
        from bridge.store.stores import Stores

        return Stores(self.store, self.backlog)

    def prepare(self, report: Callable[[str], None] | None = None) -> None:
        """The start-up work every process (web and worker) waits for: what everything else depends on.

        The key layout migration (v1 → v2, once per namespace; a process that finds another one
        migrating waits for it, logging, up to 300 s), then the /pending indexes if the mark order
        changed. ``report`` hears what is going on (the web process's /healthz says it).

        Everything whose absence only degrades a feature for a while is not here: the data backfills
        run in the background in the workers (:attr:`backfills`, kicked by :meth:`ticker`), and a
        broadcast interrupted by a restart is resumed by the workers' ticker at its start."""
        from bridge.migrate import migrate

        migrate(self.redis, self.settings.namespace, self.queue, report=report)
        if report is not None:
            report("checking the /pending indexes")
        self.prepare_backlog()

    @cached_property
    def backfills(self):
        """The one-time data backfills, run in the background by the workers (bridge.store.backfill):
        transcripts from before the archive get their ids and ``history_since``; conversations from
        before /friend get their name indexed."""
        from bridge.store.archive import MIGRATION, transcript_batch
        from bridge.store.backfill import Backfill, Backfills
        from bridge.store.friends import NAMES_BACKFILL

        rate = self.settings.backfill_rate
        return Backfills([
            Backfill(self.redis, self.keys, MIGRATION, lambda ids: transcript_batch(self.store, ids, time.time()), rate=rate),
            Backfill(self.redis, self.keys, NAMES_BACKFILL, self.stores.friends.index_names, rate=rate),
        ])

    def kick_backfills(self) -> list[str]:
        """Start a job chain for every backfill not done whose previous chain (if any) is gone; returns their names."""
        started = []
        for backfill in self.backfills:
            token = backfill.claim()
            if token:
                self.low_queue.enqueue(jobs.backfill, backfill.name, token, result_ttl=60, failure_ttl=86400,
                                       job_timeout=600)
                started.append(backfill.name)
        return started

    def resume_broadcasts(self) -> int:
        """Kick every broadcast stream that still has work (a restart mid-broadcast resumes it)."""
        from bridge.friends.broadcast import resume_broadcasts

        return resume_broadcasts(self.redis, self.keys, self.inbox)

    def learn_bots(self) -> None:
        """Ask LINE (GET /v2/bot/info) for each account's bot user id, the ``destination`` of its
        webhooks, unless configured or known. Best effort: the webhook also learns it from the first
        verified webhook, and ``python -m bridge.doctor`` reports a wrong token."""
        from bridge.model import DeliveryFailed, RetryLater

        for account in self.accounts:
            if account.bot_user_id or self.store.bot_account_id(account.key):
                continue
            try:
                self.store.remember_bot(self.lines.of(account.key).bot_info().user_id, account.key)
            except (DeliveryFailed, RetryLater) as exc:
                logging.getLogger(__name__).warning("LINE bot info of account %s unavailable: %s", account.key, exc)

    def prepare_backlog(self) -> bool:
        """Rebuild the /pending indexes if the mark order changed since they were built (one process at a time)."""
        lock = self.redis.set(self.keys.backlog_lock(), str(os.getpid()), nx=True, ex=300)
        if not lock:
            return False
        try:
            return self.backlog.rebuild_if_needed()
        finally:
            self.redis.delete(self.keys.backlog_lock())

    @cached_property
    def archive(self):
        """The media archive (BRIDGE_ARCHIVE_DIR, or BRIDGE_ARCHIVE_URL: bridge.archive.media)."""
        from bridge.archive.media import MediaArchive

        return MediaArchive.from_settings(self.settings)

    @cached_property
    def media_cache(self):
        """This host's on-disk media cache (bridge.media.cache): ``/media`` variants and staff files'
        originals, shared by the web and worker processes of one host."""
        from bridge.media.cache import VariantCache, default_directory

        return VariantCache(default_directory(self.settings.namespace))

    @cached_property
    def slack(self):
        from bridge.slack.gateway import SlackGateway

        return SlackGateway(self.settings, self.store, limiter=self.slack_limiter)

    @cached_property
    def slack_limiter(self):
        from bridge.slack.ratelimit import SlackRateLimiter

        limits = self.settings.slack_rate_limits
        return SlackRateLimiter(self.redis, self.keys, dict(limits)) if limits is not None else None

    @cached_property
    def lines(self):
        from bridge.line.gateway import LineGateways

        return LineGateways(self.settings, self.accounts)

    @cached_property
    def domain(self):
        from bridge import metrics
        from bridge.domain import Domain

        metrics.bind(self.redis, self.keys)  # worker-side counters for /metrics
        from bridge.line.forward_client import ForwardClient
        from bridge.services import Services

        services = Services(self.settings, self.accounts, self.store, self.slack, self.lines, self.marks, self.backlog,
                            self.stores, crm=self.crm, archive=self.archive, media_cache=self.media_cache)
        # The inbox is the domain's WorkQueue; the runtime its RefreshQueue (bridge.ports).
        return Domain(services, self, self.inbox, ForwardClient(), automation=self.automation)

    def schedule_refresh(self, conv_id: str, delay: float) -> None:
        # On the low-priority queue: after a burst, relaying a new friend's message must not
        # wait behind a few dozen status-line refreshes (a delayed one waits in the due set).
        self.inbox.refresh_parent(conv_id, delay)

    def ticker(self) -> Ticker:
        """The periodic tasks of a worker process (see :mod:`bridge.engine.ticker`)."""
        inbox = self.inbox
        return (Ticker(self.redis)
                .at_start(inbox.adopt_existing_streams)
                .at_start(self.resume_broadcasts)
                .every(BACKFILL_KICK_S, self.kick_backfills, lock=self.keys.backfill_tick(), unless=self.backfills.all_done)
                .every(MOVE_DUE_S, inbox.move_due)
                .every(SWEEP_STREAMS_S, inbox.sweep, lock=self.keys.inbox_sweep_lock(), unless=inbox.idle)
                .every(self.settings.sweep_interval, self.enqueue_automation_sweep, lock=self.keys.sweep_tick())
                .every(ARCHIVE_FLUSH_S, self.archive_flusher.kick)
                .every(RETENTION_EVERY_S, self.enqueue_retention, lock=self.keys.retention_tick()))

    @cached_property
    def archive_flusher(self):
        """Spooled media into the archive; one line in the triage channels when it fails or recovers."""
        from bridge.archive.health import ArchiveFlusher

        return ArchiveFlusher(self.archive, self.store, self.slack, self.accounts, self.settings.language)

    def enqueue_retention(self) -> None:
        """Archived messages and media past their account's retention_days (:func:`bridge.engine.jobs.retention_sweep`)."""
        if any(a.retention_days for a in self.accounts):
            self.low_queue.enqueue(jobs.retention_sweep, result_ttl=60, failure_ttl=86400, job_timeout=600)

    def enqueue_automation_sweep(self) -> None:
        """SLA breaches, opening/closing, reminders (:func:`bridge.engine.jobs.automation_sweep`)."""
        self.low_queue.enqueue(jobs.automation_sweep, result_ttl=60, failure_ttl=86400, job_timeout=600)


MOVE_DUE_S = 1.0         # s between due-set checks (every worker: claims are atomic)
ARCHIVE_FLUSH_S = 5.0    # s between moves of spooled media into the archive (every worker: each host has its spool)
SWEEP_STREAMS_S = 3.0    # s between sweeps of the streams with pending items (one worker per round)
RETENTION_EVERY_S = 86400.0  # retention runs daily (one worker a day: its lock lives 0.9 × this)
BACKFILL_KICK_S = 10.0   # s between checks that every unfinished backfill has a live job chain (one worker per round)


_runtime: Runtime | None = None
_runtime_pid: int | None = None


def get_runtime() -> Runtime:
    """The process-wide runtime, built from the environment on first use; after a fork (an rq work
    horse) a new one, with its own connections, on the settings (and configuration) already read."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        _runtime = Runtime(_runtime.settings if _runtime is not None else Settings.from_env())
        _runtime_pid = os.getpid()
    return _runtime


def start_runtime(settings: Settings) -> Runtime:
    """The process-wide runtime on settings already read and validated (a worker's start-up)."""
    global _runtime, _runtime_pid
    _runtime, _runtime_pid = Runtime(settings), os.getpid()
    return _runtime


jobs.serve(get_runtime)  # the rq entry points (bridge.engine.jobs) reach the runtime through it


def configure_logging(root: bool = True) -> None:
    """Log at ``$LOG_LEVEL``. The rq worker has its own handler on ``rq.*``: there only the
    bridge's loggers get one (``root=False``), so no line is printed twice."""
    from bridge import logs

    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if root:
        logging.basicConfig(level=level)
        logs.install(logging.getLogger().handlers)  # secrets redacted; LOG_FORMAT=json for JSON lines
        return
    handler = logging.StreamHandler()
    logs.install([handler])
    for name in ("bridge", "handlers"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
