"""The archive's own Redis state: which conversations refer to each media file, and the archive's health.

``archive-media-refs:{sha256}`` (a set of conv ids) lets a media file be deleted only when no
conversation's history refers to it any more (retention, forget). ``archive-health`` is one hash:
``failing_since`` / ``error`` while the media archive refuses writes, ``pending.<host>`` = files
spooled on that host and not yet stored, ``last_ok`` = when a flush last succeeded.
"""
from __future__ import annotations

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
