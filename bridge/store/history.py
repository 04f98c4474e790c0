"""What the history page reads: a conversation's transcript, and whether it refers to an archived file."""
from __future__ import annotations

from bridge.store.core import Store


def transcript_members(store: Store, conv_id: str) -> list[str]:
    """Every transcript entry (JSON) of ``conv_id``, oldest first."""
    return store.r.zrange(store.keys.transcript(conv_id=conv_id), 0, -1)


def refers_to_media(store: Store, conv_id: str, sha256: str) -> bool:
    """Does an entry of ``conv_id`` carry the archived file ``sha256``? (the page serves only those)

    Entries are JSON with sorted keys and ``": "`` separators (:func:`bridge.store.messages._member`),
    so the hash appears verbatim; Redis matches server-side (ZSCAN), nothing is parsed here."""
    if not (len(sha256) == 64 and sha256.isalnum()):
        return False
    pattern = f'*"sha256": "{sha256}"*'
    return any(True for _ in store.r.zscan_iter(store.keys.transcript(conv_id=conv_id), match=pattern, count=1000))


def history_since(store: Store, conv_id: str) -> str:
    """Where the conversation's recorded history starts (set by the archive's migration), "" if unknown."""
    return store.r.hget(store.keys.conv(conv_id=conv_id), "history_since") or ""
