"""What the history page reads: a page of a conversation's transcript, its whole transcript (a
search), and whether it refers to an archived file.

A page is a window of the transcript zset read by score with ``LIMIT`` (O(log n + page) in Redis,
never the whole conversation). Its neighbours are named by cursors ``(score, skip)``: the score of
the window's edge entry and how many entries at that score (or beyond it) to skip, so entries
sharing a timestamp are neither repeated nor lost across a page boundary, and a page stays put
while new messages arrive.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from bridge.store.core import Store

Cursor = tuple[float, int]   # (score, skip): where an older / newer page starts


@dataclass(frozen=True)
class Window:
    """One page of a transcript: its members oldest first, where it sits, and its neighbours."""
    members: list[str]
    position: int            # 0-based rank (oldest first) of members[0] in the whole transcript
    total: int               # entries in the whole transcript
    older: Cursor | None     # the page before this one (None: this page holds the oldest entry)
    newer: Cursor | None     # the page after it (None: this page holds the newest entry)


def transcript_window(store: Store, conv_id: str, size: int, *, before: Cursor | None = None,
                      after: Cursor | None = None, offset: int = 0) -> Window:
    """``size`` entries: ending just before the cursor ``before``, starting at the cursor ``after``,
    or else ending ``offset`` entries before the newest (0: the newest page). Two round trips."""
    key = store.keys.transcript(conv_id=conv_id)
    if before is not None:
        rows = store.r.zrevrangebyscore(key, repr(before[0]), "-inf", start=before[1], num=size, withscores=True)[::-1]
    elif after is not None:
        rows = store.r.zrangebyscore(key, repr(after[0]), "+inf", start=after[1], num=size, withscores=True)
    else:
        rows = store.r.zrevrange(key, offset, offset + size - 1, withscores=True)[::-1]
    if not rows:
        return Window([], 0, int(store.r.zcard(key)), None, None)
    first, last = rows[0][1], rows[-1][1]
    pipe = store.r.pipeline(transaction=False)
    pipe.zcard(key)
    pipe.zrank(key, rows[0][0])
    pipe.zcount(key, "-inf", repr(first))       # entries at or before the first one's score
    pipe.zcount(key, "-inf", f"({last!r}")      # entries strictly before the last one's score
    total, rank, upto_first, below_last = pipe.execute()
    if rank is None:  # the first entry went meanwhile (retention, an edit): its rank as it was
        rank = max(0, upto_first - sum(1 for _, score in rows if score == first))
    end = rank + len(rows) - 1
    # ZREVRANGEBYSCORE first -inf lists entry #x (oldest-first rank) at upto_first - 1 - x: skip to #rank - 1.
    older = (first, upto_first - rank) if rank > 0 else None
    # ZRANGEBYSCORE last +inf lists entry #x at x - below_last: skip to #end + 1.
    newer = (last, end + 1 - below_last) if end < total - 1 else None
    return Window([member for member, _ in rows], rank, int(total), older, newer)


def transcript_members(store: Store, conv_id: str) -> list[str]:
    """Every transcript entry (JSON) of ``conv_id``, oldest first (a search reads them all)."""
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
