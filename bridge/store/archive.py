"""The archive's own Redis state: which conversations refer to each media file, and the archive's health.

``archive-media-refs:{sha256}`` (a set of conv ids) lets a media file be deleted only when no
conversation's history refers to it any more (retention, forget). ``archive-health`` is one hash:
``failing_since`` / ``error`` while the media archive refuses writes, ``pending.<host>`` = files
spooled on that host and not yet stored, ``last_ok`` = when a flush last succeeded.
"""
from __future__ import annotations

import json

from bridge.store.core import Store


def add_refs(store: Store, conv_id: str, hashes: list[str]) -> None:
    if not hashes:
        return
    pipe = store.r.pipeline(transaction=False)
    for sha in hashes:
        pipe.sadd(store.keys.archive_refs(sha256=sha), conv_id)
    pipe.execute()


def drop_ref(store: Store, conv_id: str, sha256: str) -> int:
    """Forget that ``conv_id`` refers to the file; returns how many conversations still do."""
    key = store.keys.archive_refs(sha256=sha256)
    pipe = store.r.pipeline()
    pipe.srem(key, conv_id)
    pipe.scard(key)
    return int(pipe.execute()[1])


def refs(store: Store, sha256: str) -> set[str]:
    return store.r.smembers(store.keys.archive_refs(sha256=sha256))


def health(store: Store) -> dict[str, str]:
    return store.r.hgetall(store.keys.archive_health())


def report_flush(store: Store, host: str, pending: int, error: str, now: float) -> str:
    """Record one flush round; returns "failing" when the archive just started failing, "recovered"
    when it just recovered, "" otherwise (exactly one process sees each change: HSETNX / HDEL)."""
    key = store.keys.archive_health()
    pipe = store.r.pipeline()
    pipe.hset(key, f"pending.{host}", pending)
    if error:
        pipe.hsetnx(key, "failing_since", repr(now))
        pipe.hset(key, "error", error[:300])
        started = pipe.execute()[1]
        return "failing" if started else ""
    pipe.hset(key, "last_ok", repr(now))
    pipe.hdel(key, "failing_since", "error")
    return "recovered" if pipe.execute()[2] else ""


def report_pending(store: Store, host: str, pending: int) -> None:
    store.r.hset(store.keys.archive_health(), f"pending.{host}", pending)


def pending_total(values: dict[str, str]) -> int:
    return sum(int(v or 0) for k, v in values.items() if k.startswith("pending."))


# -- the one backfill: transcripts from before the archive ---------------------------------------
MIGRATION = "archive-v1"


def migrate_transcripts(store: Store, now: float, wait: float = 300.0) -> int:
    """Run the archive's backfill (:func:`transcript_batch` over every conversation) to the end in this
    process, once per namespace; returns the conversations walked (0: done before). The workers run the
    same backfill in the background (:mod:`bridge.store.backfill`); this is for tests and operators."""
    from bridge.store.backfill import Backfill

    return Backfill(store.r, store.keys, MIGRATION, lambda ids: transcript_batch(store, ids, now)).run_all(wait)


def transcript_batch(store: Store, conv_ids: list[str], now: float) -> int:
    """One batch of the archive's backfill: every old transcript entry gets its ``id`` (and staff replies
    ``status: sent``), internal notes kept beside the transcript join it, and the conversation gets
    ``history_since`` (where its archived history starts: its first recorded message, else ``now``).
    Idempotent; returns how many conversations it changed."""
    return sum(1 for conv_id in conv_ids if _migrate_one(store, conv_id, now))


def _migrate_one(store: Store, conv_id: str, now: float) -> bool:
    """One conversation, atomically (WATCH): a message recorded, an entry deleted by retention or the whole
    conversation forgotten while it was read makes it start over — nothing deleted comes back."""
    import redis

    from bridge.archive.entry import HISTORY_SINCE

    key, tkey = store.keys.conv(conv_id=conv_id), store.keys.transcript(conv_id=conv_id)
    nkey = store.keys.notes(conv_id=conv_id)
    with store.r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key, tkey, nkey)
                channel, since = pipe.hmget(key, "channel", HISTORY_SINCE)
                if not pipe.exists(key):
                    pipe.unwatch()
                    return False              # forgotten meanwhile: nothing comes back
                members = pipe.zrange(tkey, 0, -1, withscores=True)
                removed, added, first = _converted(members, pipe.lrange(nkey, 0, -1), channel or "")
                if since and not removed and not added:
                    pipe.unwatch()
                    return False              # done before
                pipe.multi()
                if removed:
                    pipe.zrem(tkey, *removed)
                if added:
                    pipe.zadd(tkey, added)
                pipe.hsetnx(key, HISTORY_SINCE, repr(first if first is not None else now))
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def _converted(members: list[tuple[str, float]], notes: list[str], channel: str
               ) -> tuple[list[str], dict[str, float], float | None]:
    """(members to remove, members to add with their scores, the first time) for one conversation."""
    from bridge.archive import entry as E

    removed, added, ids, first = [], {}, set(), None
    for member, score in members:
        entry = json.loads(member)
        first = score if first is None else min(first, score)
        if entry.get("id"):
            ids.add(entry["id"])
            continue
        new = E.normalize(entry)
        if new.get("dir") == "out":
            new = {**new, "status": new.get("status") or "sent"}
            if new.get("slack_ts") and channel:
                new["id"] = E.slack_id(channel, new["slack_ts"])
        removed.append(member)
        added[_member(new)] = score
        ids.add(new["id"])
    for raw in notes:
        note = note_entry(channel, json.loads(raw))
        if note is None or note["id"] in ids:
            continue
        first = note["t"] if first is None else min(first, note["t"])
        added[_member(note)] = note["t"]
    return removed, added, first


def note_entry(channel: str, note: dict) -> dict | None:
    """The history entry of an internal note kept in the old ``notes:`` list (None without a time)."""
    from bridge.archive import entry as E

    ts = str(note.get("ts") or "")
    at = float(ts or note.get("at") or 0)
    if not at:
        return None
    return E.make(E.slack_id(channel or "", ts), at, "note", "note", author=note.get("author") or "",
                  text=note.get("text") or "", slack_ts=ts)


def _member(entry: dict) -> str:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)
