"""The message map's per-message state after relay: what each LINE message shows in its Slack
post, whether it was unsent or edited, and its entry in the chat history (/export).

Why per message: friend messages that waited together share one Slack post
(:mod:`bridge.relay.batch`). To unsend or edit one of them, the post is re-rendered from the
stored part of every message it shows, so the others stay exactly as they were. LINE asks
services not to keep showing unsent content: unsending drops the stored part, the quote
preview and the transcript text, and keeps only the fact that the message was unsent.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bridge.store.core import Store


def line_messages(store: Store, account: str, message_ids: list[str]) -> list[dict[str, str]]:
    """The map records of several LINE messages, in the given order (one round trip)."""
    pipe = store.r.pipeline(transaction=False)
    for message_id in message_ids:
        pipe.hgetall(store.keys.line_msg(account=account, message_id=message_id))
    return pipe.execute()


def mark_unsent(store: Store, account: str, message_id: str) -> None:
    """Forget what an unsent message said (its part of the post, its quote preview); remember it was unsent."""
    key = store.keys.line_msg(account=account, message_id=message_id)
    pipe = store.r.pipeline()
    pipe.hdel(key, "preview", "shown")
    pipe.hset(key, "unsent", "1")
    pipe.execute()


def mark_edited(store: Store, account: str, message_id: str, shown: str, preview: str) -> None:
    """An edited message: its part of the post and its quote preview become the latest text."""
    store.r.hset(store.keys.line_msg(account=account, message_id=message_id),
                 mapping={"shown": shown, "preview": preview, "edited": "1"})


# -- the chat history (transcript) ------------------------------------------------------------
def transcript_add(store: Store, conv_id: str, at: float, entry: dict[str, Any]) -> None:
    """Add an entry (deterministic JSON: a retried job adds nothing)."""
    store.r.zadd(store.keys.transcript(conv_id=conv_id), {_member(entry): at})


def transcript_put(store: Store, conv_id: str, entry: dict[str, Any]) -> bool:
    """Record ``entry`` once by its ``id``: an entry with the same id at the same time is replaced
    (a retried job, a reply that failed then went out). Returns True when the id was new."""
    key = store.keys.transcript(conv_id=conv_id)
    at = entry["t"]
    old = [m for m in store.r.zrangebyscore(key, repr(at), repr(at)) if json.loads(m).get("id") == entry["id"]]
    member = _member(entry)
    if old == [member]:
        return False
    pipe = store.r.pipeline()
    for m in old:
        pipe.zrem(key, m)
    pipe.zadd(key, {member: at})
    pipe.execute()
    return not old


def transcript_add_many(store: Store, entries: list[tuple[str, dict[str, Any]]]) -> None:
    """Several new entries (conv id, entry) in one round trip (a broadcast's recipients)."""
    pipe = store.r.pipeline(transaction=False)
    for conv_id, entry in entries:
        pipe.zadd(store.keys.transcript(conv_id=conv_id), {_member(entry): entry["t"]})
    pipe.execute()


def transcript_update(store: Store, conv_id: str, at: float, entry_id: str,
                      change: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    """Change the entry ``entry_id`` filed at ``at`` (e.g. its archived media arrived); False if absent."""
    key = store.keys.transcript(conv_id=conv_id)
    for member in store.r.zrangebyscore(key, repr(at), repr(at)):
        entry = json.loads(member)
        if entry.get("id") == entry_id:
            pipe = store.r.pipeline()
            pipe.zrem(key, member)
            pipe.zadd(key, {_member(change(entry)): at})
            pipe.execute()
            return True
    return False


def transcript_rewrite(store: Store, conv_id: str, line_message_id: str, at: float | None,
                       change: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """Replace the friend entries of ``line_message_id`` by ``change(entry)``; returns how many.

    ``at`` (the entry's time, kept in the message map) finds them in one lookup; without it the
    conversation's history is scanned (records older than the map's 30 days)."""
    key = store.keys.transcript(conv_id=conv_id)
    if at is not None:
        candidates = [(m, at) for m in store.r.zrangebyscore(key, repr(at), repr(at))]
    elif line_message_id.isalnum():
        candidates = list(store.r.zscan_iter(key, match=f'*"line_message_id": "{line_message_id}"*', count=1000))
    else:
        candidates = []
    found = 0
    pipe = store.r.pipeline()
    for member, score in candidates:
        entry = json.loads(member)
        if entry.get("dir") != "in" or entry.get("line_message_id") != line_message_id:
            continue
        pipe.zrem(key, member)
        pipe.zadd(key, {_member(change(entry)): score})
        found += 1
    if found:
        pipe.execute()
    return found


def _member(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)


# -- the friend's first messages, shown in the thread parent ------------------------------------
def parent_first(store: Store, conv_id: str) -> str:
    """What the parent shows of the friend's first messages (mrkdwn), "" if none."""
    return store.r.get(store.keys.parent_first(conv_id=conv_id)) or ""


def set_parent_first(store: Store, conv_id: str, text: str) -> None:
    """Kept with the conversation (no expiry): every re-render of the parent shows it."""
    store.r.set(store.keys.parent_first(conv_id=conv_id), text)
