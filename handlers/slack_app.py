"""``POST /slack/events``: slack-bolt verifies, acks and hands each event to the inbox.

Listeners are registered per type (events here; commands and actions join later).
They only translate: pick the primitives a job needs and enqueue them.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bridge.inbox import slack_stream
from bridge.runtime import Runtime

log = logging.getLogger(__name__)

MESSAGE_FIELDS = ("channel", "ts", "thread_ts", "user", "text", "subtype", "bot_id", "client_msg_id", "team")


def message_payload(event: dict[str, Any]) -> dict[str, Any]:
    """The primitives of a Slack message event that the domain needs."""
    out = {k: event[k] for k in MESSAGE_FIELDS if k in event}
    if event.get("bot_profile"):
        out["bot_profile"] = True
    if event.get("files"):
        out["files"] = [{"id": f.get("id"), "name": f.get("name"), "mimetype": f.get("mimetype")} for f in event["files"]]
    return out


def create_bolt_app(rt: Runtime) -> App:
    settings = rt.settings
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url, timeout=10)
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        client=client,
        # Listeners only enqueue (milliseconds), so ack after they ran: nothing is lost if
        # enqueueing fails (Slack retries) and no background threads are needed.
        process_before_response=True,
    )
    register_event_listeners(app, rt)
    return app


def register_event_listeners(app: App, rt: Runtime) -> None:
    triage = rt.settings.slack_triage_channel

    @app.event("message")
    def handle_slack_message_event(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Cheap filters here; the echo guard and the thread lookup run in the job.
        if event.get("channel") != triage or not event.get("thread_ts"):
            return
        if event.get("thread_ts") == event.get("ts"):
            return
        stream = slack_stream(event["channel"], event["thread_ts"])
        rt.inbox.accept("slack", body.get("event_id") or f"{event['channel']}-{event['ts']}", stream,
                        "slack_message", message_payload(event))

    @app.event(re.compile(".*"))
    def acknowledge_other_events(body: dict[str, Any]) -> None:
        # Subscribed but not (yet) handled: acknowledge, so Slack does not retry it.
        log.info("Slack event %s acknowledged, not handled", (body.get("event") or {}).get("type"))
