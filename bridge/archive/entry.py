"""The transcript entry: one JSON object per message of a conversation (the archive's schema).

Kept in ``transcript:{conv_id}`` (a zset, score = the entry's time ``t``). Written by
:class:`bridge.archive.recorder.Recorder` from every send path; read by the history page, the
export, retention and forget. Fields (empty ones are left out)::

    id       stable unique id: "line:<msg id>", "slack:<channel>:<ts>", "auto:<kind>:<key>",
             "event:<op id>", "bc:<broadcast id>:<conv id>"  (a retried job records nothing new)
    t        epoch seconds (float)
    dir      "in" (the friend) | "out" (staff reply, 定型文, correction) | "note" (internal note)
             | "auto" (auto-reply, reminder, broadcast: sent by the bridge) | "event" (mark/assignee change)
    kind     "text" | "image" | "video" | "audio" | "file" | "sticker" | "location" | "mark" | "assignee"
             | "broadcast" | "reminder" | "correction" | "canned" | "autoreply" | "note" | …
    author   LINE user id | Slack user id | "bridge";   name: display name at the time
    text     what was said (a mark/assignee event: the new value, readable)
    line_message_id, slack_ts
    via      "reply" | "push" (out/auto);   status  "sent" | "failed" | "cancelled" (out/auto)
    media    [{"sha256", "type", "size", "name"?}]  (files in the media archive)
    edited   true (text is the latest edit);   unsent  true (then no text and no media)
    broadcast_id, canned (the 定型文 key), corrects (the id of the entry a correction replaces)

Entries written before the archive (no ``id``) stay readable: :func:`normalize` gives them one.
"""
from __future__ import annotations

from typing import Any

DIRS = ("in", "out", "note", "auto", "event")
MEDIA_KINDS = ("image", "video", "audio", "file")
BRIDGE = "bridge"
#: The conversation hash field saying since when its history is complete (epoch; set by the migration
#: for conversations that existed before the archive, and when a conversation is created).
HISTORY_SINCE = "history_since"


# -- ids ---------------------------------------------------------------------------------------
def line_id(message_id: str) -> str:
    return f"line:{message_id}"


def slack_id(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def auto_id(kind: str, key: str) -> str:
    return f"auto:{kind}:{key}"


def event_id(op_id: str) -> str:
    return f"event:{op_id}"


def broadcast_entry_id(bid: str, conv_id: str) -> str:
    return f"bc:{bid}:{conv_id}"


# -- building ------------------------------------------------------------------------------------
def make(id: str, t: float, dir: str, kind: str, *, author: str = BRIDGE, name: str = "", text: str = "",
         **extra: Any) -> dict[str, Any]:
    """One entry; empty optional fields are left out (``media=[]``, ``via=""``…)."""
    if dir not in DIRS:
        raise ValueError(f"unknown direction {dir!r}")
    entry: dict[str, Any] = {"id": id, "t": float(t), "dir": dir, "kind": kind, "author": author or BRIDGE,
                             "name": name or "", "text": text or ""}
    for key, value in extra.items():
        if value not in (None, "", [], {}, False):
            entry[key] = value
    return entry


def unsent(entry: dict[str, Any]) -> dict[str, Any]:
    """The friend unsent it: keep when, by whom and that it was unsent — no text, no media."""
    kept = {k: v for k, v in entry.items() if k not in ("text", "files", "media", "edited")}
    return {**kept, "text": "", "unsent": True}


def edited(entry: dict[str, Any], text: str) -> dict[str, Any]:
    """An edit: the latest text, marked as edited."""
    return {**entry, "text": text, "edited": True}


def normalize(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the schema has it: old (pre-archive) entries get an ``id`` from what they carry."""
    if entry.get("id"):
        return entry
    if entry.get("line_message_id"):
        eid = line_id(entry["line_message_id"])
    elif entry.get("slack_ts"):
        eid = f"slack::{entry['slack_ts']}"   # the old entries did not keep the channel
    else:
        eid = f"old:{entry.get('t')}:{entry.get('author', '')}"
    return {**entry, "id": eid}


def media_hashes(entry: dict[str, Any]) -> list[str]:
    return [m["sha256"] for m in entry.get("media") or [] if isinstance(m, dict) and m.get("sha256")]
