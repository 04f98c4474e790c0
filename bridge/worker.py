"""The rq worker class named in the Procfile.

``rq worker --with-scheduler -w bridge.worker.BridgeWorker ...`` — it validates the
settings before taking any job, so a misconfigured worker fails at start-up, naming
the variable, instead of failing every job. It also runs the bridge's ticker thread
(:mod:`bridge.scheduler`): delayed wake-ups and the sweep of stranded streams.
"""
from __future__ import annotations

import sys

from rq import Worker

from bridge.runtime import configure_logging
from bridge.settings import Settings, SettingsError


class BridgeWorker(Worker):
    def __init__(self, *args, **kwargs):
        try:
            settings = Settings.from_env()
            from bridge.triage.marks import load_marks

            load_marks(settings.config_path)  # a broken BRIDGE_CONFIG stops start-up, naming file:line
            from bridge.slack.ratelimit import limits_from_env

            limits_from_env()  # a malformed SLACK_RATE_* too
        except (SettingsError, ValueError) as exc:
            print(f"worker not started: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        configure_logging(root=False)
        # Import the jobs and both SDKs once in the parent: rq forks a work horse per job,
        # and importing line-bot-sdk's models in every horse would cost ~1 s per job.
        import bridge.domain  # noqa: F401
        import bridge.line.gateway  # noqa: F401
        import bridge.slack.gateway  # noqa: F401
        import bridge.jobs  # noqa: F401

        super().__init__(*args, **kwargs)
        from bridge.runtime import get_runtime

        get_runtime().prepare()
        get_runtime().learn_bots()

    def work(self, *args, **kwargs):
        # Every worker moves due wake-ups and sweeps stranded streams (bridge.scheduler), so
        # nothing waits for rq's scheduler lock. Its own Runtime (own Redis connections): the
        # work horses forked from this process never share a connection with the thread.
        from bridge.runtime import Runtime
        from bridge.settings import Settings

        self.bridge_ticker = Runtime(Settings.from_env()).ticker().start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self.bridge_ticker.stop()
