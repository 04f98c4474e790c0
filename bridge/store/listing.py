"""Bulk reads of conversations for /friend, the CSV export, broadcasts and the history export:
SCANs (nothing listed in memory) and pipelined reads of many hashes and transcripts."""
from __future__ import annotations

from collections.abc import Iterator

from bridge.model import Conversation
from bridge.store.core import Store


def conversation_ids(store: Store, account: str | None = None, count: int = 1000) -> Iterator[str]:
    """Every conversation id (of ``account``), by SCAN: unordered, each at least once."""
    prefix = store.keys.conv(conv_id="")
    pattern = store.keys.conv(conv_id=f"{account}-*") if account else prefix + "*"
    for key in store.r.scan_iter(match=pattern, count=count):
        yield key[len(prefix):]


def conversations(store: Store, conv_ids: list[str]) -> list[Conversation | None]:
    """The conversations, in order (None where gone), in one round trip."""
    pipe = store.r.pipeline(transaction=False)
    for conv_id in conv_ids:
        pipe.hgetall(store.keys.conv(conv_id=conv_id))
    return [Conversation.from_hash(d) if d else None for d in pipe.execute()]


def conversation_fields(store: Store, conv_ids: list[str], *fields: str) -> list[list[str | None]]:
    """Some fields of each conversation hash, in order, in one round trip."""
    pipe = store.r.pipeline(transaction=False)
    for conv_id in conv_ids:
        pipe.hmget(store.keys.conv(conv_id=conv_id), *fields)
    return pipe.execute()


def with_transcripts(store: Store, conv_ids: list[str], lo: str, hi: str, page: int
                     ) -> list[tuple[dict[str, str], list[str]]]:
    """Per conversation: its hash and the first ``page`` transcript entries (JSON) with a time in [lo, hi],
    in one round trip."""
    pipe = store.r.pipeline(transaction=False)
    for conv_id in conv_ids:
        pipe.hgetall(store.keys.conv(conv_id=conv_id))
        pipe.zrangebyscore(store.keys.transcript(conv_id=conv_id), lo, hi, start=0, num=page)
    results = pipe.execute()
    return [(results[2 * i], results[2 * i + 1]) for i in range(len(conv_ids))]


def transcript_page(store: Store, conv_id: str, lo: str, hi: str, offset: int, page: int) -> list[str]:
    """Transcript entries (JSON) with a time in [lo, hi], oldest first, from ``offset``."""
    return store.r.zrangebyscore(store.keys.transcript(conv_id=conv_id), lo, hi, start=offset, num=page)


def workspace_url(store: Store) -> str:
    """``https://<team>.slack.com/archives/`` as learned from Slack ("" before it is known)."""
    return store.cache_get(store.keys.workspace_url()) or ""
