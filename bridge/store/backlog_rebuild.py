"""Rebuilding the /pending indexes from the conversation hashes (at start-up, when the mark order changed)."""
from __future__ import annotations

import time
from typing import Any

import redis

from bridge.store.backlog_layout import PLACEMENT_FIELDS, BacklogLayout

CHUNK = 5000   # members per ZADD/HSET command of the swap


def _zadd_chunked(pipe: redis.client.Pipeline, key: str, members: dict[str, float]) -> None:
    items = list(members.items())
    for i in range(0, len(items), CHUNK):
        pipe.zadd(key, dict(items[i:i + CHUNK]))


class BacklogRebuild:
    """Builds every index of one namespace anew from the conversation hashes."""

    def __init__(self, r: redis.Redis, layout: BacklogLayout):
        self.r = r
        self.layout = layout
        self.keys = layout.keys
        self.marks = layout.marks

    def run(self, scan_count: int = 2000) -> int:
        """Rebuild every index from the conversation hashes (SCAN + pipelined HMGET). Returns the backlog size.

        The new sets replace the old ones in one MULTI/EXEC, so readers never see a
        half-built backlog. An index update that lands between the scan and the
        swap is lost until that conversation changes again; rebuilds only happen when
        the mark configuration changes (at deploy), so run it before serving traffic.
        """
        sets: dict[str, dict[str, float]] = {}
        where: dict[str, str] = {}
        layout = self.layout
        for chunk in self._chunks(self._candidates(scan_count), scan_count):
            pipe = self.r.pipeline(transaction=False)
            for conv_id in chunk:
                pipe.hmget(layout.conv_prefix + conv_id, *PLACEMENT_FIELDS)
            for conv_id, row in zip(chunk, pipe.execute()):
                if row[0] is None:          # deleted meanwhile
                    continue
                state, score, mark, assignee = layout.place_row(row)
                if not state:
                    continue
                account = row[5] or conv_id.partition("-")[0]
                if state == "open":
                    sets.setdefault(self.keys.backlog_all(account=account), {})[conv_id] = score
                sets.setdefault(layout.mark_prefix(account) + mark, {})[conv_id] = score
                sets.setdefault(layout.assignee_prefix(account) + assignee, {})[conv_id] = score
                where[conv_id] = f"{mark}\t{assignee}"
        self._swap(sets, where)
        return len(where)

    @staticmethod
    def _chunks(ids: list[str], size: int) -> list[list[str]]:
        return [ids[i:i + size] for i in range(0, len(ids), size)]

    def _candidates(self, scan_count: int) -> list[str]:
        """The conversations whose mark may put them in the backlog. Reads only each hash's mark
        (most friends are closed); the fields the score needs are read for these only."""
        in_backlog = {m.key for m in self.marks.backlog_marks()}
        unknown_in_backlog = self.marks.effective("").key in in_backlog   # unknown keys act as default_open
        prefix = self.layout.conv_prefix
        candidates: list[str] = []

        def keep(ids: list[str], found: list[Any]) -> None:
            for conv_id, mark in zip(ids, found):
                if mark is None:
                    continue                # no mark field: not a conversation hash
                if mark in in_backlog or (unknown_in_backlog and self.marks.get(mark) is None):
                    candidates.append(conv_id)

        ids: list[str] = []
        pipe = self.r.pipeline(transaction=False)
        for key in self.r.scan_iter(match=prefix + "*", count=scan_count):
            ids.append(key[len(prefix):])
            pipe.hget(key, "mark")
            if len(ids) >= scan_count:
                keep(ids, pipe.execute())
                ids = []
        if ids:
            keep(ids, pipe.execute())
        return candidates

    def _swap(self, sets: dict[str, dict[str, float]], where: dict[str, str]) -> None:
        """Replace every old index set by the new ones in one MULTI/EXEC."""
        old = set(self.r.scan_iter(match=self.keys.backlog_all(account="*"), count=1000))
        old |= set(self.r.scan_iter(match=self.keys.backlog_mark(account="*", mark="*"), count=1000))
        old |= set(self.r.scan_iter(match=self.keys.backlog_assignee(account="*", assignee="*"), count=1000))
        old.add(self.layout.where)
        tx = self.r.pipeline(transaction=True)
        tx.delete(*old)
        for key, members in sets.items():
            _zadd_chunked(tx, key, members)
        items = list(where.items())
        for i in range(0, len(items), CHUNK):
            tx.hset(self.layout.where, mapping=dict(items[i:i + CHUNK]))
        tx.hset(self.keys.backlog_meta(), mapping={"fingerprint": self.marks.fingerprint(),
                                                    "rebuilt_at": repr(time.time()), "size": str(len(where))})
        tx.execute()
