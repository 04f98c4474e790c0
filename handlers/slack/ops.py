"""Turning a Slack interaction into a triage work item (shared by every listener type)."""
from __future__ import annotations

import time

from bridge.engine import work
from bridge.access import is_channel_member, visible_channels
from bridge.runtime import Runtime


def enqueue_op(rt: Runtime, op_id: str, conv_id: str, actor: str, action: str, value: str = "", *,
               source: str, response_url: str = "", channel: str = "") -> bool:
    """Queue a change on the conversation's own stream, so it is ordered with its LINE traffic."""
    payload = {"op_id": op_id, "conv_id": conv_id, "actor": actor, "action": action, "value": value,
               "source": source, "response_url": response_url, "channel": channel}
    return rt.inbox.accept("slack-op", op_id, work.line_stream(conv_id), work.SLACK_OP, payload)


def enqueue_canned_pick(rt: Runtime, op_id: str, channel: str, thread_ts: str, conv_id: str, user: str,
                        key: str, extra: str) -> bool:
    """A 定型文 picked in the modal: on the thread's Slack stream, ordered with typed replies, with the same undo window."""
    payload = {"op_id": op_id, "conv_id": conv_id, "channel": channel, "thread_ts": thread_ts, "user": user,
               "key": key, "extra": extra, "send_at": time.time() + rt.settings.send_delay}
    return rt.inbox.accept("slack-op", op_id, work.slack_stream(channel, thread_ts), work.CANNED_PICK, payload)


def enqueue_unresolved_op(rt: Runtime, op_id: str, channel: str, message_ts: str, actor: str, action: str,
                          value: str = "", *, source: str) -> bool:
    """Queue a change aimed at a Slack message not (yet) mapped to a conversation; the worker resolves it."""
    payload = {"op_id": op_id, "conv_id": "", "actor": actor, "action": action, "value": value, "source": source,
               "channel": channel, "message_ts": message_ts, "requested_at": repr(time.time())}
    return rt.inbox.accept("slack-op", op_id, work.message_stream(channel, message_ts), work.SLACK_OP, payload)


def conversation_of_message(rt: Runtime, channel: str, ts: str) -> str | None:
    """The conversation a Slack message belongs to: the thread parent or any mapped thread message."""
    conv = rt.store.get_by_thread(channel, ts)
    if conv:
        return conv.conv_id
    return rt.store.get_slack_message(channel, ts).get("conv_id") or None


def is_member(rt: Runtime, user_id: str, channel: str) -> bool:
    return is_channel_member(rt.store, rt.slack, user_id, channel)


def visible_accounts(rt: Runtime, user_id: str, channel_id: str) -> list[str]:
    """The LINE accounts whose backlog ``user_id`` may list from ``channel_id``.

    In a triage channel: that channel's accounts (if the person is a member). Anywhere
    else: every account whose triage channel the person is a member of.
    """
    if channel_id in rt.accounts.channels():
        return [a.key for a in rt.accounts.in_channel(channel_id)] if is_member(rt, user_id, channel_id) else []
    allowed = visible_channels(rt.store, rt.slack, user_id, rt.accounts.channels())
    return [a.key for a in rt.accounts if a.channel in allowed]


def permalink_for(rt: Runtime, team_domain: str = ""):
    """Thread links without one API call per row: the workspace URL is cached by the worker."""
    base = rt.store.cache_get(rt.keys.workspace_url()) or (f"https://{team_domain}.slack.com/archives/" if team_domain else "")

    def link(row) -> str:
        if not base or not row.thread_ts:
            return ""
        return f"{base}{row.channel}/p{row.thread_ts.replace('.', '')}"

    return link
