"""What the history page reads: a conversation's transcript, and whether it refers to an archived file."""
from __future__ import annotations

import json

from bridge.store.core import Store


def transcript_members(store: Store, conv_id: str) -> list[str]:
    """Every transcript entry (JSON) of ``conv_id``, oldest first."""
    return store.r.zrange(store.keys.transcript(conv_id=conv_id), 0, -1)


def history_since(store: Store, conv_id: str) -> str:
    """Where the conversation's recorded history starts (set by the archive's migration), "" if unknown."""
    return store.r.hget(store.keys.conv(conv_id=conv_id), "history_since") or ""


def media_reference(store: Store, conv_id: str, sha256: str) -> dict | None:
    """The media reference (``{"sha256", "type", "size", "name"?}``) of ``sha256`` in an entry of
    ``conv_id`` that is not unsent, or None: the page serves only its own conversation's files."""
    if not (len(sha256) == 64 and sha256.isalnum()):
        return None
    pattern = f'*"sha256": "{sha256}"*'
    for member, _score in store.r.zscan_iter(store.keys.transcript(conv_id=conv_id), match=pattern, count=1000):
        try:
            entry = json.loads(member)
        except ValueError:
            continue
        if entry.get("unsent"):
            continue
        for ref in entry.get("media") or []:
            if isinstance(ref, dict) and ref.get("sha256") == sha256:
                return ref
    return None
