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
from collections.abc import Callable
from dataclasses import dataclass

from bridge.store.archive import MIGRATION, note_entry
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
    merged = _with_unmigrated_notes(store, conv_id, lambda: store.r.zrange(key, 0, -1))
    if merged is not None:  # until the background backfill reaches it: read whole, paged the same way
        return _window_of(merged, size, before, after, offset)
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


def _window_of(rows: list[tuple[str, float]], size: int, before: Cursor | None, after: Cursor | None,
               offset: int) -> Window:
    """:func:`transcript_window` over ``rows`` (member, score) in memory, with the same cursors."""
    if before is not None:
        page = [r for r in rows if r[1] <= before[0]][::-1][before[1]:before[1] + size][::-1]
    elif after is not None:
        page = [r for r in rows if r[1] >= after[0]][after[1]:after[1] + size]
    else:
        page = rows[::-1][offset:offset + size][::-1]
    if not page:
        return Window([], 0, len(rows), None, None)
    first, last, rank = page[0][1], page[-1][1], rows.index(page[0])
    end = rank + len(page) - 1
    upto_first = sum(1 for _, score in rows if score <= first)
    below_last = sum(1 for _, score in rows if score < last)
    older = (first, upto_first - rank) if rank > 0 else None
    newer = (last, end + 1 - below_last) if end < len(rows) - 1 else None
    return Window([member for member, _ in page], rank, len(rows), older, newer)


def transcript_members(store: Store, conv_id: str) -> list[str]:
    """Every transcript entry (JSON) of ``conv_id``, oldest first (a search reads them all).

    While the archive's backfill (:func:`bridge.store.archive.transcript_batch`) has not reached this
    conversation yet, its internal notes still live only in the old ``notes:`` list: they are merged
    in here (read only, by id), so its history reads the same before and after the backfill."""
    members = store.r.zrange(store.keys.transcript(conv_id=conv_id), 0, -1)
    merged = _with_unmigrated_notes(store, conv_id, lambda: members)
    return members if merged is None else [m for m, _ in merged]


def _with_unmigrated_notes(store: Store, conv_id: str, read: Callable[[], list[str]]) -> list[tuple[str, float]] | None:
    """(member, time) of the transcript (``read()``, called only when needed) and the conversation's
    old notes not migrated yet, oldest first; None when there are none (the backfill is done, or has
    passed this conversation)."""
    from bridge.archive.entry import HISTORY_SINCE

    if store.r.get(store.keys.migration(name=MIGRATION)) == "done":
        return None
    channel, since = store.r.hmget(store.keys.conv(conv_id=conv_id), "channel", HISTORY_SINCE)
    if since:
        return None
    entries = [(e["t"], json.dumps(e, ensure_ascii=False, sort_keys=True)) for e in
               (note_entry(channel or "", json.loads(raw)) for raw in store.r.lrange(store.keys.notes(conv_id=conv_id), 0, -1))
               if e is not None]
    if not entries:
        return None
    members = read()
    ids = {json.loads(m).get("id") for m in members}
    merged = [(float(json.loads(m).get("t") or 0.0), m) for m in members]
    merged += [(float(at), m) for at, m in entries if json.loads(m)["id"] not in ids]
    return [(m, at) for at, m in sorted(merged, key=lambda p: (p[0], p[1]))]   # as a sorted set orders them


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
