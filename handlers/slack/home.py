"""App Home: ``app_home_opened`` and the on-duty switch (both only enqueue a job)."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bridge.runtime import Runtime
from bridge.slack_ui.home import ACTION_DUTY
from bridge.work import JOB_PUBLISH_HOME, JOB_SET_DUTY


def register(app: App, rt: Runtime) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            rt.low_queue.enqueue(JOB_PUBLISH_HOME, event["user"], result_ttl=60, failure_ttl=86400)

    @app.action(ACTION_DUTY)
    def handle_duty_switch(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        rt.queue.enqueue(JOB_SET_DUTY, body["user"]["id"], action.get("value") == "on", result_ttl=60, failure_ttl=86400)
