"""Redis state of segment broadcasts: the record, the frozen recipient list, one record per chunk.

Keys (:mod:`bridge.keys`)::

    broadcast(bid)                 hash: status, account, actor, channel, text, image, counts, report_ts…
    broadcast_recipients(bid)      list: LINE user ids, frozen when the broadcast starts
    broadcast_chunk(bid, index)    hash: one chunk's outcome (status, request id, n, at)
"""
from __future__ import annotations

import time

import redis

from bridge.keys import Keys

PUSH_BATCH = 5000   # ids per RPUSH while freezing


class BroadcastStore:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys

    def get(self, bid: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.broadcast(bid=bid))

    def update(self, bid: str, **fields: str) -> None:
        self.r.hset(self.keys.broadcast(bid=bid), mapping=fields)

    def freeze(self, bid: str, record: dict[str, str], user_ids: list[str]) -> None:
        """Store the recipient list and the record together (MULTI/EXEC)."""
        to_key = self.keys.broadcast_recipients(bid=bid)
        tx = self.r.pipeline(transaction=True)
        tx.delete(to_key)
        for i in range(0, len(user_ids), PUSH_BATCH):
            tx.rpush(to_key, *user_ids[i:i + PUSH_BATCH])
        tx.hset(self.keys.broadcast(bid=bid), mapping=record)
        tx.execute()

    def recipients(self, bid: str, start: int, count: int) -> list[str]:
        return self.r.lrange(self.keys.broadcast_recipients(bid=bid), start, start + count - 1)

    def chunk_status(self, bid: str, index: int) -> str:
        return self.r.hget(self.keys.broadcast_chunk(bid=bid, index=index), "status") or ""

    def record_chunk(self, bid: str, index: int, outcome: dict[str, str], n: int, counter: str) -> dict[str, str]:
        """Record a chunk's outcome and add ``n`` to the record's ``counter`` ("sent"/"failed") in one
        MULTI/EXEC; returns the record."""
        tx = self.r.pipeline(transaction=True)
        tx.hset(self.keys.broadcast_chunk(bid=bid, index=index), mapping={**outcome, "n": str(n), "at": repr(time.time())})
        tx.hincrby(self.keys.broadcast(bid=bid), counter, n)
        tx.hgetall(self.keys.broadcast(bid=bid))
        return tx.execute()[2]
