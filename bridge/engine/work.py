"""Names of the work that flows through the inbox, in one place: work kinds and streams.

Work items (``kind``) are dispatched by :class:`bridge.domain.Domain` from one table. rq jobs
have no names here: they are the functions of :mod:`bridge.engine.jobs`, enqueued by reference.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

# work item kinds (inbox items)
LINE_EVENT = "line_event"        # a LINE webhook event: {"account", "event"}
SLACK_MESSAGE = "slack_message"  # a Slack message event in a triage thread
SLACK_OP = "slack_op"            # a triage change (claim, mark, …) from a reaction, button, command or modal
SLACK_EDIT = "slack_edit"        # a staff message edited or deleted in Slack, or a correction asked for
FORWARD = "forward"              # a verified LINE webhook to forward to another tool
SLA_ALERT = "sla_alert"          # a first-response target was exceeded (queued by the automation sweep)
REMINDER = "reminder"            # a 返信待ち reminder is due (queued by the automation sweep)
AUTOMATION_OP = "automation_op"  # a person switched a conversation's reminders on/off (parent button)
AUTO_ASSIGN = "auto_assign"      # fair assignment of a new (or newly marked) conversation
FRIEND_EDIT = "friend_edit"      # 友だち情報 submitted from the modal (bridge.friends.ops)
BROADCAST = "broadcast"          # a confirmed segment broadcast (bridge.friends.broadcast)
EXPORT = "export"                # a history export to upload to the person who asked (bridge.friends.exports)
CANNED_PICK = "canned_pick"      # a 定型文 picked in the shortcut modal: posted in the thread, then relayed like a reply
IMAGE_SET_DUE = "image_set_due"  # an imageSet's wait is over: show what arrived (bridge.relay.line_in)
DECORATE = "decorate"            # the delivered/failed mark on a staff reply (bridge.relay.decorations)
FORGET = "forget"                # delete one friend's personal data, on their conversation's stream (bridge.privacy.forget)
ARCHIVE_MEDIA = "archive_media"  # a staff reply's files copied into the media archive (bridge.archive.jobs)


def line_stream(conv_id: str) -> str:
    """The stream of LINE→Slack work (and triage changes) for one conversation."""
    return f"line-{conv_id}"


def slack_stream(channel: str, thread_ts: str) -> str:
    """The stream of Slack→LINE work for one Slack thread."""
    return f"slack-{channel}-{thread_ts}"


def decoration_stream(channel: str, thread_ts: str) -> str:
    """The marks (🆓/🔢/❌) on one thread's staff replies: apart from the replies, so Slack's
    reactions pacing never holds up the next delivery to LINE, and in order, so a ❌ is never
    followed by a late delivered mark of an earlier step."""
    return f"deco-{channel}-{thread_ts}"


def message_stream(channel: str, ts: str) -> str:
    """The stream of changes aimed at one Slack message whose conversation is not known yet."""
    return f"msg-{channel}-{ts}"


def slack_edit_stream(channel: str, thread_ts: str) -> str:
    """Edits/deletions of one thread's messages: separate, so a reply waiting in its undo window never holds them up."""
    return f"slack-edit-{channel}-{thread_ts}"


def broadcast_stream(bid: str) -> str:
    """The stream of one segment broadcast (its chunks are sent in order by one worker at a time)."""
    return f"bc-{bid}"


def archive_stream(conv_id: str) -> str:
    """Media copied into the archive for one conversation: off the relay's streams, so it never delays them."""
    return f"archive-{conv_id}"


def export_stream(export_id: str) -> str:
    """The stream of one history export."""
    return f"export-{export_id}"


def forward_stream(account: str, target: str) -> str:
    """The stream of webhooks forwarded to one target URL of an account (``target`` = URL hash)."""
    return f"fwd-{account}-{target}"


FORWARDED_HEADERS = ("content-type", "x-line-signature", "user-agent")


def target_id(url: str) -> str:
    """A short stable id of a forwarding target URL (for stream and key names)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def forward_payload(account: str, url: str, body: bytes, headers: dict[str, str], received_at: float) -> dict[str, Any]:
    """A FORWARD work item: the raw body and the headers LINE sent that the other tool may rely on."""
    kept = {k: v for k, v in headers.items() if k.lower() in FORWARDED_HEADERS or k.lower().startswith("x-line-")}
    return {"account": account, "url": url, "target": target_id(url), "received_at": received_at,
            "body": base64.b64encode(body).decode(), "headers": kept}
