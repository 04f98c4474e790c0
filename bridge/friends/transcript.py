"""The chat history kept for export (チャット履歴のバックアップ): every message both ways.

One sorted set per conversation (``transcript(conv_id)``), score = the message time, member =
a JSON entry. Entries are deterministic for a given message, so a retried job adds nothing
(ZADD of the same member). Recorded from the moment this feature is deployed; older history
lives in the Slack threads only.

Entry: ``{"t": epoch, "dir": "in"|"out", "author": id, "name": display name, "kind": "text"|"image"|…,
"text": …, "line_message_id": …, "slack_ts": …, "files": [Slack file permalinks]}``.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from bridge.model import Conversation, InboundMessage
from bridge.services import Services

log = logging.getLogger(__name__)
MEDIA_KINDS = ("image", "video", "audio", "file")


def _add(services: Services, conv_id: str, at: float, entry: dict[str, Any]) -> None:
    try:
        services.store.r.zadd(services.store.keys.transcript(conv_id=conv_id),
                              {json.dumps(entry, ensure_ascii=False, sort_keys=True): at})
    except Exception:  # history is best effort: never block the relay
        log.exception("could not record the transcript of %s", conv_id)


def record_inbound(services: Services, conv: Conversation, msg: InboundMessage, sender_name: str, slack_ts: str) -> None:
    at = msg.timestamp_ms / 1000 if msg.timestamp_ms else float(slack_ts or 0)
    _add(services, conv.conv_id, at, {"t": at, "dir": "in", "author": msg.sender_id, "name": sender_name, "kind": msg.kind,
                                      "text": msg.text, "line_message_id": msg.message_id, "slack_ts": slack_ts})


def record_outbound(services: Services, conv: Conversation, event: dict[str, Any], texts: list[str]) -> None:
    user = event.get("user", "")
    files = [f.get("permalink") or f.get("url_private") or "" for f in event.get("files") or []]
    entry = {"t": float(event["ts"]), "dir": "out", "author": user, "name": services.slack.user_name(user) or user,
             "kind": "text", "text": "\n".join(texts), "line_message_id": "", "slack_ts": event["ts"]}
    if files:
        entry["files"] = files
    _add(services, conv.conv_id, float(event["ts"]), entry)
