"""What the history page reads: a conversation's transcript, and whether it refers to an archived file."""
from __future__ import annotations

import json

from bridge.store.core import Store


def transcript_members(store: Store, conv_id: str) -> list[str]:
    """Every transcript entry (JSON) of ``conv_id``, oldest first.

    While the archive's backfill (:func:`bridge.store.archive.transcript_batch`) has not reached this
    conversation yet, its internal notes still live only in the old ``notes:`` list: they are merged
    in here (read only, by id), so its history reads the same before and after the backfill."""
    from bridge.archive.entry import HISTORY_SINCE
    from bridge.store.archive import MIGRATION, note_entry

    members = store.r.zrange(store.keys.transcript(conv_id=conv_id), 0, -1)
    if store.r.get(store.keys.migration(name=MIGRATION)) == "done":
        return members
    channel, since = store.r.hmget(store.keys.conv(conv_id=conv_id), "channel", HISTORY_SINCE)
    if since:
        return members
    entries = [(e["t"], json.dumps(e, ensure_ascii=False, sort_keys=True)) for e in
               (note_entry(channel or "", json.loads(raw)) for raw in store.r.lrange(store.keys.notes(conv_id=conv_id), 0, -1))
               if e is not None]
    if not entries:
        return members
    ids = {json.loads(m).get("id") for m in members}
    merged = [(json.loads(m).get("t") or 0.0, m) for m in members]
    merged += [(at, m) for at, m in entries if json.loads(m)["id"] not in ids]
    return [m for _, m in sorted(merged, key=lambda p: float(p[0]))]


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
