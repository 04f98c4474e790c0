"""Slack Events API listeners: thread messages and reactions."""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from slack_bolt import App

from bridge.engine import work
from bridge.runtime import Runtime
from handlers.slack.ops import conversation_of_message, enqueue_op, enqueue_unresolved_op

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


def reaction_name(event: dict[str, Any]) -> str:
    """``raising_hand::skin-tone-3`` → ``raising_hand``: a skin tone doesn't change the meaning."""
    return (event.get("reaction") or "").split("::")[0]


def register(app: App, rt: Runtime) -> None:
    triage_channels = rt.accounts.channels()

    @app.event("message")
    def handle_slack_message_event(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Cheap filters here; the echo guard and the thread lookup run in the job.
        if event.get("subtype") in ("message_changed", "message_deleted"):
            accept_change(event, body)
            return
        if event.get("channel") not in triage_channels or not event.get("thread_ts"):
            return
        if event.get("thread_ts") == event.get("ts"):
            return
        stream = work.slack_stream(event["channel"], event["thread_ts"])
        # The undo window counts from when Slack told us (see bridge.relay.undo).
        payload = {**message_payload(event), "send_at": time.time() + rt.settings.send_delay}
        rt.inbox.accept("slack", body.get("event_id") or f"{event['channel']}-{event['ts']}", stream,
                        work.SLACK_MESSAGE, payload)

    def accept_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        """A thread message edited or deleted: on the thread's edit stream (never behind a waiting reply)."""
        message, previous = event.get("message") or {}, event.get("previous_message") or {}
        thread_ts = message.get("thread_ts") or previous.get("thread_ts") or ""
        ts = message.get("ts") or previous.get("ts") or event.get("deleted_ts") or ""
        if event.get("channel") not in triage_channels or not thread_ts or not ts or ts == thread_ts:
            return
        if message.get("bot_id") or previous.get("bot_id") or message.get("subtype") == "bot_message":
            return
        payload = {"op": "delete" if event["subtype"] == "message_deleted" else "edit", "channel": event["channel"],
                   "ts": ts, "thread_ts": thread_ts, "text": message.get("text") or "",
                   "previous_text": previous.get("text") or "", "user": message.get("user") or previous.get("user") or ""}
        rt.inbox.accept("slack", body.get("event_id") or f"{event['channel']}-{ts}-{event.get('event_ts')}",
                        work.slack_edit_stream(event["channel"], thread_ts), work.SLACK_EDIT, payload)

    def on_reaction(event: dict[str, Any], body: dict[str, Any], removed: bool) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or item.get("channel") not in triage_channels:
            return
        action = rt.marks.reaction_action(reaction_name(event))
        if not action:
            return
        if removed:
            if action != "claim":
                return  # removing a mark's emoji does not undo the mark (the next mark replaces it)
            action = "unclaim"
        name, _, value = action.partition(":")
        op_id = body.get("event_id") or f"{item.get('ts')}-{event.get('event_ts')}"
        conv_id = conversation_of_message(rt, item["channel"], item.get("ts", ""))
        if conv_id:
            enqueue_op(rt, op_id, conv_id, event.get("user", ""), name, value, source="reaction", channel=item["channel"])
        else:
            # Not mapped (yet): a reaction on a message the worker is still linking, or on any other
            # message. The worker resolves it, waiting a few seconds for the link.
            enqueue_unresolved_op(rt, op_id, item["channel"], str(item.get("ts") or ""), event.get("user", ""),
                                  name, value, source="reaction")

    @app.event("reaction_added")
    def handle_reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        on_reaction(event, body, removed=False)

    @app.event("reaction_removed")
    def handle_reaction_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        on_reaction(event, body, removed=True)

    @app.event(re.compile(".*"))
    def acknowledge_other_events(body: dict[str, Any]) -> None:
        # Subscribed but not handled: acknowledge, so Slack does not retry it.
        log.info("Slack event %s acknowledged, not handled", (body.get("event") or {}).get("type"))
