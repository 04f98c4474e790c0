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


def pending_total(values: dict[str, str]) -> int:
    return sum(int(v or 0) for k, v in values.items() if k.startswith("pending."))


# -- the one migration: transcripts from before the archive -------------------------------------
MIGRATION = "archive-v1"
LOCK_TTL = 300


def migrate_transcripts(store: Store, now: float, wait: float = 300.0) -> int:
    """Once per namespace (a lock; the others wait): every old transcript entry gets its ``id``
    (and staff replies ``status: sent``), internal notes kept beside the transcript join it, and
    every conversation that existed before the archive gets ``history_since`` (where its archived
    history starts: its first recorded message, else now). Idempotent; returns conversations done."""
    import time as _time
    import uuid

    from bridge.archive import entry as E

    done_key = store.keys.migration(name=MIGRATION)
    token = uuid.uuid4().hex
    deadline = _time.time() + wait
    while True:
        state = store.r.get(done_key)
        if state == "done":
            return 0
        if store.r.set(done_key, f"running:{token}", nx=True, ex=LOCK_TTL):
            break
        if _time.time() > deadline:
            raise RuntimeError(f"Redis migration {MIGRATION} is still running in another process; try again")
        _time.sleep(0.2)
    prefix = store.keys.conv(conv_id="")
    done = 0
    for key in store.r.scan_iter(match=prefix + "*", count=1000):
        conv_id = key[len(prefix):]
        channel, thread_ts = store.r.hmget(key, "channel", "thread_ts")
        tkey = store.keys.transcript(conv_id=conv_id)
        pipe = store.r.pipeline()
        first = None
        for member, score in store.r.zscan_iter(tkey, count=1000):
            entry = json.loads(member)
            first = score if first is None else min(first, score)
            if entry.get("id"):
                continue
            new = E.normalize(entry)
            if new.get("dir") == "out":
                new = {**new, "status": new.get("status") or "sent"}
                if new.get("slack_ts") and channel:
                    new["id"] = E.slack_id(channel, new["slack_ts"])
            pipe.zrem(tkey, member)
            pipe.zadd(tkey, {_member(new): score})
        for raw in store.r.lrange(store.keys.notes(conv_id=conv_id), 0, -1):
            note = json.loads(raw)
            ts = str(note.get("ts") or "")
            at = float(ts or note.get("at") or 0)
            if not at:
                continue
            first = at if first is None else min(first, at)
            pipe.zadd(tkey, {_member(E.make(E.slack_id(channel or "", ts), at, "note", "note",
                                            author=note.get("author") or "", text=note.get("text") or "",
                                            slack_ts=ts)): at})
        pipe.hsetnx(key, E.HISTORY_SINCE, repr(first if first is not None else now))
        pipe.execute()
        done += 1
        if done % 1000 == 0:
            store.r.expire(done_key, LOCK_TTL)   # still alive
    store.r.set(done_key, "done")
    return done


def _member(entry: dict) -> str:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)
