"""The rq worker class named in the Procfile.

``rq worker --with-scheduler -w bridge.worker.BridgeWorker ...`` — it validates the
settings before taking any job, so a misconfigured worker fails at start-up, naming
the variable, instead of failing every job. It also runs the bridge's ticker thread
(:mod:`bridge.engine.ticker`): delayed wake-ups, the sweep of stranded streams and the
periodic automation sweep.
"""
from __future__ import annotations

import logging
import sys
import time

import redis
from rq import Worker

from bridge.runtime import configure_logging
from bridge.settings import Settings, SettingsError


log = logging.getLogger("bridge.worker")


class BridgeWorker(Worker):
    def __init__(self, *args, **kwargs):
        try:
            settings = Settings.from_env()  # and BRIDGE_CONFIG and SLACK_RATE_*: a broken file stops start-up, naming file:line
        except (SettingsError, ValueError) as exc:
            print(f"worker not started: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        configure_logging(root=False)
        # Import the jobs and both SDKs once in the parent: rq forks a work horse per job,
        # and importing line-bot-sdk's models in every horse would cost ~1 s per job.
        import bridge.domain  # noqa: F401
        import bridge.line.gateway  # noqa: F401
        import bridge.slack.gateway  # noqa: F401
        import bridge.engine.jobs  # noqa: F401

        super().__init__(*args, **kwargs)
        from bridge.runtime import get_runtime, start_runtime

        start_runtime(settings).prepare()  # the settings just read: BRIDGE_CONFIG is read once per worker
        get_runtime().learn_bots()

    def work(self, *args, **kwargs):
        # Every worker runs the periodic tasks (bridge.engine.ticker: due wake-ups, stranded
        # streams, the automation sweep), so nothing waits for rq's scheduler lock. Its own Runtime
        # (own Redis connections): the work horses forked from this process never share one with the thread.
        from bridge.runtime import Runtime, get_runtime

        self.bridge_ticker = Runtime(get_runtime().settings).ticker().start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self.bridge_ticker.stop()

    # -- riding out a Redis restart ---------------------------------------------------------
    # rq's main loop quits on any unexpected exception, so a Redis restart while a job runs
    # (or during the loop's bookkeeping) would end the worker. These wait for Redis instead.
    # A job whose bookkeeping failed is not re-run by rq; the stream it drained is in the
    # bridge's own keys and the sweeper (bridge.engine.sweep) re-enqueues it if needed.
    def _wait_for_redis(self, what: str, exc: Exception) -> None:
        log.warning("Redis unavailable during %s (%s); waiting for it", what, exc)
        delay = 0.5
        while True:
            time.sleep(delay)
            try:
                self.connection.ping()
                log.info("Redis is back; carrying on")
                return
            except redis.exceptions.ConnectionError:
                delay = min(delay * 2, 5.0)

    def _riding_out(self, what: str, fn, *args, **kwargs):
        while True:
            try:
                return fn(*args, **kwargs)
            except redis.exceptions.ConnectionError as exc:
                self._wait_for_redis(what, exc)

    def execute_job(self, job, queue):
        try:
            return super().execute_job(job, queue)
        except redis.exceptions.ConnectionError as exc:
            if getattr(self, "_horse_pid", 0):
                self.wait_for_horse()  # never two horses at once
                self._horse_pid = 0
            self._wait_for_redis(f"job {job.id}", exc)
            return None

    def heartbeat(self, *args, **kwargs):
        return self._riding_out("heartbeat", super().heartbeat, *args, **kwargs)

    def check_for_suspension(self, *args, **kwargs):
        return self._riding_out("suspension check", super().check_for_suspension, *args, **kwargs)

    def run_maintenance_tasks(self, *args, **kwargs):
        return self._riding_out("maintenance", super().run_maintenance_tasks, *args, **kwargs)
