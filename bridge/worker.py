"""The rq worker class named in the Procfile.

``rq worker --with-scheduler -w bridge.worker.BridgeWorker ...`` — it validates the
settings before taking any job, so a misconfigured worker fails at start-up, naming
the variable, instead of failing every job.
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

            marks = load_marks(settings.config_path)  # a broken BRIDGE_CONFIG stops start-up, naming file:line
            from bridge.automation.config import load_automation

            load_automation(settings.config_path, settings.account_set.keys(), marks)
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
        from bridge.automation import ticker

        self.automation_ticker = ticker.start(get_runtime())  # enqueues the periodic sweep (SLA, hours)
